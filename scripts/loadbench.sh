#!/usr/bin/env bash
# Load benchmark of the HTTP API with wrk, in one run:
#   - the full server (`aunsorm serve` on a store: SQLite keys, SQLite transparency log,
#     a durable audit entry per operation, capability-token auth, JSON request logs),
#   - the same server in `--dev` mode (keys and log in memory, no fsync; the same auth,
#     KMS, audit entries, logs and metrics): what the request path costs without the
#     durable log, so that each run says which of the two the gap to bare is,
#   - the bare baseline (`--example bare`: axum + the raw aunsorm-crypto operation, same
#     JSON shapes, no auth, no KMS, no audit),
# for health, Ed25519 sign (1 KiB), ML-DSA-65 sign (1 KiB), ML-KEM-768 encap and
# AES-256-GCM encrypt (1 KiB), at 1, 16 and 64 connections; then the start-to-ready
# time of `aunsorm serve --dev`. wrk shares the machine's cores with the server.
# wrk's percentiles are corrected for coordinated omission (it adds synthetic samples
# for every latency above runtime/requests), so a few long stalls can set its p99 at
# one connection; the "server side" column is the uncorrected p99 of the server's own
# span of each request, from its request log. "steal ticks" are CPU clock ticks the
# hypervisor took from this (virtual) machine during the cell.
#
#   bash scripts/loadbench.sh            # 10 s per cell
#   AUNSORM_LOADBENCH_SECS=3 bash scripts/loadbench.sh
#   AUNSORM_LOADBENCH_LOG_LEVEL=warn bash scripts/loadbench.sh   # no per-request log lines
#   AUNSORM_LOADBENCH_OPS="health ed aes" AUNSORM_LOADBENCH_CONNS=64 bash scripts/loadbench.sh
#   AUNSORM_BARE_PER_THREAD=1 bash scripts/loadbench.sh   # bare in the server's thread layout
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh
SECS=${AUNSORM_LOADBENCH_SECS:-10}
CONNS=${AUNSORM_LOADBENCH_CONNS:-"1 16 64"}
OPS=${AUNSORM_LOADBENCH_OPS:-"health ed mldsa mlkem aes"}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
# Two builds: with `--example`, cargo builds only the example, not the `aunsorm` binary.
cargo build --release -q -p aunsorm-cli --bin aunsorm
cargo build --release -q -p aunsorm-server --example bare
BIN=target/release/aunsorm
BARE=target/release/examples/bare
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits for the AUNSORM_ADDR= line in $1 and prints the address.
addr_of() {
  for _ in $(seq 1 500); do
    if grep -q '^AUNSORM_ADDR=' "$1" 2>/dev/null; then
      sed -n 's/^AUNSORM_ADDR=//p' "$1" | head -1
      return 0
    fi
    sleep 0.01
  done
  echo "no address in $1" >&2
  return 1
}

# The full server on a fresh store.
export AUNSORM_PASSPHRASE=loadbench-passphrase
"$BIN" --store "$work/store" --format json operator init >"$work/init.json" 2>/dev/null
TOKEN=$(sed -n 's/.*"root_token":"\([^"]*\)".*/\1/p' "$work/init.json")
"$BIN" --store "$work/store" serve --listen 127.0.0.1:0 --log-level "${AUNSORM_LOADBENCH_LOG_LEVEL:-info}" >"$work/full.out" 2>"$work/full.log" &
pids+=($!)
FULL_PID=$!
FULL=$(addr_of "$work/full.out")
"$BIN" serve --dev --listen 127.0.0.1:0 --log-level "${AUNSORM_LOADBENCH_LOG_LEVEL:-info}" >"$work/devsrv.out" 2>"$work/devsrv.log" &
pids+=($!)
DEV_PID=$!
DEV=$(addr_of "$work/devsrv.out")
DEV_TOKEN=$(sed -n 's/^AUNSORM_TOKEN=//p' "$work/devsrv.out")
"$BARE" 127.0.0.1:0 >"$work/bare.out" 2>/dev/null &
pids+=($!)
BARE_PID=$!
BARE_ADDR=$(addr_of "$work/bare.out")
for k in ed:ed25519 mldsa:ml-dsa-65 mlkem:ml-kem-768 aes:aes-256-gcm; do
  for s in "$FULL $TOKEN" "$DEV $DEV_TOKEN"; do
    set -- $s
    curl -sf -o /dev/null -X POST "$1/v1/kms/keys" -H "authorization: Bearer $2" \
      -H 'content-type: application/json' -d "{\"name\":\"${k%%:*}\",\"alg\":\"${k#*:}\"}"
  done
done
KIB=$(head -c 1024 /dev/zero | tr '\0' 'a' | base64 -w0)

# CPU time (user + system, clock ticks) the process $1 has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# Prints "req/s p50_ms p99_ms errors cpu_us_per_request steal_ticks" for one cell:
# the server process's CPU time (all its threads) divided by the requests served, and
# the CPU ticks the hypervisor stole from the machine during the cell.
cell() { # addr path method body conns pid [token]
  local threads=2
  [ "$5" -lt 2 ] && threads=1
  local out t0 t1 s0
  t0=$(ticks "$6")
  s0=$(steal_ticks)
  out=$(METHOD=$3 BODY=$4 TOKEN=${7:-$TOKEN} wrk -t"$threads" -c"$5" -d"${SECS}s" --latency \
    -s scripts/wrk_request.lua "$1$2")
  t1=$(ticks "$6")
  echo "$out" | awk -v dt=$((t1 - t0)) -v hz="$HZ" -v st=$(($(steal_ticks) - s0)) '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec:/ { rps = $2 }
    / requests in / { n = $1 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { err = $5 }
    /Socket errors/ { err = err "+sock" }
    END { printf "%.0f %.3f %.3f %s %.1f %d\n", rps, p50, p99, (err == "" ? 0 : err), (n > 0 ? dt * 1e6 / hz / n : 0), st }'
}

# $1 as a percentage of $2.
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100*a/b; else print "-" }'; }

echo "| operation | conns | full req/s | full p50 ms | full p99 ms | full p99 ms, server side | bare req/s | bare p50 ms | bare p99 ms | full/bare | dev req/s | dev/bare | CPU µs/req (full, dev, bare) | steal ticks (full, bare) | errors (full, dev, bare) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
commits=()
for op in $OPS; do
  case $op in
    health) path=/v1/sys/health method=GET body= label="health (GET)" ;;
    ed) path=/v1/kms/sign method=POST body="{\"key\":\"ed\",\"message\":\"$KIB\"}" label="Ed25519 sign 1 KiB" ;;
    mldsa) path=/v1/kms/sign method=POST body="{\"key\":\"mldsa\",\"message\":\"$KIB\"}" label="ML-DSA-65 sign 1 KiB" ;;
    mlkem) path=/v1/kms/encap method=POST body='{"key":"mlkem"}' label="ML-KEM-768 encap" ;;
    aes) path=/v1/kms/encrypt method=POST body="{\"key\":\"aes\",\"plaintext\":\"$KIB\"}" label="AES-256-GCM encrypt 1 KiB" ;;
  esac
  for c in $CONNS; do
    logged=$(wc -c <"$work/full.log")
    lc0=$(log_commits "$FULL")
    read -r frps fp50 fp99 ferr fcpu fst < <(cell "$FULL" "$path" "$method" "$body" "$c" "$FULL_PID")
    commits+=("| $label | $c | $(commit_delta "$lc0" "$(log_commits "$FULL")" "$SECS" | sed 's/ / | /g') |")
    read -r fsp99 _ < <(server_percentiles "$work/full.log" "$logged")
    read -r drps _ _ derr dcpu _ < <(cell "$DEV" "$path" "$method" "$body" "$c" "$DEV_PID" "$DEV_TOKEN")
    read -r brps bp50 bp99 berr bcpu bst < <(cell "$BARE_ADDR" "$path" "$method" "$body" "$c" "$BARE_PID")
    echo "| $label | $c | $frps | $fp50 | $fp99 | $fsp99 | $brps | $bp50 | $bp99 | $(pct "$frps" "$brps") | $drps | $(pct "$drps" "$brps") | $fcpu, $dcpu, $bcpu | $fst, $bst | $ferr, $derr, $berr |"
  done
done

# The full server's group commits per cell, from its /metrics (a checkpoint stored in a
# transaction of its own is not a commit there; health makes no entries).
echo
echo "| operation | conns | log commits/s (full) | entries per commit | ms per commit (transaction + fdatasync) |"
echo "|---|---|---|---|---|"
printf '%s\n' "${commits[@]}"

# Every acknowledged operation is in the log: entries = the KMS calls made.
entries=$(curl -sf "$FULL/v1/log/checkpoint" -H "authorization: Bearer $TOKEN" | sed -n 2p)
echo
echo "log entries after the run: $entries"

# Start to ready of `aunsorm serve --dev`: from exec to the first 200 from health.
times=()
for _ in 1 2 3 4 5; do
  t0=$(date +%s%N)
  "$BIN" serve --dev --listen 127.0.0.1:0 >"$work/dev.out" 2>/dev/null &
  dpid=$!
  a=$(addr_of "$work/dev.out")
  until curl -sf -o /dev/null "$a/v1/sys/health"; do sleep 0.001; done
  t1=$(date +%s%N)
  kill "$dpid"; wait "$dpid" 2>/dev/null || true
  rm -f "$work/dev.out"
  times+=($(( (t1 - t0) / 1000000 )))
done
echo "serve --dev start to ready (ms, 5 runs): ${times[*]}"
