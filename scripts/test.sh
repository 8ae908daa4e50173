#!/usr/bin/env bash
# Runs every test Aunsorm has, installing what they need when it is missing:
# formatting and lints, the Rust unit, known-answer and CLI tests, the cross-checks
# against independent implementations (pinned PyPI packages in .venv, and OpenSSL 3.5
# from Debian 13's packages in .cache, see scripts/openssl35.sh), Schemathesis against
# a running dev server (tests/api/run.sh), hvac (Vault's Python client) against the
# Transit API of a running dev server, and the 1 GiB streaming seal/open test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "cargo is required (https://rustup.rs)" >&2
    exit 2
fi
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import cryptography, kyber_py, dilithium_py, schemathesis, hvac' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check \
        -r tests/interop/requirements.txt -r tests/api/requirements.txt \
        -r tests/vault/requirements.txt
fi

# Each step prints how long it took, so that a slow CI run says where its time went.
step() {
    local t0=$SECONDS
    "$@"
    echo "test.sh: ${*:1:3} ... took $((SECONDS - t0)) s" >&2
}

step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets -- -D warnings
step cargo clippy -p aunsorm-crypto --all-targets --features experimental-fn-dsa -- -D warnings
step cargo test --workspace
step cargo test -p aunsorm-crypto --features experimental-fn-dsa --lib
# The Python suites drive the `aunsorm` binary that `cargo test --workspace` built for
# the CLI's own tests. It has aunsorm-crypto's `kat` feature unified in, which only adds
# known-answer entry points that no command can call (the commands build without it);
# building it once more without that feature cost a cold CI run 92 s.
OPENSSL35="$(./scripts/openssl35.sh)"
step .venv/bin/python tests/interop/crosscheck.py target/debug/aunsorm "$OPENSSL35"
step tests/api/run.sh target/debug/aunsorm .venv
step .venv/bin/python tests/vault/hvac_test.py target/debug/aunsorm
step .venv/bin/python tests/interop/seal_big.py target/debug/aunsorm "${AUNSORM_BIG_MIB:-1100}"
echo "test.sh: all passed in $SECONDS s" >&2
