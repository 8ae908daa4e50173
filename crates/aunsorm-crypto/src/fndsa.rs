//! FN-DSA (FIPS 206 draft) on the fn-dsa crate. **Experimental**: the standard is not
//! final, and keys and signatures made here may not interoperate with it.

use crate::{Algorithm, Error, Result, rng};
use fn_dsa::{
    DomainContext, FN_DSA_LOGN_512, FN_DSA_LOGN_1024, HASH_ID_RAW, KeyPairGenerator,
    KeyPairGeneratorStandard, SigningKey, SigningKeyStandard, VerifyingKey, VerifyingKeyStandard,
    sign_key_size, signature_size, vrfy_key_size,
};
use zeroize::Zeroizing;

pub(crate) struct Sk {
    pub(crate) seed: Zeroizing<[u8; 32]>,
    sk: Zeroizing<Vec<u8>>,
    pub(crate) pk: Vec<u8>,
}

fn logn(alg: Algorithm) -> Result<u32> {
    match alg {
        Algorithm::FnDsa512 => Ok(FN_DSA_LOGN_512),
        Algorithm::FnDsa1024 => Ok(FN_DSA_LOGN_1024),
        other => Err(Error::unsupported(other, "FN-DSA")),
    }
}

/// fn-dsa draws exactly one 32-byte seed from its RNG and derives the key pair from it
/// deterministically; this source hands it our seed. Any further draw is recorded and
/// turned into an error rather than answered with made-up bytes.
struct SeedOnce<'a> {
    seed: &'a [u8; 32],
    used: bool,
    overdrawn: bool,
}

impl fn_dsa::RngCore for SeedOnce<'_> {
    fn next_u32(&mut self) -> u32 {
        self.overdrawn = true;
        0
    }
    fn next_u64(&mut self) -> u64 {
        self.overdrawn = true;
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.used || dest.len() != 32 {
            self.overdrawn = true;
            dest.fill(0);
        } else {
            dest.copy_from_slice(self.seed);
            self.used = true;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), fn_dsa::RngError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl fn_dsa::CryptoRng for SeedOnce<'_> {}

/// The system DRBG as the signer's randomness source; a failure is recorded and
/// reported after signing.
#[derive(Default)]
struct SystemRng {
    failed: bool,
}

impl fn_dsa::RngCore for SystemRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if rng::fill(dest).is_err() {
            self.failed = true;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), fn_dsa::RngError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl fn_dsa::CryptoRng for SystemRng {}

pub(crate) fn keygen(alg: Algorithm, seed: &[u8; 32]) -> Result<Sk> {
    let logn = logn(alg)?;
    let mut sk = Zeroizing::new(vec![0u8; sign_key_size(logn)]);
    let mut pk = vec![0u8; vrfy_key_size(logn)];
    let mut src = SeedOnce {
        seed,
        used: false,
        overdrawn: false,
    };
    KeyPairGeneratorStandard::default().keygen(logn, &mut src, &mut sk, &mut pk);
    if src.overdrawn || !src.used {
        return Err(Error::Crypto);
    }
    Ok(Sk {
        seed: Zeroizing::new(*seed),
        sk,
        pk,
    })
}

impl Sk {
    pub(crate) fn sign(&self, alg: Algorithm, msg: &[u8], ctx: &[u8]) -> Result<Vec<u8>> {
        crate::mldsa::check_context(ctx)?;
        let mut key = SigningKeyStandard::decode(&self.sk).ok_or(Error::Crypto)?;
        let mut sig = vec![0u8; signature_size(logn(alg)?)];
        let mut r = SystemRng::default();
        key.sign(&mut r, &DomainContext(ctx), &HASH_ID_RAW, msg, &mut sig)
            .ok_or(Error::Crypto)?;
        if r.failed {
            return Err(Error::Entropy);
        }
        Ok(sig)
    }
}

pub(crate) fn check_public(alg: Algorithm, pk: &[u8]) -> Result<()> {
    let want = vrfy_key_size(logn(alg)?);
    if pk.len() != want {
        return Err(Error::length("FN-DSA public key", want, pk.len()));
    }
    VerifyingKeyStandard::decode(pk).ok_or(Error::invalid("FN-DSA public key", "malformed"))?;
    Ok(())
}

pub(crate) fn verify(pk: &[u8], msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
    crate::mldsa::check_context(ctx)?;
    let key =
        VerifyingKeyStandard::decode(pk).ok_or(Error::invalid("FN-DSA public key", "malformed"))?;
    if key.verify(sig, &DomainContext(ctx), &HASH_ID_RAW, msg) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Algorithm, PrivateKey, PublicKey, SignOptions};

    #[test]
    fn sign_verify_round_trip_and_determinism() {
        for alg in [Algorithm::FnDsa512, Algorithm::FnDsa1024] {
            let k = PrivateKey::from_seed(alg, &[4u8; 32]).unwrap();
            let again = PrivateKey::from_seed(alg, &[4u8; 32]).unwrap();
            assert_eq!(k.public_key(), again.public_key());
            let opts = SignOptions::new().context(b"ctx");
            let sig = k.sign(b"msg", &opts).unwrap();
            let pk = PublicKey::from_raw(alg, &k.public_key().to_raw()).unwrap();
            pk.verify(b"msg", &sig, &opts).unwrap();
            assert!(pk.verify(b"msG", &sig, &opts).is_err());
            assert!(pk.verify(b"msg", &sig, &SignOptions::new()).is_err());
            assert!(k.to_pkcs8_der().is_err());
        }
    }
}
