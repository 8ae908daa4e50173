//! C2SP tlog-tiles: paths of hash tiles and entry bundles, and the bundle encoding.

use crate::{LogError, Result};

/// Hashes (or entries) per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels covered by one tile level.
pub const TILE_HEIGHT: u8 = 8;

/// The path of hash tile `index` at tile level `level`, `width` hashes wide (`width` <
/// 256 makes a partial tile): `tile/<L>/<N>[.p/<W>]`.
#[must_use]
pub fn tile_path(level: u8, index: u64, width: u64) -> String {
    format!("tile/{level}/{}{}", index_path(index), partial(width))
}

/// The path of entry bundle `index`: `tile/entries/<N>[.p/<W>]`.
#[must_use]
pub fn entries_path(index: u64, width: u64) -> String {
    format!("tile/entries/{}{}", index_path(index), partial(width))
}

/// What a tile path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileRequest {
    /// A hash tile: tile level, tile index, width.
    Hashes {
        /// Tile level (tree level / 8).
        level: u8,
        /// Tile index at that level.
        index: u64,
        /// Hashes in the tile (256 for a full tile).
        width: u64,
    },
    /// An entry bundle: index, width.
    Entries {
        /// Bundle index.
        index: u64,
        /// Entries in the bundle.
        width: u64,
    },
}

/// Parses a path below `tile/` (for example `0/x001/234.p/7` or `entries/000`).
///
/// # Errors
/// [`LogError::InvalidInput`] for anything that is not a canonical tile path.
pub fn parse_tile_path(path: &str) -> Result<TileRequest> {
    let (head, rest) = path
        .split_once('/')
        .ok_or_else(|| bad("tile path too short"))?;
    let (index_part, width) = match rest.split_once(".p/") {
        Some((i, w)) => {
            let w: u64 = parse_canonical(w).ok_or_else(|| bad("bad partial width"))?;
            if w == 0 || w >= TILE_WIDTH {
                return Err(bad("partial width out of range"));
            }
            (i, w)
        }
        None => (rest, TILE_WIDTH),
    };
    let index = parse_index(index_part)?;
    if head == "entries" {
        return Ok(TileRequest::Entries { index, width });
    }
    let level: u8 = parse_canonical(head).ok_or_else(|| bad("bad tile level"))?;
    if level > 7 {
        return Err(bad("tile level out of range"));
    }
    Ok(TileRequest::Hashes {
        level,
        index,
        width,
    })
}

/// Encodes entries as a bundle: each a big-endian u16 length and the bytes.
///
/// # Errors
/// [`LogError::InvalidInput`] for an entry longer than 65,535 bytes.
pub fn encode_bundle(entries: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| bad("entry longer than 65,535 bytes"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle.
///
/// # Errors
/// [`LogError::InvalidInput`] when a length runs past the end.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or_else(|| bad("truncated bundle length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(bad("truncated bundle entry"));
        }
        out.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    Ok(out)
}

fn index_path(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

fn partial(width: u64) -> String {
    if width < TILE_WIDTH {
        format!(".p/{width}")
    } else {
        String::new()
    }
}

fn parse_index(s: &str) -> Result<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let (last, prefix) = parts.split_last().ok_or_else(|| bad("empty tile index"))?;
    if parts.len() > 7 {
        return Err(bad("tile index too long"));
    }
    let mut n: u64 = 0;
    for p in prefix {
        let d = p
            .strip_prefix('x')
            .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad("bad tile index element"))?;
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(d.parse().unwrap_or(0)))
            .ok_or_else(|| bad("tile index out of range"))?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("bad tile index element"));
    }
    let n = n
        .checked_mul(1000)
        .and_then(|n| n.checked_add(last.parse().unwrap_or(0)))
        .ok_or_else(|| bad("tile index out of range"))?;
    // Canonical form only: no leading x000 groups.
    if index_path(n) != s {
        return Err(bad("tile index not in canonical form"));
    }
    Ok(n)
}

fn parse_canonical<T: std::str::FromStr + ToString>(s: &str) -> Option<T> {
    let v: T = s.parse().ok()?;
    (v.to_string() == s).then_some(v)
}

fn bad(why: &str) -> LogError {
    LogError::InvalidInput(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_the_spec_writes_them() {
        assert_eq!(tile_path(0, 1_234_067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(1, 0, 7), "tile/1/000.p/7");
        assert_eq!(entries_path(5, 256), "tile/entries/005");
        assert_eq!(
            parse_tile_path("0/x001/x234/067").unwrap(),
            TileRequest::Hashes {
                level: 0,
                index: 1_234_067,
                width: 256
            }
        );
        assert_eq!(
            parse_tile_path("entries/000.p/12").unwrap(),
            TileRequest::Entries {
                index: 0,
                width: 12
            }
        );
        for bad in [
            "",
            "0",
            "0/1",
            "0/x000/001",
            "0/001.p/0",
            "0/001.p/256",
            "0/001.p/07",
            "8/000",
            "00/000",
            "0/x1/001",
            "entries/0001",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bundles_round_trip_and_refuse_truncation() {
        let e = vec![b"a".to_vec(), vec![], vec![7u8; 300]];
        let b = encode_bundle(&e).unwrap();
        assert_eq!(decode_bundle(&b).unwrap(), e);
        assert!(decode_bundle(&b[..b.len() - 1]).is_err());
        assert!(decode_bundle(&[0]).is_err());
        assert!(encode_bundle(&[vec![0u8; 70_000]]).is_err());
    }
}
