//! One command set, two places to run it: a local store (the KMS in this process) or a
//! server (`--addr`, `AUNSORM_ADDR`). Commands are written once against [`Custody`];
//! [`Local`] and [`Remote`] carry them out, with the same inputs and outputs (the
//! server's DTOs), so that output does not depend on where a command ran.

use crate::local::{Local, StoreArgs, unsealed};
use crate::{Failure, usage};
use aunsorm_api::kms as api;
use aunsorm_api::{Base64, SecretBase64};
use aunsorm_client::Client;
use aunsorm_crypto::Algorithm;
use aunsorm_kms::{KeyConfig, KeyName, KeyOptions, KeyRef, Kms, Versioned, WrappingKeyAlg};
use zeroize::Zeroizing;

type R<T> = Result<T, Failure>;

/// The custody operations the command line offers.
pub(crate) trait Custody {
    fn create(&self, r: &api::CreateKey) -> R<api::KeyInfo>;
    fn list(&self, prefix: &str) -> R<Vec<String>>;
    fn info(&self, name: &str) -> R<api::KeyInfo>;
    fn rotate(&self, name: &str) -> R<u32>;
    fn configure(&self, name: &str, c: &api::ConfigureKey) -> R<api::KeyInfo>;
    fn delete(&self, name: &str) -> R<()>;
    fn encrypt(&self, key: &str, pt: &[u8], aad: &[u8]) -> R<String>;
    fn decrypt(&self, key: &str, ct: &str, aad: &[u8]) -> R<Zeroizing<Vec<u8>>>;
    fn rewrap(&self, key: &str, ct: &str, aad: &[u8]) -> R<String>;
    fn wrap(&self, key: &str, secret: &[u8], aad: &[u8]) -> R<String>;
    fn unwrap(&self, key: &str, wrapped: &str, aad: &[u8]) -> R<Zeroizing<Vec<u8>>>;
    fn sign(&self, key: &str, msg: &[u8], ctx: &[u8]) -> R<String>;
    fn verify(&self, key: &str, msg: &[u8], sig: &str, ctx: &[u8]) -> R<bool>;
    fn hmac(&self, key: &str, msg: &[u8]) -> R<String>;
    fn datakey(&self, key: &str, bytes: usize) -> R<(Zeroizing<Vec<u8>>, String)>;
    fn encap(&self, key: &str) -> R<(Zeroizing<Vec<u8>>, String)>;
    fn decap(&self, key: &str, ct: &str) -> R<Zeroizing<Vec<u8>>>;
    /// Imports material encrypted to the wrapping key ([`Custody::wrapping_key`]).
    fn import_wrapped(&self, name: &str, r: &api::ImportKey) -> R<api::KeyInfo>;
    /// The wrapping public key, SPKI PEM.
    fn wrapping_key(&self, alg: api::WrappingAlg) -> R<String>;
    /// The attestation public key, SPKI PEM.
    fn attestation_key(&self) -> R<String>;
    fn attest(&self, key: &str) -> R<api::Attestation>;
    fn export(&self, key: &str) -> R<api::ExportedKey>;
    fn destroy(&self, name: &str, version: u32) -> R<api::KeyInfo>;
    /// The local KMS, for the commands only a local store offers.
    fn local(&self) -> Option<&Local> {
        None
    }
}

/// Where the commands run: the server named by `--addr`, else the local store.
pub(crate) fn custody(s: &StoreArgs) -> R<Box<dyn Custody>> {
    match remote(s)? {
        Some(r) => Ok(Box::new(r)),
        None => Ok(Box::new(unsealed(s)?)),
    }
}

/// The server client, when `--addr` (or `AUNSORM_ADDR`) is set.
pub(crate) fn remote(s: &StoreArgs) -> R<Option<Remote>> {
    let Some(addr) = &s.addr else {
        return Ok(None);
    };
    let mut b = Client::builder(addr.as_str()).token(s.token.clone().unwrap_or_default());
    if let Some(ca) = &s.cacert {
        b = b.ca_file(ca);
    }
    if let (Some(c), Some(k)) = (&s.client_cert, &s.client_key) {
        b = b.client_cert(c, k);
    }
    let client = b.build().map_err(client_failure)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(Some(Remote { rt, client }))
}

pub(crate) fn client_failure(e: aunsorm_client::Error) -> Failure {
    let code = crate::static_code(e.code());
    Failure::Error {
        code,
        message: match e {
            aunsorm_client::Error::Api {
                message,
                request_id,
                ..
            } => format!("{message} (request {request_id})"),
            other => other.to_string(),
        },
    }
}

/// A server, through the Rust client.
pub(crate) struct Remote {
    rt: tokio::runtime::Runtime,
    client: Client,
}

impl Remote {
    /// Runs one client call to completion.
    pub(crate) fn run<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, aunsorm_client::Error>,
    ) -> R<T> {
        self.rt.block_on(f(&self.client)).map_err(client_failure)
    }
}

fn b64(b: &[u8]) -> Base64 {
    Base64(b.to_vec())
}

fn opt_b64(b: &[u8]) -> Option<Base64> {
    (!b.is_empty()).then(|| b64(b))
}

fn secret(s: SecretBase64) -> Zeroizing<Vec<u8>> {
    s.0
}

impl Custody for Remote {
    fn create(&self, r: &api::CreateKey) -> R<api::KeyInfo> {
        self.run(async |c| c.create_key(r).await)
    }
    fn list(&self, prefix: &str) -> R<Vec<String>> {
        let mut all = vec![];
        let mut after: Option<String> = None;
        loop {
            let page = self.run(async |c| c.list_keys(prefix, after.as_deref()).await)?;
            all.extend(page.keys);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(all),
            }
        }
    }
    fn info(&self, name: &str) -> R<api::KeyInfo> {
        self.run(async |c| c.key(name).await)
    }
    fn rotate(&self, name: &str) -> R<u32> {
        Ok(self.run(async |c| c.rotate(name).await)?.version)
    }
    fn configure(&self, name: &str, r: &api::ConfigureKey) -> R<api::KeyInfo> {
        self.run(async |c| c.configure(name, r).await)
    }
    fn delete(&self, name: &str) -> R<()> {
        self.run(async |c| c.delete_key(name).await)
    }
    fn encrypt(&self, key: &str, pt: &[u8], aad: &[u8]) -> R<String> {
        let r = api::Encrypt {
            key: key.into(),
            plaintext: SecretBase64::from(pt),
            aad: opt_b64(aad),
        };
        Ok(self.run(async |c| c.encrypt(&r).await)?.value)
    }
    fn decrypt(&self, key: &str, ct: &str, aad: &[u8]) -> R<Zeroizing<Vec<u8>>> {
        let r = api::Decrypt {
            key: key.into(),
            ciphertext: ct.into(),
            aad: opt_b64(aad),
        };
        Ok(secret(self.run(async |c| c.decrypt(&r).await)?.secret))
    }
    fn rewrap(&self, key: &str, ct: &str, aad: &[u8]) -> R<String> {
        let r = api::Decrypt {
            key: key.into(),
            ciphertext: ct.into(),
            aad: opt_b64(aad),
        };
        Ok(self.run(async |c| c.rewrap(&r).await)?.value)
    }
    fn wrap(&self, key: &str, s: &[u8], aad: &[u8]) -> R<String> {
        let r = api::Wrap {
            key: key.into(),
            secret: SecretBase64::from(s),
            aad: opt_b64(aad),
        };
        Ok(self.run(async |c| c.wrap(&r).await)?.value)
    }
    fn unwrap(&self, key: &str, w: &str, aad: &[u8]) -> R<Zeroizing<Vec<u8>>> {
        let r = api::Unwrap {
            key: key.into(),
            wrapped: w.into(),
            aad: opt_b64(aad),
        };
        Ok(secret(self.run(async |c| c.unwrap(&r).await)?.secret))
    }
    fn sign(&self, key: &str, msg: &[u8], ctx: &[u8]) -> R<String> {
        let r = api::Sign {
            key: key.into(),
            message: b64(msg),
            context: opt_b64(ctx),
            rsa_padding: None,
            ecdsa_encoding: None,
        };
        Ok(self.run(async |c| c.sign(&r).await)?.value)
    }
    fn verify(&self, key: &str, msg: &[u8], sig: &str, ctx: &[u8]) -> R<bool> {
        let r = api::Verify {
            key: key.into(),
            message: b64(msg),
            signature: sig.into(),
            context: opt_b64(ctx),
            rsa_padding: None,
            ecdsa_encoding: None,
        };
        Ok(self.run(async |c| c.verify(&r).await)?.valid)
    }
    fn hmac(&self, key: &str, msg: &[u8]) -> R<String> {
        let r = api::Hmac {
            key: key.into(),
            message: b64(msg),
        };
        Ok(self.run(async |c| c.hmac(&r).await)?.value)
    }
    fn datakey(&self, key: &str, bytes: usize) -> R<(Zeroizing<Vec<u8>>, String)> {
        let r = api::Datakey {
            key: key.into(),
            bytes: Some(bytes),
            aad: None,
            wrapped_only: false,
        };
        let out = self.run(async |c| c.datakey(&r).await)?;
        let pt = out
            .plaintext
            .map(secret)
            .ok_or_else(|| usage("the server sent no plaintext data key"))?;
        Ok((pt, out.ciphertext))
    }
    fn encap(&self, key: &str) -> R<(Zeroizing<Vec<u8>>, String)> {
        let r = api::Encap { key: key.into() };
        let out = self.run(async |c| c.encap(&r).await)?;
        Ok((secret(out.shared_secret), out.ciphertext))
    }
    fn decap(&self, key: &str, ct: &str) -> R<Zeroizing<Vec<u8>>> {
        let r = api::Decap {
            key: key.into(),
            ciphertext: ct.into(),
        };
        Ok(secret(self.run(async |c| c.decap(&r).await)?.secret))
    }
    fn import_wrapped(&self, name: &str, r: &api::ImportKey) -> R<api::KeyInfo> {
        self.run(async |c| c.import_key(name, r).await)
    }
    fn wrapping_key(&self, alg: api::WrappingAlg) -> R<String> {
        Ok(self
            .run(async |c| c.wrapping_key(alg).await)?
            .public_key_pem)
    }
    fn attestation_key(&self) -> R<String> {
        Ok(self
            .run(async |c| c.attestation_key().await)?
            .public_key_pem)
    }
    fn attest(&self, key: &str) -> R<api::Attestation> {
        let r = key_ref(key)?;
        self.run(async |c| c.attest(r.name.as_str(), r.version).await)
    }
    fn export(&self, key: &str) -> R<api::ExportedKey> {
        let r = key_ref(key)?;
        self.run(async |c| c.export_key(r.name.as_str(), r.version).await)
    }
    fn destroy(&self, name: &str, version: u32) -> R<api::KeyInfo> {
        self.run(async |c| c.destroy_version(name, version).await)
    }
}

pub(crate) fn name(s: &str) -> R<KeyName> {
    Ok(s.parse()?)
}

pub(crate) fn key_ref(s: &str) -> R<KeyRef> {
    Ok(s.parse()?)
}

/// A key name for operations that take their version from the input.
fn unversioned(s: &str) -> R<KeyName> {
    let r = key_ref(s)?;
    if r.version.is_some() {
        return Err(usage(
            "the version comes from the input: name the key without #vN",
        ));
    }
    Ok(r.name)
}

/// Text `aunsorm:vN:<base64>`, surrounding white space ignored.
fn versioned(s: &str) -> R<Versioned> {
    Ok(s.trim().parse()?)
}

impl Custody for Local {
    fn create(&self, r: &api::CreateKey) -> R<api::KeyInfo> {
        let alg: Algorithm = r.alg.parse()?;
        let opts = KeyOptions {
            exportable: r.exportable,
            deletion_allowed: r.deletion_allowed,
            not_after: r.not_after,
            auto_rotate_secs: r.auto_rotate_secs,
        };
        Ok(aunsorm_server::key_info(&Kms::create(
            self,
            &name(&r.name)?,
            alg,
            &opts,
        )?))
    }
    fn list(&self, prefix: &str) -> R<Vec<String>> {
        let mut all = vec![];
        let mut after: Option<String> = None;
        loop {
            let page = Kms::list(self, prefix, after.as_deref(), 1000)?;
            let Some(last) = page.last().cloned() else {
                return Ok(all);
            };
            all.extend(page);
            after = Some(last);
        }
    }
    fn info(&self, n: &str) -> R<api::KeyInfo> {
        Ok(aunsorm_server::key_info(&Kms::info(self, &name(n)?)?))
    }
    fn rotate(&self, n: &str) -> R<u32> {
        Ok(Kms::rotate(self, &name(n)?)?)
    }
    fn configure(&self, n: &str, c: &api::ConfigureKey) -> R<api::KeyInfo> {
        let cfg = KeyConfig {
            min_decryption_version: c.min_decryption_version,
            min_encryption_version: c.min_encryption_version,
            deletion_allowed: c.deletion_allowed,
            exportable: c.exportable,
            auto_rotate_secs: c.auto_rotate_secs,
            not_after: c.not_after,
        };
        Ok(aunsorm_server::key_info(&Kms::configure(
            self,
            &name(n)?,
            &cfg,
        )?))
    }
    fn delete(&self, n: &str) -> R<()> {
        Ok(Kms::delete(self, &name(n)?)?)
    }
    fn encrypt(&self, key: &str, pt: &[u8], aad: &[u8]) -> R<String> {
        Ok(Kms::encrypt(self, &key_ref(key)?, pt, aad)?.to_string())
    }
    fn decrypt(&self, key: &str, ct: &str, aad: &[u8]) -> R<Zeroizing<Vec<u8>>> {
        let pt = Kms::decrypt(self, &unversioned(key)?, &versioned(ct)?, aad)?;
        Ok(Zeroizing::new(pt.expose().to_vec()))
    }
    fn rewrap(&self, key: &str, ct: &str, aad: &[u8]) -> R<String> {
        Ok(Kms::rewrap(self, &unversioned(key)?, &versioned(ct)?, aad)?.to_string())
    }
    fn wrap(&self, key: &str, s: &[u8], aad: &[u8]) -> R<String> {
        Ok(Kms::wrap(self, &key_ref(key)?, s, aad)?.to_string())
    }
    fn unwrap(&self, key: &str, w: &str, aad: &[u8]) -> R<Zeroizing<Vec<u8>>> {
        let s = Kms::unwrap(self, &unversioned(key)?, &versioned(w)?, aad)?;
        Ok(Zeroizing::new(s.expose().to_vec()))
    }
    fn sign(&self, key: &str, msg: &[u8], ctx: &[u8]) -> R<String> {
        Ok(Kms::sign(self, &key_ref(key)?, msg, ctx)?.to_string())
    }
    fn verify(&self, key: &str, msg: &[u8], sig: &str, ctx: &[u8]) -> R<bool> {
        Ok(Kms::verify(
            self,
            &key_ref(key)?,
            msg,
            &versioned(sig)?,
            ctx,
        )?)
    }
    fn hmac(&self, key: &str, msg: &[u8]) -> R<String> {
        Ok(Kms::hmac(self, &key_ref(key)?, msg)?.to_string())
    }
    fn datakey(&self, key: &str, bytes: usize) -> R<(Zeroizing<Vec<u8>>, String)> {
        let (dk, w) = Kms::datakey(self, &key_ref(key)?, bytes, b"")?;
        Ok((Zeroizing::new(dk.expose().to_vec()), w.to_string()))
    }
    fn encap(&self, key: &str) -> R<(Zeroizing<Vec<u8>>, String)> {
        let (ss, ct) = Kms::encapsulate(self, &key_ref(key)?)?;
        Ok((Zeroizing::new(ss.expose().to_vec()), ct.to_string()))
    }
    fn decap(&self, key: &str, ct: &str) -> R<Zeroizing<Vec<u8>>> {
        let ss = Kms::decapsulate(self, &unversioned(key)?, &versioned(ct)?)?;
        Ok(Zeroizing::new(ss.expose().to_vec()))
    }
    fn import_wrapped(&self, n: &str, r: &api::ImportKey) -> R<api::KeyInfo> {
        let alg: Option<Algorithm> = r.alg.as_deref().map(str::parse).transpose()?;
        let opts = KeyOptions {
            exportable: r.exportable,
            deletion_allowed: r.deletion_allowed,
            not_after: r.not_after,
            auto_rotate_secs: r.auto_rotate_secs,
        };
        let info = Kms::import_wrapped(self, &name(n)?, alg, &r.wrapped.0, &opts)?;
        Ok(aunsorm_server::key_info(&info))
    }
    fn wrapping_key(&self, alg: api::WrappingAlg) -> R<String> {
        let alg = match alg {
            api::WrappingAlg::MlKem768 => WrappingKeyAlg::MlKem768,
            api::WrappingAlg::Rsa4096 => WrappingKeyAlg::Rsa4096,
        };
        Ok(Kms::wrapping_key(self, alg)?.to_spki_pem()?)
    }
    fn attestation_key(&self) -> R<String> {
        Ok(Kms::attestation_key(self)?.to_spki_pem()?)
    }
    fn attest(&self, key: &str) -> R<api::Attestation> {
        let a = Kms::attest(self, &key_ref(key)?)?;
        Ok(api::Attestation {
            statement: a.statement,
            signature: Base64(a.signature),
            signer: a.signer.to_spki_pem()?,
            context: String::from_utf8_lossy(aunsorm_kms::ATTESTATION_CONTEXT).into_owned(),
        })
    }
    fn export(&self, key: &str) -> R<api::ExportedKey> {
        let r = key_ref(key)?;
        let info = Kms::info(self, &r.name)?;
        let secret = Kms::export(self, &r)?;
        let symmetric = info.versions.iter().all(|v| v.public_key.is_empty());
        Ok(api::ExportedKey {
            name: r.name.to_string(),
            version: r.version.unwrap_or_else(|| info.latest_version()),
            format: if symmetric { "raw" } else { "pkcs8" }.to_owned(),
            key: SecretBase64::from(secret.expose()),
        })
    }
    fn destroy(&self, n: &str, version: u32) -> R<api::KeyInfo> {
        let n = name(n)?;
        Kms::destroy_version(self, &n, version)?;
        Ok(aunsorm_server::key_info(&Kms::info(self, &n)?))
    }
    fn local(&self) -> Option<&Local> {
        Some(self)
    }
}
