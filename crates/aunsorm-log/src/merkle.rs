//! RFC 6962 / RFC 9162 Merkle tree hashing, and verification of inclusion and
//! consistency proofs, with the edge cases of transparency-dev/merkle's test data.

use crate::{Hash, LogError, Result};

/// The hash of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 || entry)`: the hash of a leaf.
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = aunsorm_crypto::Sha256::new();
    h.update(&[0x00]);
    h.update(entry);
    h.finish()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = aunsorm_crypto::Sha256::new();
    h.update(&[0x01]);
    h.update(left);
    h.update(right);
    h.finish()
}

/// The root of a tree whose complete subtrees along the right edge are `frontier`,
/// largest (leftmost) first: the compact form a log keeps in memory.
#[must_use]
pub fn root_from_frontier(frontier: &[Hash]) -> Hash {
    let mut it = frontier.iter().rev();
    let Some(last) = it.next() else {
        return EMPTY_ROOT;
    };
    it.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The root of the tree over `entries`, computed directly (for tests and small trees).
#[must_use]
pub fn root_of(entries: &[&[u8]]) -> Hash {
    let mut frontier = Frontier::default();
    for e in entries {
        frontier.push(leaf_hash(e), |_, _, _| {});
    }
    frontier.root()
}

/// The right edge of a tree: one hash per set bit of its size, the roots of its complete
/// subtrees from the largest down. Appending a leaf merges equal-sized subtrees, reporting
/// every new complete node so the log can store it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// A frontier from its parts, as read back from storage.
    ///
    /// # Errors
    /// [`LogError::Corrupt`] when the number of hashes is not the number of set bits of
    /// `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self> {
        if hashes.len() != size.count_ones() as usize {
            return Err(LogError::Corrupt("frontier does not match the tree size"));
        }
        Ok(Frontier { size, hashes })
    }

    /// Leaves in the tree.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root hash.
    #[must_use]
    pub fn root(&self) -> Hash {
        root_from_frontier(&self.hashes)
    }

    /// Appends the leaf with hash `leaf` and calls `node(level, index, hash)` for the leaf
    /// and each complete interior node it completes.
    pub fn push(&mut self, leaf: Hash, mut node: impl FnMut(u8, u64, &Hash)) {
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf;
        node(level, index, &hash);
        while index & 1 == 1 {
            // An odd index closes a pair: merge with the left sibling on the frontier.
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            index >>= 1;
            level += 1;
            node(level, index, &hash);
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The (level, index) of each hash of the frontier of a tree of `size` leaves, in
    /// frontier order: where to read them back from storage.
    #[must_use]
    pub fn positions(size: u64) -> Vec<(u8, u64)> {
        (0..64u8)
            .rev()
            .filter(|l| size >> l & 1 == 1)
            .map(|l| (l, (size >> l) - 1))
            .collect()
    }
}

/// Checks that `leaf` is the leaf at `index` of the tree of `size` leaves with root
/// `root`, by RFC 9162 section 2.1.3.2.
///
/// # Errors
/// [`LogError::InvalidProof`] if it is not; [`LogError::InvalidInput`] for an index
/// outside the tree or a hash of the wrong length.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[Hash],
    root: &[u8],
) -> Result<()> {
    if index >= size {
        return Err(LogError::InvalidInput(format!(
            "index {index} is outside a tree of size {size}"
        )));
    }
    let leaf = to_hash(leaf, "leaf hash")?;
    let root = to_hash(root, "root hash")?;
    let computed = root_from_inclusion(index, size, &leaf, proof)?;
    if computed == root {
        Ok(())
    } else {
        Err(LogError::InvalidProof(
            "inclusion proof does not lead to the root",
        ))
    }
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1`
/// leaves with root `root1`, by RFC 9162 section 2.1.4.2.
///
/// A consistency check from the empty tree proves nothing and is refused, as in
/// transparency-dev/merkle.
///
/// # Errors
/// [`LogError::InvalidProof`] if it does not; [`LogError::InvalidInput`] for sizes in
/// the wrong order, a first size of zero or a hash of the wrong length.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &[u8],
    root2: &[u8],
) -> Result<()> {
    if size2 < size1 {
        return Err(LogError::InvalidInput(format!(
            "sizes in the wrong order: {size1} > {size2}"
        )));
    }
    if size1 == 0 {
        return Err(LogError::InvalidInput(
            "consistency with the empty tree proves nothing".into(),
        ));
    }
    if size1 == size2 {
        // Same tree: the roots must be the same bytes (transparency-dev compares them
        // as given, whatever their length).
        if !proof.is_empty() {
            return Err(LogError::InvalidProof("equal sizes need an empty proof"));
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(LogError::InvalidProof("equal sizes with different roots"))
        };
    }
    let root1 = to_hash(root1, "first root")?;
    let root2 = to_hash(root2, "second root")?;
    if proof.is_empty() {
        return Err(LogError::InvalidProof("empty consistency proof"));
    }
    // Step 2: when size1 is a power of two, its root is the first node of the path.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(root1);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if sn == 0 {
            return Err(LogError::InvalidProof("consistency proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(LogError::InvalidProof("consistency proof too short"));
    }
    if fr != root1 {
        return Err(LogError::InvalidProof(
            "consistency proof does not lead to the first root",
        ));
    }
    if sr != root2 {
        return Err(LogError::InvalidProof(
            "consistency proof does not lead to the second root",
        ));
    }
    Ok(())
}

/// The root an inclusion proof leads to (RFC 9162 2.1.3.2 steps 2-5).
fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash> {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(LogError::InvalidProof("inclusion proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(LogError::InvalidProof("inclusion proof too short"));
    }
    Ok(r)
}

fn to_hash(b: &[u8], what: &str) -> Result<Hash> {
    b.try_into()
        .map_err(|_| LogError::InvalidInput(format!("{what}: {} bytes, not 32", b.len())))
}

/// Source of the hash of any complete, aligned subtree: level `l`, index `i` covers leaves
/// `i * 2^l .. (i + 1) * 2^l`.
pub trait NodeSource {
    /// The stored hash of the node.
    ///
    /// # Errors
    /// Storage errors, or [`LogError::Corrupt`] when the node is missing.
    fn node(&self, level: u8, index: u64) -> Result<Hash>;
}

/// `MTH(D[start:end])` for any range, from stored complete subtrees.
///
/// # Errors
/// From the source.
pub fn subtree_hash(src: &dyn NodeSource, start: u64, end: u64) -> Result<Hash> {
    let n = end - start;
    if n == 0 {
        return Ok(EMPTY_ROOT);
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        // trailing_zeros of a u64 is at most 63.
        let level = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
        return src.node(level, start / n);
    }
    let k = split(n);
    let left = subtree_hash(src, start, start + k)?;
    let right = subtree_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 PATH).
///
/// # Errors
/// [`LogError::InvalidInput`] when `index >= size`; errors of the source.
pub fn inclusion_proof(src: &dyn NodeSource, index: u64, size: u64) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(LogError::InvalidInput(format!(
            "index {index} is outside a tree of size {size}"
        )));
    }
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

/// The consistency proof between the trees of `size1` and `size2` leaves (RFC 9162
/// PROOF).
///
/// # Errors
/// [`LogError::InvalidInput`] unless `0 < size1 <= size2`; errors of the source.
pub fn consistency_proof(src: &dyn NodeSource, size1: u64, size2: u64) -> Result<Vec<Hash>> {
    if size1 == 0 || size1 > size2 {
        return Err(LogError::InvalidInput(format!(
            "no consistency proof from size {size1} to size {size2}"
        )));
    }
    let mut out = Vec::new();
    if size1 < size2 {
        subproof(src, size1, 0, size2, true, &mut out)?;
    }
    Ok(out)
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

fn path(src: &dyn NodeSource, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<()> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

fn subproof(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<()> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(subtree_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::cast_possible_truncation)] // small test trees index Vecs by size
    use super::*;
    use std::collections::HashMap;

    struct Mem(HashMap<(u8, u64), Hash>);
    impl NodeSource for Mem {
        fn node(&self, level: u8, index: u64) -> Result<Hash> {
            self.0
                .get(&(level, index))
                .copied()
                .ok_or(LogError::Corrupt("missing node"))
        }
    }

    fn tree(n: u64) -> (Mem, Vec<Hash>) {
        let mut nodes = HashMap::new();
        let mut f = Frontier::default();
        let mut roots = vec![EMPTY_ROOT];
        for i in 0..n {
            f.push(leaf_hash(&i.to_be_bytes()), |l, idx, h| {
                nodes.insert((l, idx), *h);
            });
            roots.push(f.root());
        }
        (Mem(nodes), roots)
    }

    #[test]
    fn every_proof_of_small_trees_verifies_and_fails_when_changed() {
        let (src, roots) = tree(40);
        for size in 1..=40u64 {
            assert_eq!(subtree_hash(&src, 0, size).unwrap(), roots[size as usize]);
            for i in 0..size {
                let p = inclusion_proof(&src, i, size).unwrap();
                let leaf = leaf_hash(&i.to_be_bytes());
                verify_inclusion(i, size, &leaf, &p, &roots[size as usize]).unwrap();
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion(i, size, &leaf, &bad, &roots[size as usize]).is_err());
                    let mut long = p.clone();
                    long.push(*first);
                    assert!(
                        verify_inclusion(i, size, &leaf, &long, &roots[size as usize]).is_err()
                    );
                }
            }
            for s1 in 1..=size {
                let p = consistency_proof(&src, s1, size).unwrap();
                verify_consistency(s1, size, &p, &roots[s1 as usize], &roots[size as usize])
                    .unwrap();
                if s1 < size {
                    let short = &p[1..];
                    assert!(
                        verify_consistency(
                            s1,
                            size,
                            short,
                            &roots[s1 as usize],
                            &roots[size as usize]
                        )
                        .is_err()
                    );
                }
            }
        }
    }

    #[test]
    fn frontier_positions_match_pushes() {
        let (src, roots) = tree(37);
        for size in 0..=37u64 {
            let hashes: Vec<Hash> = Frontier::positions(size)
                .into_iter()
                .map(|(l, i)| src.node(l, i).unwrap())
                .collect();
            let f = Frontier::from_parts(size, hashes).unwrap();
            assert_eq!(f.root(), roots[size as usize]);
        }
        assert!(Frontier::from_parts(3, vec![EMPTY_ROOT]).is_err());
    }
}
