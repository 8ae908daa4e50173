#![allow(clippy::unwrap_used, missing_docs)] // tests may unwrap
//! The capability-token key and revocations persist in the store, sealed like the rest.

use aunsorm_kms::{Kms, PassphraseParams};
use aunsorm_store::SqliteStore;
use std::sync::Arc;

const P: PassphraseParams = PassphraseParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

fn open(dir: &std::path::Path) -> Kms {
    Kms::new(Arc::new(
        SqliteStore::open(&dir.join("aunsorm.db")).unwrap(),
    ))
}

#[test]
fn token_key_and_revocations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let kms = open(dir.path());
    kms.init_with_passphrase(b"pw", P).unwrap();
    let seed = kms.token_key_seed().unwrap();
    assert_eq!(seed.expose().len(), 32);
    assert!(kms.revoked_tokens().unwrap().is_empty());
    kms.revoke_token("0123abcd").unwrap();
    kms.revoke_token("0123abcd").unwrap(); // idempotent
    kms.revoke_token("ffff").unwrap();
    assert_eq!(
        kms.revoke_token("no spaces").unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(kms.revoke_token("").unwrap_err().code(), "invalid_input");
    drop(kms);

    let kms = open(dir.path());
    assert_eq!(kms.token_key_seed().unwrap_err().code(), "sealed");
    kms.unseal_with_passphrase(b"pw").unwrap();
    assert_eq!(kms.token_key_seed().unwrap().expose(), seed.expose());
    let mut ids = kms.revoked_tokens().unwrap();
    ids.sort();
    assert_eq!(ids, ["0123abcd", "ffff"]);
    // Not a user key: it is not listed among them.
    assert!(kms.list("", None, 100).unwrap().is_empty());
}
