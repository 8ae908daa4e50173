//! What the server's capability tokens need from the custody core: the key that signs
//! them (a KMS system key, sealed like every other) and the list of revoked token ids.

use super::Kms;
use crate::{Error, Result};
use aunsorm_crypto::{Algorithm, SecretBytes};
use aunsorm_store::Namespace;

const TOKEN_KEY: (&str, Algorithm) = ("aunsorm/token-ed25519", Algorithm::Ed25519);
const REVOKED: &str = "aunsorm/revoked-token/";

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid("token id", "1-64 letters and digits"));
    }
    Ok(())
}

impl Kms {
    /// The 32-byte seed of the Ed25519 key that signs capability tokens, made on first
    /// use. For the server's token authority only: it must not leave the process.
    ///
    /// # Errors
    /// [`Error::Sealed`]; storage errors.
    pub fn token_key_seed(&self) -> Result<SecretBytes> {
        let l = self.system_key(TOKEN_KEY.0, TOKEN_KEY.1)?;
        let v = l
            .state
            .versions
            .last()
            .ok_or(Error::Internal("key without versions"))?;
        l.private_key(v)?
            .seed()
            .ok_or(Error::Internal("Ed25519 key without a seed"))
    }

    /// Records capability token `id` as revoked (idempotent).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed id; storage errors.
    pub fn revoke_token(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let name = format!("{REVOKED}{id}");
        if self
            .store
            .get(Namespace::Meta, &name)
            .map_err(super::storage)?
            .is_some()
        {
            return Ok(());
        }
        match self.store.put(Namespace::Meta, &name, None, b"revoked") {
            Ok(_) | Err(aunsorm_store::StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(super::storage(e)),
        }
    }

    /// Every revoked capability token id.
    ///
    /// # Errors
    /// Storage errors.
    pub fn revoked_tokens(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list(Namespace::Meta, REVOKED, after.as_deref(), 1000)
                .map_err(super::storage)?;
            let Some(last) = page.last().map(|r| r.name.clone()) else {
                break;
            };
            out.extend(
                page.iter()
                    .filter_map(|r| r.name.strip_prefix(REVOKED).map(str::to_owned)),
            );
            after = Some(last);
        }
        Ok(out)
    }
}
