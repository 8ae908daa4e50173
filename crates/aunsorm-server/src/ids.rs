//! `/v1/rng/bytes` (random bytes from the server's DRBG) and `/v1/id` (UUIDv7 of
//! RFC 9562 and ULID): both take any valid token.
//!
//! Ids are monotonic within the process: an id made in the same millisecond as the last
//! one of its kind takes the last one's random part plus one (RFC 9562 section 6.2,
//! method 2, and the ULID specification's monotonic mode), so ids sort in the order
//! they were made.

use crate::json::{Json, Query};
use crate::{ApiError, AppState};
use aunsorm_api::SecretBase64;
use aunsorm_api::sys::{IdKind, IdQuery, Ids, RandomBytes, RngQuery};
use axum::Router;
use axum::routing::get;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Most random bytes in one answer.
pub(crate) const MAX_RANDOM: usize = 65_536;
/// Most ids in one answer.
pub(crate) const MAX_IDS: usize = 1000;

pub(crate) fn rng_router() -> Router<AppState> {
    Router::new().route("/v1/rng/bytes", get(random_bytes))
}

pub(crate) fn id_router() -> Router<AppState> {
    Router::new().route("/v1/id", get(ids))
}

/// Random bytes from the DRBG.
#[utoipa::path(get, path = "/v1/rng/bytes", tag = "sys", params(RngQuery),
    responses((status = 200, body = RandomBytes), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn random_bytes(Query(q): Query<RngQuery>) -> Result<Json<RandomBytes>, ApiError> {
    let n = q.bytes.unwrap_or(32);
    if n == 0 || n > MAX_RANDOM {
        return Err(ApiError::invalid(format!(
            "bytes must be 1 to {MAX_RANDOM}"
        )));
    }
    let mut b = Zeroizing::new(vec![0u8; n]);
    aunsorm_crypto::rng::fill(&mut b)?;
    Ok(Json(RandomBytes {
        random: SecretBase64(b),
    }))
}

/// Time-ordered unique ids.
#[utoipa::path(get, path = "/v1/id", tag = "sys", params(IdQuery),
    responses((status = 200, body = Ids), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn ids(Query(q): Query<IdQuery>) -> Result<Json<Ids>, ApiError> {
    let n = q.count.unwrap_or(1);
    if n == 0 || n > MAX_IDS {
        return Err(ApiError::invalid(format!("count must be 1 to {MAX_IDS}")));
    }
    let kind = q.kind.unwrap_or(IdKind::Uuidv7);
    let ids = (0..n)
        .map(|_| match kind {
            IdKind::Uuidv7 => UUID.next().map(|(ms, r)| uuid_v7(ms, r)),
            IdKind::Ulid => ULID.next().map(|(ms, r)| ulid(ms, r)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Ids { ids }))
}

/// A monotonic source of (milliseconds, random part of `bits` bits).
struct Monotonic {
    bits: u32,
    last: Mutex<(u64, u128)>,
}

static UUID: Monotonic = Monotonic::new(74);
static ULID: Monotonic = Monotonic::new(80);

impl Monotonic {
    const fn new(bits: u32) -> Monotonic {
        Monotonic {
            bits,
            last: Mutex::new((0, 0)),
        }
    }

    fn next(&self) -> Result<(u64, u128), ApiError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            & ((1 << 48) - 1);
        let mask = (1u128 << self.bits) - 1;
        let mut last = self
            .last
            .lock()
            .map_err(|_| ApiError::new("internal", "id lock poisoned"))?;
        let (ms, rand) = if now > last.0 {
            let mut b = [0u8; 16];
            aunsorm_crypto::rng::fill(&mut b)?;
            // Leave headroom so increments within the millisecond do not overflow.
            (now, (u128::from_be_bytes(b) & mask) >> 1)
        } else if last.1 < mask {
            // Same millisecond (or the clock went back): the last id plus one.
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last = (ms, rand);
        Ok((ms, rand))
    }
}

fn uuid_v7(ms: u64, rand: u128) -> String {
    let rand_a = (rand >> 62) & 0xfff;
    let rand_b = rand & ((1 << 62) - 1);
    let v = (u128::from(ms) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b;
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn ulid(ms: u64, rand: u128) -> String {
    let v = (u128::from(ms) << 80) | rand;
    (0..26)
        .map(|i| char::from(CROCKFORD[((v >> (125 - 5 * i)) & 31) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_layout_matches_rfc9562_example() {
        // RFC 9562 appendix A.6: unix_ts_ms 0x017F22E279B0, rand_a 0xCC3,
        // rand_b 0x18C4DC0C0C07398F (variant bits included).
        let rand = (0xcc3u128 << 62) | (0x18C4_DC0C_0C07_398F & ((1 << 62) - 1));
        assert_eq!(
            uuid_v7(0x017F_22E2_79B0, rand),
            "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"
        );
    }

    #[test]
    fn ulid_layout_matches_the_spec_example() {
        // The ULID specification's example: 01ARZ3NDEKTSV4RRFFQ69G5FAV.
        let text = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let mut v: u128 = 0;
        for c in text.bytes() {
            let d = CROCKFORD.iter().position(|x| *x == c).unwrap_or(0);
            v = (v << 5) | d as u128;
        }
        let ms = u64::try_from(v >> 80).unwrap_or(0);
        assert_eq!(ulid(ms, v & ((1 << 80) - 1)), text);
    }

    #[test]
    fn ids_are_strictly_increasing() {
        let mut last = String::new();
        for _ in 0..10_000 {
            let (ms, r) = ULID.next().unwrap_or((0, 0));
            let id = ulid(ms, r);
            assert!(id > last, "{id} after {last}");
            last = id;
        }
        let mut last = String::new();
        for _ in 0..10_000 {
            let (ms, r) = UUID.next().unwrap_or((0, 0));
            let id = uuid_v7(ms, r);
            assert!(id > last, "{id} after {last}");
            assert_eq!(&id[14..15], "7");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
            last = id;
        }
    }
}
