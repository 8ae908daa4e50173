#!/usr/bin/env bash
# Schemathesis against /v1/openapi.json of a running dev server (the real binary on a
# random loopback port): a bounded number of cases per route, and it fails on any 5xx,
# any answer that breaks the documented schema (status, content type, headers, body),
# any schema-invalid request accepted, and any route served without its token.
#   tests/api/run.sh BIN VENV [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "$1")
VENV=$2
MAX=${3:-${AUNSORM_SCHEMATHESIS_EXAMPLES:-25}}
work=$(mktemp -d)
"$BIN" serve --dev --listen 127.0.0.1:0 --log-level warn >"$work/env" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    grep -qs '^AUNSORM_TOKEN=' "$work/env" && break
    sleep 0.1
done
eval "$(cat "$work/env")"
export AUNSORM_ADDR AUNSORM_TOKEN
for k in st-aes:aes-256-gcm st-ed:ed25519 st-mldsa:ml-dsa-65 st-kem:ml-kem-768 \
    st-mac:hmac-sha256 st-xwing:x-wing; do
    "$BIN" key create "${k%%:*}" --alg "${k#*:}" >/dev/null
done
# Sealing would end the run early: /v1/sys/seal is covered by the Rust tests.
"$VENV/bin/schemathesis" --no-color --config-file tests/api/schemathesis.toml run \
    "$AUNSORM_ADDR/v1/openapi.json" --url "$AUNSORM_ADDR" \
    -H "Authorization: Bearer $AUNSORM_TOKEN" \
    --exclude-path /v1/sys/seal \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "$MAX" --seed 20261123 \
    --generation-database none
