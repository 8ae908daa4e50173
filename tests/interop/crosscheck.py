#!/usr/bin/env python3
"""Cross-checks the `aunsorm` binary against independent implementations:
pyca/cryptography (bundling OpenSSL >= 3.5), kyber-py and dilithium-py.

Keys generated from the same seeds must be byte-identical, signatures made by each
side must verify on the other, ciphertexts encapsulated by each side must decapsulate
on the other, and PEM/DER files must load both ways.

With OpenSSL 3.5 (the second argument, fetched by scripts/openssl35.sh), the same
checks run against the `openssl` command: PEM files both ways, ML-DSA and SLH-DSA
signatures with a context string, ML-KEM encapsulation, both ways.

Usage: crosscheck.py PATH_TO_AUNSORM [PATH_TO_OPENSSL_3_5]. Prints 'N passed, M failed'
and exits non-zero on any failure."""
import base64, hashlib, hmac, json, os, subprocess, sys, tempfile
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from kyber_py.ml_kem import ML_KEM_512, ML_KEM_768, ML_KEM_1024
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87
from checks import check, finish

AUNSORM = os.path.abspath(sys.argv[1])
OPENSSL = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
WORK = tempfile.mkdtemp(prefix="aunsorm-crosscheck-")


def p(name):
    return os.path.join(WORK, name)


def run(*args, stdin=None, code=0):
    r = subprocess.run([AUNSORM, *args], input=stdin, capture_output=True, cwd=WORK)
    assert r.returncode == code, f"aunsorm {args}: exit {r.returncode}: {r.stderr.decode()}"
    return r.stdout


def write(name, data):
    with open(p(name), "wb") as f:
        f.write(data)


def read(name):
    with open(p(name), "rb") as f:
        return f.read()


def gen(alg, seed=None, der=False, out="k.key"):
    args = ["pkey", "gen", "--alg", alg, "--out", out]
    if seed is not None:
        args += ["--seed", seed.hex()]
    if der:
        args.append("--der")
    run(*args)
    run("pkey", "pub", "--in", out, "--out", out + ".pub", *(["--der"] if der else []))
    return read(out), read(out + ".pub")


def raw_pub(spki_der):
    k = serialization.load_der_public_key(spki_der)
    return k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pem_to_der(pem):
    return serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


ML_KEM = {"ml-kem-512": (ML_KEM_512, None), "ml-kem-768": (ML_KEM_768, mlkem.MLKEM768PrivateKey),
          "ml-kem-1024": (ML_KEM_1024, mlkem.MLKEM1024PrivateKey)}
ML_DSA = {"ml-dsa-44": (ML_DSA_44, mldsa.MLDSA44PrivateKey), "ml-dsa-65": (ML_DSA_65, mldsa.MLDSA65PrivateKey),
          "ml-dsa-87": (ML_DSA_87, mldsa.MLDSA87PrivateKey)}

for alg, (ref, pyca) in ML_KEM.items():
    @check(f"{alg}: same seed, same keys (kyber-py{', pyca' if pyca else ''})")
    def _():
        seed = os.urandom(64)
        priv, pub = gen(alg, seed, der=True)
        ek, dk = ref.key_derive(seed)
        if pyca:
            k = serialization.load_der_private_key(priv, None)
            assert k.public_key().public_bytes_raw() == ek
            assert serialization.load_der_public_key(pub).public_bytes_raw() == ek
        # SPKI's BIT STRING holds ek: the last len(ek) bytes of the DER.
        assert pub.endswith(ek)

    @check(f"{alg}: encapsulation both ways")
    def _():
        seed = os.urandom(64)
        gen(alg, seed, out="kem.key")
        ek, dk = ref.key_derive(seed)
        # Ours -> theirs.
        run("pkey", "encap", "--pub", "kem.key.pub", "--out-ciphertext", "ct", "--out-secret", "ss")
        assert ref.decaps(dk, read("ct")) == read("ss")
        # Theirs -> ours.
        ss, ct = ref.encaps(ek)
        write("ct2", ct)
        assert run("pkey", "decap", "--key", "kem.key", "--in", "ct2") == ss
        if pyca:
            k = pyca.from_seed_bytes(seed)
            ss3, ct3 = k.public_key().encapsulate()
            write("ct3", ct3)
            assert run("pkey", "decap", "--key", "kem.key", "--in", "ct3") == ss3
            assert k.decapsulate(read("ct")) == read("ss")

for alg, (ref, pyca) in ML_DSA.items():
    @check(f"{alg}: same seed, same keys; signatures verify both ways (dilithium-py, pyca)")
    def _():
        seed = os.urandom(32)
        priv, pub = gen(alg, seed, der=True, out="sig.key")
        pk, sk = ref.key_derive(seed)
        assert pub.endswith(pk)
        k = pyca.from_seed_bytes(seed)
        assert k.public_key().public_bytes_raw() == pk
        assert serialization.load_der_private_key(priv, None).public_key().public_bytes_raw() == pk
        msg, ctx = os.urandom(100), b"aunsorm-crosscheck"
        write("msg", msg)
        run("pkey", "sign", "--key", "sig.key", "--context", ctx.decode(), "--in", "msg", "--out", "sig")
        sig = read("sig")
        assert ref.verify(pk, msg, sig, ctx=ctx)
        k.public_key().verify(sig, msg, ctx)
        write("sig2", ref.sign(sk, msg, ctx=ctx))
        run("pkey", "verify", "--pub", "sig.key.pub", "--context", ctx.decode(), "--in", "msg", "--sig", "sig2")
        write("sig3", k.sign(msg, ctx))
        run("pkey", "verify", "--pub", "sig.key.pub", "--context", ctx.decode(), "--in", "msg", "--sig", "sig3")
        run("pkey", "verify", "--pub", "sig.key.pub", "--context", "other", "--in", "msg", "--sig", "sig3", code=1)


def pyca_keys():
    return {
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "x25519": x25519.X25519PrivateKey.generate(),
        "ecdsa-p256": ec.generate_private_key(ec.SECP256R1()),
        "ecdsa-p384": ec.generate_private_key(ec.SECP384R1()),
        "rsa-2048": rsa.generate_private_key(65537, 2048),
        "ml-dsa-65": mldsa.MLDSA65PrivateKey.generate(),
        "ml-kem-768": mlkem.MLKEM768PrivateKey.generate(),
        "ml-kem-1024": mlkem.MLKEM1024PrivateKey.generate(),
    }


for alg, key in pyca_keys().items():
    @check(f"{alg}: PEM and DER files load both ways")
    def _(alg=alg, key=key):
        for enc in (serialization.Encoding.PEM, serialization.Encoding.DER):
            write("theirs.key", key.private_bytes(enc, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            ours_pub = run("pkey", "pub", "--in", "theirs.key", "--der")
            theirs_pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
            assert ours_pub == theirs_pub, alg
        _, pub = gen(alg, out="ours.key")
        loaded = serialization.load_pem_private_key(read("ours.key"), None)
        assert loaded.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo) == pem_to_der(pub)
        der_priv, der_pub = gen(alg, der=True, out="ours.der")
        serialization.load_der_private_key(der_priv, None)
        serialization.load_der_public_key(der_pub)


@check("ed25519, ecdsa-p256/p384, rsa-2048 (PSS): signatures verify both ways")
def _():
    msg = os.urandom(333)
    write("msg", msg)
    for alg, key in pyca_keys().items():
        if alg in ("x25519", "ml-kem-768", "ml-kem-1024", "ml-dsa-65"):
            continue
        write("theirs.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        run("pkey", "pub", "--in", "theirs.key", "--out", "theirs.pub")
        run("pkey", "sign", "--key", "theirs.key", "--in", "msg", "--out", "sig")
        sig, pub = read("sig"), key.public_key()
        if alg == "ed25519":
            pub.verify(sig, msg)
            write("sig2", key.sign(msg))
        elif alg.startswith("ecdsa"):
            h = hashes.SHA256() if alg.endswith("256") else hashes.SHA384()
            pub.verify(sig, msg, ec.ECDSA(h))
            write("sig2", key.sign(msg, ec.ECDSA(h)))
        else:
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            pub.verify(sig, msg, pss, hashes.SHA256())
            write("sig2", key.sign(msg, pss, hashes.SHA256()))
        run("pkey", "verify", "--pub", "theirs.pub", "--in", "msg", "--sig", "sig2")


def dhkem_x25519(dh, enc, pk_r):
    """RFC 9180 DHKEM(X25519, HKDF-SHA256) ExtractAndExpand, from pyca's HMAC pieces."""
    suite = b"KEM\x00\x20"
    prk = hmac.new(b"", b"HPKE-v1" + suite + b"eae_prk" + dh, hashlib.sha256).digest()
    info = (32).to_bytes(2, "big") + b"HPKE-v1" + suite + b"shared_secret" + enc + pk_r
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@check("x25519: DHKEM(X25519, HKDF-SHA256) encapsulation both ways")
def _():
    seed = os.urandom(32)
    gen("x25519", seed, out="x.key")
    sk = x25519.X25519PrivateKey.from_private_bytes(seed)
    pk_r = sk.public_key().public_bytes_raw()
    run("pkey", "encap", "--pub", "x.key.pub", "--out-ciphertext", "ct", "--out-secret", "ss")
    enc = read("ct")
    dh = sk.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    assert dhkem_x25519(dh, enc, pk_r) == read("ss")
    e = x25519.X25519PrivateKey.generate()
    enc2 = e.public_key().public_bytes_raw()
    ss2 = dhkem_x25519(e.exchange(sk.public_key()), enc2, pk_r)
    write("ct2", enc2)
    assert run("pkey", "decap", "--key", "x.key", "--in", "ct2") == ss2


def xwing_keys(seed):
    x = hashlib.shake_256(seed).digest(96)
    k_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(x[:64])
    k_x = x25519.X25519PrivateKey.from_private_bytes(x[64:])
    return k_m, k_x


def xwing_combine(ss_m, ss_x, ct_x, pk_x):
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + b"\\.//^\\").digest()


@check("x-wing (draft-06): keys and encapsulation both ways, built from pyca ML-KEM and X25519")
def _():
    seed = os.urandom(32)
    _, pub = gen("x-wing", seed, der=True, out="xw.key")
    k_m, k_x = xwing_keys(seed)
    pk_m, pk_x = k_m.public_key().public_bytes_raw(), k_x.public_key().public_bytes_raw()
    assert pub.endswith(pk_m + pk_x)
    run("pkey", "encap", "--pub", "xw.key.pub", "--out-ciphertext", "ct", "--out-secret", "ss")
    ct = read("ct")
    ss_m = k_m.decapsulate(ct[:1088])
    ss_x = k_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct[1088:]))
    assert xwing_combine(ss_m, ss_x, ct[1088:], pk_x) == read("ss")
    ss_m2, ct_m2 = k_m.public_key().encapsulate()
    e = x25519.X25519PrivateKey.generate()
    ct_x2 = e.public_key().public_bytes_raw()
    write("ct2", ct_m2 + ct_x2)
    want = xwing_combine(ss_m2, e.exchange(k_x.public_key()), ct_x2, pk_x)
    assert run("pkey", "decap", "--key", "xw.key", "--in", "ct2") == want


def composite_mp(msg, ctx):
    return (b"CompositeAlgorithmSignatures2025" + b"COMPSIG-MLDSA65-Ed25519-SHA512" + bytes([len(ctx)]) + ctx
            + hashlib.sha512(msg).digest())


@check("ml-dsa-65+ed25519 (composite draft-13): signatures verify both ways, built from pyca")
def _():
    seed = os.urandom(64)
    _, pub = gen("ml-dsa-65+ed25519", seed, der=True, out="c.key")
    m = mldsa.MLDSA65PrivateKey.from_seed_bytes(seed[:32])
    e = ed25519.Ed25519PrivateKey.from_private_bytes(seed[32:])
    assert pub.endswith(m.public_key().public_bytes_raw() + e.public_key().public_bytes_raw())
    msg, ctx = os.urandom(64), b"ctx"
    write("msg", msg)
    run("pkey", "sign", "--key", "c.key", "--context", "ctx", "--in", "msg", "--out", "sig")
    sig = read("sig")
    mp = composite_mp(msg, ctx)
    m.public_key().verify(sig[:3309], mp, b"COMPSIG-MLDSA65-Ed25519-SHA512")
    e.public_key().verify(sig[3309:], mp)
    write("sig2", m.sign(mp, b"COMPSIG-MLDSA65-Ed25519-SHA512") + e.sign(mp))
    run("pkey", "verify", "--pub", "c.key.pub", "--context", "ctx", "--in", "msg", "--sig", "sig2")
    # Either half alone is not enough.
    write("sig3", m.sign(mp, b"COMPSIG-MLDSA65-Ed25519-SHA512") + bytes(64))
    run("pkey", "verify", "--pub", "c.key.pub", "--context", "ctx", "--in", "msg", "--sig", "sig3", code=1)


def ossl(*args, code=0):
    r = subprocess.run([OPENSSL, *args], capture_output=True, cwd=WORK)
    assert r.returncode == code, f"openssl {args}: exit {r.returncode}: {r.stderr.decode()}"
    return r.stdout


OPENSSL_ALGS = {
    "ed25519": "ED25519", "x25519": "X25519", "ecdsa-p256": "EC", "ecdsa-p384": "EC", "rsa-2048": "RSA",
    "ml-kem-512": "ML-KEM-512", "ml-kem-768": "ML-KEM-768", "ml-kem-1024": "ML-KEM-1024",
    "ml-dsa-44": "ML-DSA-44", "ml-dsa-65": "ML-DSA-65", "ml-dsa-87": "ML-DSA-87",
    "slh-dsa-sha2-128s": "SLH-DSA-SHA2-128s", "slh-dsa-sha2-128f": "SLH-DSA-SHA2-128f",
    "slh-dsa-sha2-192f": "SLH-DSA-SHA2-192f", "slh-dsa-sha2-256f": "SLH-DSA-SHA2-256f",
    "slh-dsa-shake-128f": "SLH-DSA-SHAKE-128f", "slh-dsa-shake-192f": "SLH-DSA-SHAKE-192f",
    "slh-dsa-shake-256f": "SLH-DSA-SHAKE-256f",
}

if OPENSSL:
    for alg, oname in OPENSSL_ALGS.items():
        @check(f"openssl 3.5, {alg}: PEM and DER files load both ways")
        def _(alg=alg, oname=oname):
            gen(alg, out="a.pem")
            for fmt in ("PEM", "DER"):
                ossl("pkey", "-in", "a.pem", "-outform", fmt, "-out", "a.conv")
                ossl("pkey", "-in", "a.conv", "-inform", fmt, "-pubout", "-outform", "DER", "-out", "a.opub")
                assert read("a.opub") == run("pkey", "pub", "--in", "a.pem", "--der"), fmt
            opts = {"EC": ["-pkeyopt", "ec_paramgen_curve:" + ("P-256" if alg.endswith("256") else "P-384")],
                    "RSA": ["-pkeyopt", "rsa_keygen_bits:2048"]}.get(oname, [])
            ossl("genpkey", "-algorithm", oname, *opts, "-out", "o.pem")
            ossl("pkey", "-in", "o.pem", "-pubout", "-outform", "DER", "-out", "o.pub")
            assert run("pkey", "pub", "--in", "o.pem", "--der") == read("o.pub")
            ossl("pkey", "-in", "o.pem", "-outform", "DER", "-out", "o.der")
            assert run("pkey", "pub", "--in", "o.der", "--der") == read("o.pub")
            if oname in ("EC", "RSA"):
                # Legacy SEC1 / PKCS#1 PEM ("EC PRIVATE KEY", "RSA PRIVATE KEY").
                ossl("pkey", "-in", "o.pem", "-traditional", "-out", "o.trad")
                assert read("o.trad").startswith(b"-----BEGIN " + oname.encode() + b" PRIVATE KEY-----")
                assert run("pkey", "pub", "--in", "o.trad", "--der") == read("o.pub")

    for alg in ["ml-dsa-44", "ml-dsa-65", "ml-dsa-87", "slh-dsa-sha2-128f", "slh-dsa-shake-128f", "ed25519"]:
        @check(f"openssl 3.5, {alg}: signatures verify both ways")
        def _(alg=alg):
            ctx = [] if alg == "ed25519" else ["-pkeyopt", "context-string:aunsorm"]
            our_ctx = [] if alg == "ed25519" else ["--context", "aunsorm"]
            write("msg", os.urandom(200))
            gen(alg, out="s.pem")
            run("pkey", "sign", "--key", "s.pem", *our_ctx, "--in", "msg", "--out", "sig")
            ossl("pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "s.pem.pub", "-in", "msg", "-sigfile", "sig", *ctx)
            ossl("pkeyutl", "-sign", "-rawin", "-inkey", "s.pem", "-in", "msg", "-out", "sig2", *ctx)
            run("pkey", "verify", "--pub", "s.pem.pub", *our_ctx, "--in", "msg", "--sig", "sig2")
            write("msg2", read("msg") + b"!")
            run("pkey", "verify", "--pub", "s.pem.pub", *our_ctx, "--in", "msg2", "--sig", "sig2", code=1)

    for alg in ["ml-kem-512", "ml-kem-768", "ml-kem-1024"]:
        @check(f"openssl 3.5, {alg}: encapsulation both ways")
        def _(alg=alg):
            gen(alg, out="m.pem")
            ossl("pkeyutl", "-encap", "-pubin", "-inkey", "m.pem.pub", "-out", "ct", "-secret", "ss")
            assert run("pkey", "decap", "--key", "m.pem", "--in", "ct") == read("ss")
            run("pkey", "encap", "--pub", "m.pem.pub", "--out-ciphertext", "ct2", "--out-secret", "ss2")
            ossl("pkeyutl", "-decap", "-inkey", "m.pem", "-in", "ct2", "-secret", "ss3")
            assert read("ss2") == read("ss3")


# --- Custody (aunsorm-kms through the CLI on a local SQLite store) -----------------
os.environ["AUNSORM_STORE"] = p("store")
os.environ["AUNSORM_PASSPHRASE"] = "crosscheck passphrase"
os.environ.pop("AUNSORM_UNSEAL_SHARES", None)
run("operator", "init")


def versioned(text):
    prefix, v, b64 = text.decode().strip().split(":")
    assert prefix == "aunsorm"
    return int(v[1:]), base64.b64decode(b64)


@check("custody: a Vault-format wrapped AES key (RSA-OAEP-SHA256 + AES-KWP by pyca) imports and encrypts")
def _():
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    wk = serialization.load_pem_public_key(run("key", "wrapping-key", "--alg", "rsa-4096"))
    assert wk.key_size == 4096
    material, eph = os.urandom(32), os.urandom(32)
    blob = wk.encrypt(eph, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    write("vault.blob", blob + aes_key_wrap_with_padding(eph, material))
    run("key", "import", "vault-aes", "--alg", "aes-256-gcm", "--wrapped", "--in", "vault.blob")
    v, ct = versioned(run("encrypt", "vault-aes", "--aad", base64.b64encode(b"ctx").decode(), stdin=b"hello"))
    assert v == 1
    assert AESGCM(material).decrypt(ct[:12], ct[12:], b"ctx") == b"hello"
    # A flipped bit in the KWP part is refused.
    bad = bytearray(read("vault.blob")); bad[-1] ^= 1; write("bad.blob", bytes(bad))
    run("key", "import", "vault-bad", "--alg", "aes-256-gcm", "--wrapped", "--in", "bad.blob", code=2)


@check("custody: a Vault-format wrapped Ed25519 PKCS#8 key (pyca) imports and signs for pyca")
def _():
    from cryptography.hazmat.primitives.asymmetric import padding, ed25519
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
    wk = serialization.load_pem_public_key(run("key", "wrapping-key", "--alg", "rsa-4096"))
    sk = ed25519.Ed25519PrivateKey.generate()
    der = sk.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    eph = os.urandom(32)
    blob = wk.encrypt(eph, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    write("ed.blob", blob + aes_key_wrap_with_padding(eph, der))
    run("key", "import", "vault-ed", "--alg", "ed25519", "--wrapped", "--in", "ed.blob")
    _, sig = versioned(run("sign", "vault-ed", stdin=b"message"))
    sk.public_key().verify(sig, b"message")


@check("custody: attestation statements verify with dilithium-py (ML-DSA-65, context)")
def _():
    run("key", "create", "att", "--alg", "ml-kem-1024")
    statement = run("key", "attest", "att", "--sig-out", "att.sig")
    ak = raw_pub(pem_to_der(run("key", "attestation-key")))
    assert ML_DSA_65.verify(ak, statement, read("att.sig"), ctx=b"aunsorm attestation v1")
    assert not ML_DSA_65.verify(ak, statement + b"x", read("att.sig"), ctx=b"aunsorm attestation v1")
    # The fingerprint is SHA-256 of the SPKI DER, rebuilt here by pyca from the raw key.
    info = json.loads(run("key", "show", "att", "--format", "json"))
    pk = mlkem.MLKEM1024PublicKey.from_public_bytes(base64.b64decode(info["versions"][0]["public_key"]))
    spki = pk.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert f"public-key-sha256: {hashlib.sha256(spki).hexdigest()}\n".encode() in statement
    assert b"algorithm: ml-kem-1024\n" in statement


@check("custody: a secret wrapped by kyber-py + pyca in Aunsorm's KEM wrap format unwraps")
def _():
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    run("key", "create", "kw", "--alg", "ml-kem-768")
    info = json.loads(run("key", "show", "kw", "--format", "json"))
    ek = base64.b64decode(info["versions"][0]["public_key"])
    K, c = ML_KEM_768.encaps(ek)
    dem = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"aunsorm/wrap/v1", info=c).derive(K)
    body = AESGCM(dem).encrypt(b"\0" * 12, b"independent secret", b"label")
    text = "aunsorm:v1:" + base64.b64encode(c + body).decode()
    out = run("unwrap", "kw", "--aad", base64.b64encode(b"label").decode(), stdin=text.encode())
    assert out == b"independent secret"
    # Aunsorm's own wraps have the same layout: ML-KEM-768 ciphertext, then GCM.
    _, w = versioned(run("wrap", "kw", stdin=b"s3"))
    assert len(w) == 1088 + 2 + 16


def note_parts(note):
    """A C2SP signed note: (text, [(key name, key id, signature)])."""
    text, _, sigs = note.rpartition(b"\n\n")
    out = []
    for line in sigs.decode().splitlines():
        assert line.startswith("\u2014 ")
        name, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64)
        out.append((name, raw[:4], raw[4:]))
    return text + b"\n", out


def rfc6962_root(entries):
    """RFC 6962 MTH, written out recursively with hashlib."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\0" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\1" + rfc6962_root(entries[:k]) + rfc6962_root(entries[k:])).digest()


@check("log: checkpoint root rebuilt with hashlib, Ed25519 (pyca) and ML-DSA-44 (dilithium-py) signatures verify")
def _():
    run("key", "create", "logged", "--alg", "ed25519")
    run("sign", "logged", stdin=b"for the log")
    run("key", "rotate", "logged")
    note = run("log", "checkpoint")
    text, sigs = note_parts(note)
    origin, size, root = text.decode().splitlines()[:3]
    entries = run("log", "entries", "--limit", "100000").splitlines()
    assert int(size) == len(entries) and len(entries) >= 3
    assert base64.b64decode(root) == rfc6962_root(entries)
    assert json.loads(entries[-1]) ["op"] == "rotate"
    keys = run("log", "keys").decode().split()
    assert len(keys) == 2 and len(sigs) == 2
    for vkey, (name, kid, sig) in zip(keys, sigs):
        kname, khex, kb64 = vkey.split("+", 2)
        raw = base64.b64decode(kb64)
        assert name == kname == origin
        # Key ID: SHA-256(name || "\n" || type || public key)[:4], per C2SP signed-note.
        assert kid == bytes.fromhex(khex) == hashlib.sha256(kname.encode() + b"\n" + raw).digest()[:4]
        if raw[0] == 0x01:
            ed25519.Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig, text)
        else:
            assert raw[0] == 0xA4
            assert ML_DSA_44.verify(raw[1:], text, sig)
            assert not ML_DSA_44.verify(raw[1:], text + b"x", sig)


finish("crosscheck")
