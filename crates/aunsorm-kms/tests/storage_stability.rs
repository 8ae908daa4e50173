#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! The sealed record written by the first version of the format must load forever.
//! `tests/fixtures/sealed_v1.hex` was produced by `seal_with_nonce` below with a fixed
//! root and nonce and committed; never regenerate it. A format change adds a new
//! fixture beside it.

use aunsorm_crypto::Algorithm;
use aunsorm_kms::sealed::{self, Header};
use aunsorm_kms::{KeyName, RootKey};

fn fixture_header() -> Header {
    Header {
        alg: Algorithm::MlDsa65,
        kid: "acme/signing".parse().unwrap(),
        version: 3,
        generation: 7,
        created_at: 1_790_000_000,
        not_after: Some(1_900_000_000),
    }
}

const FIXTURE: &str = include_str!("fixtures/sealed_v1.hex");

#[test]
fn format_1_record_still_opens() {
    let root = RootKey::from_bytes(&[0x42; 32]).unwrap();
    let bytes = hex::decode(FIXTURE.trim()).unwrap();
    let kid: KeyName = "acme/signing".parse().unwrap();
    let (header, payload) = sealed::open_for(&root, &kid, &bytes).unwrap();
    assert_eq!(header, fixture_header());
    assert_eq!(payload.expose(), b"fixture payload v1");
    // Writing the same record today gives the same bytes: the format has not drifted.
    let again =
        sealed::seal_with_nonce(&root, &fixture_header(), b"fixture payload v1", [0x24; 12])
            .unwrap();
    assert_eq!(hex::encode(again), FIXTURE.trim());
}
