#!/usr/bin/env python3
"""Drives Aunsorm's Vault-compatible Transit API with the real Python client, hvac,
against a running `aunsorm serve --dev` (the real binary on a random loopback port),
and checks every signature it gets back with an independent implementation
(pyca/cryptography; dilithium-py for ML-DSA) against the public key `GET keys/:name`
hands out. Ciphertexts are carried across between /v1/transit and /v1/kms both ways.

Usage: hvac_test.py PATH_TO_AUNSORM. Prints 'N passed, M failed'; exits non-zero on any
failure."""
import base64, os, subprocess, sys, tempfile, time

import hvac
import requests
from hvac import exceptions as vexc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, utils
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from checks import check, finish  # noqa: E402

AUNSORM = os.path.abspath(sys.argv[1])


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s)


def start_server():
    work = tempfile.mkdtemp(prefix="aunsorm-hvac-")
    proc = subprocess.Popen(
        [AUNSORM, "serve", "--dev", "--listen", "127.0.0.1:0", "--log-level", "warn"],
        stdout=subprocess.PIPE, stderr=open(os.path.join(work, "err"), "wb"), cwd=work)
    env = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "AUNSORM_TOKEN" not in env:
        line = proc.stdout.readline().decode()
        if not line:
            break
        k, _, v = line.strip().partition("=")
        env[k] = v
    assert "AUNSORM_TOKEN" in env, "the dev server did not print its token"
    return proc, env["AUNSORM_ADDR"], env["AUNSORM_TOKEN"]


proc, ADDR, TOKEN = start_server()
client = hvac.Client(url=ADDR, token=TOKEN, timeout=30)
transit = client.secrets.transit


def kms(path, body):
    """A call to Aunsorm's own API."""
    r = requests.post(f"{ADDR}/v1/kms/{path}", json=body,
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def raises(exc, f, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except exc as e:
        assert e.errors, f"{exc.__name__} without Vault's errors list"
        return e
    raise AssertionError(f"{f.__name__} did not raise {exc.__name__}")


@check("sys: authenticated, initialized, unsealed, health, transit/ mounted")
def _():
    assert client.is_authenticated()
    assert not hvac.Client(url=ADDR, token="not-a-token").is_authenticated()
    assert client.sys.is_initialized()
    assert not client.sys.is_sealed()
    h = client.sys.read_health_status(method="GET")
    assert h["initialized"] and not h["sealed"] and not h["standby"], h
    assert client.sys.read_health_status(method="HEAD").status_code == 200
    mounts = client.sys.list_mounted_secrets_engines()
    assert mounts["data"]["transit/"]["type"] == "transit", mounts
    e = raises(vexc.InvalidRequest, client.sys.enable_secrets_engine, "transit")
    assert "already in use" in e.errors[0]


@check("keys: create each classical type, read, list, config, rotate, delete")
def _():
    for name, kind in [("aes", "aes256-gcm96"), ("chacha", "chacha20-poly1305"),
                       ("ed", "ed25519"), ("p256", "ecdsa-p256"), ("p384", "ecdsa-p384"),
                       ("rsa", "rsa-2048"), ("mac", "hmac")]:
        if kind == "hmac":
            # hvac's create_key checks key_type against a list without hmac.
            client.adapter.post(f"/v1/transit/keys/{name}", json={"type": kind})
        else:
            transit.create_key(name, key_type=kind)
        k = transit.read_key(name)["data"]
        assert (k["name"], k["type"], k["latest_version"]) == (name, kind, 1), k
        assert k["min_decryption_version"] == 1 and k["deletion_allowed"] is False
        symmetric = kind in ("aes256-gcm96", "chacha20-poly1305", "hmac")
        assert k["supports_encryption"] == (kind in ("aes256-gcm96", "chacha20-poly1305"))
        assert k["supports_signing"] == (not symmetric)
        if not symmetric:
            assert k["keys"]["1"]["public_key"], k
    listed = transit.list_keys()["data"]["keys"]
    assert {"aes", "chacha", "ed", "p256", "p384", "rsa", "mac"} <= set(listed), listed
    for kind in ["des", "ecdsa-p521"]:
        raises(vexc.InvalidRequest, client.adapter.post, "/v1/transit/keys/bad", json={"type": kind})
    raises(vexc.InvalidPath, transit.read_key, "bad")
    raises(vexc.InvalidPath, transit.read_key, "nope")
    transit.create_key("gone")
    raises(vexc.InvalidRequest, transit.delete_key, "gone")
    transit.update_key_configuration("gone", deletion_allowed=True)
    transit.delete_key("gone")
    raises(vexc.InvalidPath, transit.read_key, "gone")


@check("encrypt, decrypt, rewrap, batch, datakey (aes256-gcm96, chacha20-poly1305)")
def _():
    for name in ("aes", "chacha"):
        ct = transit.encrypt_data(name, plaintext=b64(b"hello"))["data"]["ciphertext"]
        assert ct.startswith("vault:v1:"), ct
        assert unb64(transit.decrypt_data(name, ciphertext=ct)["data"]["plaintext"]) == b"hello"
        ctx = b64(b"tenant-7")
        ct2 = transit.encrypt_data(name, plaintext=b64(b"bound"), context=ctx)["data"]["ciphertext"]
        raises(vexc.InvalidRequest, transit.decrypt_data, name, ciphertext=ct2)
        assert unb64(transit.decrypt_data(name, ciphertext=ct2, context=ctx)["data"]["plaintext"]) == b"bound"
        items = [{"plaintext": b64(bytes([i]) * i)} for i in range(1, 5)]
        out = transit.encrypt_data(name, plaintext=None, batch_input=items)["data"]["batch_results"]
        assert len(out) == 4 and all(o["ciphertext"].startswith("vault:v1:") for o in out)
        back = transit.decrypt_data(name, ciphertext=None,
                                    batch_input=[{"ciphertext": o["ciphertext"]} for o in out])
        assert [unb64(r["plaintext"]) for r in back["data"]["batch_results"]] == [bytes([i]) * i for i in range(1, 5)]
        for bits, n in [(None, 32), (128, 16), (512, 64)]:
            dk = transit.generate_data_key(name, key_type="plaintext", bits=bits)["data"]
            assert len(unb64(dk["plaintext"])) == n
            assert transit.decrypt_data(name, ciphertext=dk["ciphertext"])["data"]["plaintext"] == dk["plaintext"]
        wrapped = transit.generate_data_key(name, key_type="wrapped")["data"]
        assert "plaintext" not in wrapped and wrapped["ciphertext"].startswith("vault:v1:")
        # Rotate, rewrap to v2, and retire v1 with min_decryption_version.
        transit.rotate_key(name)
        assert transit.read_key(name)["data"]["latest_version"] == 2
        re = transit.rewrap_data(name, ciphertext=ct)["data"]["ciphertext"]
        assert re.startswith("vault:v2:"), re
        assert unb64(transit.decrypt_data(name, ciphertext=re)["data"]["plaintext"]) == b"hello"
        transit.update_key_configuration(name, min_decryption_version=2)
        assert transit.read_key(name)["data"]["min_decryption_version"] == 2
        raises(vexc.InvalidRequest, transit.decrypt_data, name, ciphertext=ct)
        assert unb64(transit.decrypt_data(name, ciphertext=re)["data"]["plaintext"]) == b"hello"
        # A specific version for encryption.
        v1 = transit.encrypt_data(name, plaintext=b64(b"x"), key_version=2)["data"]
        assert v1["ciphertext"].startswith("vault:v2:") and v1["key_version"] == 2


@check("bad input: malformed vault: prefixes, wrong versions, failing batch items, no token")
def _():
    for bad in ["vault:v1", "vault:vX:AAAA", "vault:v1:@@@", "nope:v1:AAAA", "vault:v99:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]:
        raises(vexc.InvalidRequest, transit.decrypt_data, "aes", ciphertext=bad)
    raises(vexc.InvalidRequest, transit.encrypt_data, "aes", plaintext=b64(b"x"), key_version=9)
    good = transit.encrypt_data("aes", plaintext=b64(b"ok"))["data"]["ciphertext"]
    # Some items fail: Vault reports each, the rest succeed, and the answer is 400
    # unless partial_failure_response_code says otherwise.
    r = client.adapter.post("/v1/transit/decrypt/aes", json={
        "batch_input": [{"ciphertext": good}, {"ciphertext": "vault:v1:AAAA"}],
        "partial_failure_response_code": 207}, raise_exception=False)
    assert r.status_code == 207, r.status_code
    res = r.json()["data"]["batch_results"]
    assert unb64(res[0]["plaintext"]) == b"ok" and res[1]["error"], res
    r = client.adapter.post("/v1/transit/decrypt/aes", json={
        "batch_input": [{"ciphertext": good}, {"ciphertext": "vault:v1:AAAA"}]},
        raise_exception=False)
    assert r.status_code == 400 and r.json()["data"]["batch_results"][1]["error"], r.text
    anon = hvac.Client(url=ADDR, token="")
    raises(vexc.Forbidden, anon.secrets.transit.encrypt_data, "aes", plaintext=b64(b"x"))
    raises(vexc.Forbidden, hvac.Client(url=ADDR, token="x" * 40).secrets.transit.read_key, "aes")


def public_key(name, version="1"):
    return transit.read_key(name)["data"]["keys"][version]["public_key"]


def sig_bytes(sig, jws=False):
    raw = sig.split(":", 2)[2]
    if jws:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return unb64(raw)


@check("sign/verify: ed25519, ecdsa-p256 (asn1, jws), rsa-2048 (pss, pkcs1v15), checked by pyca")
def _():
    msg = b"sign me"
    # Ed25519: the raw public key in base64, as Vault gives it.
    s = transit.sign_data("ed", hash_input=b64(msg))["data"]["signature"]
    pk = ed25519.Ed25519PublicKey.from_public_bytes(unb64(public_key("ed")))
    pk.verify(sig_bytes(s), msg)
    assert transit.verify_signed_data("ed", hash_input=b64(msg), signature=s)["data"]["valid"]
    assert not transit.verify_signed_data("ed", hash_input=b64(b"other"), signature=s)["data"]["valid"]
    # ECDSA P-256, DER (asn1) and r||s (jws, base64url).
    pk = serialization.load_pem_public_key(public_key("p256").encode())
    s = transit.sign_data("p256", hash_input=b64(msg), hash_algorithm="sha2-256")["data"]["signature"]
    pk.verify(sig_bytes(s), msg, ec.ECDSA(hashes.SHA256()))
    assert transit.verify_signed_data("p256", hash_input=b64(msg), signature=s)["data"]["valid"]
    s = transit.sign_data("p256", hash_input=b64(msg), marshaling_algorithm="jws")["data"]["signature"]
    rs = sig_bytes(s, jws=True)
    assert len(rs) == 64
    pk.verify(utils.encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big")),
              msg, ec.ECDSA(hashes.SHA256()))
    assert transit.verify_signed_data("p256", hash_input=b64(msg), signature=s,
                                      marshaling_algorithm="jws")["data"]["valid"]
    # ECDSA P-384 signs with SHA-384.
    pk = serialization.load_pem_public_key(public_key("p384").encode())
    s = transit.sign_data("p384", hash_input=b64(msg), hash_algorithm="sha2-384")["data"]["signature"]
    pk.verify(sig_bytes(s), msg, ec.ECDSA(hashes.SHA384()))
    # RSA-2048, PSS (32-byte salt) and PKCS#1 v1.5.
    pk = serialization.load_pem_public_key(public_key("rsa").encode())
    s = transit.sign_data("rsa", hash_input=b64(msg), signature_algorithm="pss")["data"]["signature"]
    pk.verify(sig_bytes(s), msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
              hashes.SHA256())
    assert transit.verify_signed_data("rsa", hash_input=b64(msg), signature=s,
                                      signature_algorithm="pss")["data"]["valid"]
    s = transit.sign_data("rsa", hash_input=b64(msg), signature_algorithm="pkcs1v15")["data"]["signature"]
    pk.verify(sig_bytes(s), msg, padding.PKCS1v15(), hashes.SHA256())
    assert transit.verify_signed_data("rsa", hash_input=b64(msg), signature=s,
                                      signature_algorithm="pkcs1v15")["data"]["valid"]
    try:
        pk.verify(sig_bytes(s), b"other", padding.PKCS1v15(), hashes.SHA256())
        raise AssertionError("pyca accepted a signature over another message")
    except InvalidSignature:
        pass
    # Rotation: the new version signs, both verify.
    transit.rotate_key("ed")
    s2 = transit.sign_data("ed", hash_input=b64(msg))["data"]["signature"]
    assert s2.startswith("vault:v2:")
    ed25519.Ed25519PublicKey.from_public_bytes(unb64(public_key("ed", "2"))).verify(sig_bytes(s2), msg)
    raises(vexc.InvalidRequest, transit.sign_data, "p256", hash_input=b64(msg), hash_algorithm="sha2-512")


@check("hmac: generate and verify")
def _():
    tag = transit.generate_hmac("mac", hash_input=b64(b"data"))["data"]["hmac"]
    assert tag.startswith("vault:v1:") and len(sig_bytes(tag)) == 32
    assert transit.verify_signed_data("mac", hash_input=b64(b"data"), hmac=tag)["data"]["valid"]
    assert not transit.verify_signed_data("mac", hash_input=b64(b"date"), hmac=tag)["data"]["valid"]
    tag2 = transit.generate_hmac("mac", hash_input=b64(b"data"), algorithm="sha2-256")["data"]["hmac"]
    assert tag2 == tag, "HMAC is deterministic"


@check("post-quantum keys through the raw adapter, used by sign_data/verify_signed_data")
def _():
    for name, body, ref in [("pq44", {"type": "ml-dsa", "parameter_set": "44"}, ML_DSA_44),
                            ("pq65", {"type": "ml-dsa", "parameter_set": "65"}, ML_DSA_65),
                            ("pq87", {"type": "ml-dsa", "parameter_set": "87"}, ML_DSA_87),
                            ("slh", {"type": "slh-dsa", "parameter_set": "sha2-128f"}, None),
                            ("hybrid", {"type": "ml-dsa-65+ed25519"}, None)]:
        client.adapter.post(f"/v1/transit/keys/{name}", json=body)
        k = transit.read_key(name)["data"]
        assert k["supports_signing"], k
        msg = b"post-quantum " + name.encode()
        s = transit.sign_data(name, hash_input=b64(msg))["data"]["signature"]
        assert transit.verify_signed_data(name, hash_input=b64(msg), signature=s)["data"]["valid"]
        assert not transit.verify_signed_data(name, hash_input=b64(msg + b"!"), signature=s)["data"]["valid"]
        if ref is not None:
            spki = serialization.load_pem_public_key(k["keys"]["1"]["public_key"].encode())
            raw = spki.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            assert ref.verify(raw, msg, sig_bytes(s), ctx=b"")
            assert not ref.verify(raw, msg + b"!", sig_bytes(s), ctx=b"")
    for body in [{"type": "ml-kem-768"}, {"type": "x-wing"}]:
        client.adapter.post(f"/v1/transit/keys/kem-{body['type']}", json=body)
        assert transit.read_key(f"kem-{body['type']}")["data"]["type"] == body["type"]


@check("ciphertexts and signatures cross between /v1/transit and /v1/kms, both ways")
def _():
    ct = transit.encrypt_data("aes", plaintext=b64(b"from vault"))["data"]["ciphertext"]
    out = kms("decrypt", {"key": "aes", "ciphertext": ct.replace("vault:", "aunsorm:", 1)})
    assert unb64(out["secret"]) == b"from vault"
    mine = kms("encrypt", {"key": "aes", "plaintext": b64(b"from aunsorm")})["value"]
    assert mine.startswith("aunsorm:v")
    back = transit.decrypt_data("aes", ciphertext=mine.replace("aunsorm:", "vault:", 1))
    assert unb64(back["data"]["plaintext"]) == b"from aunsorm"
    # Aunsorm's own form is accepted on the Transit API as it is.
    assert unb64(transit.decrypt_data("aes", ciphertext=mine)["data"]["plaintext"]) == b"from aunsorm"
    sig = kms("sign", {"key": "p256", "message": b64(b"m")})["value"]
    assert transit.verify_signed_data("p256", hash_input=b64(b"m"),
                                      signature=sig.replace("aunsorm:", "vault:", 1))["data"]["valid"]


@check("random bytes and hashes")
def _():
    r = transit.generate_random_bytes(n_bytes=48)["data"]["random_bytes"]
    assert len(unb64(r)) == 48
    r = transit.generate_random_bytes(n_bytes=16, output_format="hex")["data"]["random_bytes"]
    assert len(bytes.fromhex(r)) == 16
    import hashlib
    for alg, py in [("sha2-224", "sha224"), ("sha2-256", "sha256"), ("sha2-384", "sha384"),
                    ("sha2-512", "sha512"), ("sha3-224", "sha3_224"), ("sha3-256", "sha3_256"),
                    ("sha3-384", "sha3_384"), ("sha3-512", "sha3_512")]:
        data = os.urandom(100)
        if alg.startswith("sha2-"):
            got = transit.hash_data(b64(data), algorithm=alg, output_format="hex")["data"]["sum"]
        else:
            # hvac's hash_data knows only SHA-2; Vault has SHA-3 too.
            got = client.adapter.post(f"/v1/transit/hash/{alg}", json={"input": b64(data)})["data"]["sum"]
        assert got == hashlib.new(py, data).hexdigest(), alg


proc.terminate()
try:
    proc.wait(timeout=20)
except subprocess.TimeoutExpired:
    proc.kill()
finish("hvac")
