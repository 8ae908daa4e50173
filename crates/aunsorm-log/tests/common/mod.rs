#![allow(clippy::unwrap_used)] // tests may unwrap
//! What the log's integration tests share: checkpoint signers from fixed seeds, and an
//! operation event tagged so that each entry is distinct.

use aunsorm_crypto::{Algorithm, PrivateKey};
use aunsorm_log::{CheckpointSigners, Event, NoteSigner, OpEvent};
use std::sync::Arc;

/// Ed25519 and ML-DSA-44 checkpoint signers for `origin`, from seeds filled with `seed`
/// and `seed + 1`.
pub(crate) fn signers(origin: &str, seed: u8) -> CheckpointSigners {
    let key = |alg, s: u8| Arc::new(PrivateKey::from_seed(alg, &[s; 32]).unwrap());
    CheckpointSigners {
        ed25519: NoteSigner::new(origin, key(Algorithm::Ed25519, seed)).unwrap(),
        ml_dsa_44: NoteSigner::new(origin, key(Algorithm::MlDsa44, seed + 1)).unwrap(),
    }
}

/// A sign operation's event whose request id is `tag`.
pub(crate) fn event(tag: impl Into<String>) -> Event {
    Event::Op(OpEvent {
        op: "sign".into(),
        key: "k#v1".into(),
        token: None,
        request: Some(tag.into()),
        result: "ok".into(),
        time_ms: 0,
    })
}
