//! Entry points for the fuzz targets: every decoder of untrusted log input.

use crate::{Checkpoint, Event, NoteVerifier, SignedNote, merkle, tiles};

/// Signed notes, checkpoints and verifier keys.
pub fn note(data: &[u8]) {
    if let Ok(n) = SignedNote::parse(data) {
        let again = SignedNote::parse(&n.to_bytes()).ok();
        assert_eq!(
            again.as_ref(),
            Some(&n),
            "a parsed note re-encodes to itself"
        );
        let _ = Checkpoint::parse(&n.text);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(s) {
            assert_eq!(c.to_text(), s, "a parsed checkpoint re-encodes to itself");
        }
        let _ = NoteVerifier::parse(s);
    }
}

/// Proof verification with attacker-chosen sizes, indexes, hashes and proofs; tile paths
/// and entry bundles; events.
pub fn proof(data: &[u8]) {
    if data.len() < 16 {
        return;
    }
    let (head, rest) = data.split_at(16);
    let a = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
    let b = u64::from_le_bytes(head[8..].try_into().unwrap_or_default());
    let hashes: Vec<crate::Hash> = rest
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap_or_default())
        .collect();
    let (root, proof) = hashes
        .split_first()
        .map_or((&[][..], &[][..]), |(r, p)| (&r[..], p));
    let _ = merkle::verify_inclusion(a, b, root, proof, root);
    let _ = merkle::verify_consistency(a, b, proof, root, root);
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = tiles::parse_tile_path(s);
    }
    let _ = tiles::decode_bundle(rest);
    let _ = Event::parse(rest);
}
