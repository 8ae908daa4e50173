#!/usr/bin/env bash
# Side-by-side load comparison of two `aunsorm` binaries (say, main and a change), in
# alternating rounds so that both see the same machine: each round starts each binary's
# server on a fresh store (SQLite keys, SQLite log, token auth, request log at
# AUNSORM_AB_LOG_LEVEL, default info), runs wrk against it, and prints, for each cell,
# req/s, wrk's p99, the server's own p99 and p99.9 (from its request log, without wrk's
# coordinated-omission correction; "-" at `warn`), the CPU ticks the hypervisor stole
# during the cell, and the server's CPU time per request by thread (the runtime
# workers, the log's committer, the request-log writer), read from /proc. With
# AUNSORM_AB_DEV=1 each round starts `serve --dev` instead (keys and log in memory, no
# disk): the request path alone, without the durable log's share.
#
#   bash scripts/server_ab.sh OLD_BIN NEW_BIN
#   AUNSORM_AB_OPS="ed aes" AUNSORM_AB_CONNS="1 16 64" AUNSORM_AB_ROUNDS=3 AUNSORM_AB_SECS=6 \
#     bash scripts/server_ab.sh /tmp/aunsorm-main target/release/aunsorm
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
OPS=${AUNSORM_AB_OPS:-"ed aes"}
CONNS=${AUNSORM_AB_CONNS:-64}
ROUNDS=${AUNSORM_AB_ROUNDS:-3}
SECS=${AUNSORM_AB_SECS:-6}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
HZ=$(getconf CLK_TCK)
KIB=$(head -c 1024 /dev/zero | tr '\0' 'a' | base64 -w0)

start() { # bin
  if [ "${AUNSORM_AB_DEV:-0}" = 1 ]; then
    : >"$work/out"
    "$1" serve --dev --listen 127.0.0.1:0 --log-level "${AUNSORM_AB_LOG_LEVEL:-info}" \
      >"$work/out" 2>"$work/log" &
    pid=$!
    for _ in $(seq 1 500); do grep -q '^AUNSORM_TOKEN=' "$work/out" && break; sleep 0.01; done
    TOKEN=$(sed -n 's/^AUNSORM_TOKEN=//p' "$work/out")
    export TOKEN
  else
    rm -rf "$work/store"
    AUNSORM_PASSPHRASE=ab-passphrase "$1" --store "$work/store" --format json operator init >"$work/init.json" 2>/dev/null
    TOKEN=$(sed -n 's/.*"root_token":"\([^"]*\)".*/\1/p' "$work/init.json")
    export TOKEN
    : >"$work/out"
    AUNSORM_PASSPHRASE=ab-passphrase "$1" --store "$work/store" serve --listen 127.0.0.1:0 \
      --log-level "${AUNSORM_AB_LOG_LEVEL:-info}" >"$work/out" 2>"$work/log" &
    pid=$!
  fi
  for _ in $(seq 1 500); do grep -q '^AUNSORM_ADDR=' "$work/out" && break; sleep 0.01; done
  ADDR=$(sed -n 's/^AUNSORM_ADDR=//p' "$work/out")
  for k in ed:ed25519 aes:aes-256-gcm; do
    curl -sf -o /dev/null -X POST "$ADDR/v1/kms/keys" -H "authorization: Bearer $TOKEN" \
      -H 'content-type: application/json' -d "{\"name\":\"${k%%:*}\",\"alg\":\"${k#*:}\"}"
  done
}

# CPU ticks per thread name of the server.
threads() { for t in /proc/"$pid"/task/*; do echo "$(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done 2>/dev/null |
  awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort; }

cell() { # label op conns
  case $2 in
    health) export METHOD=GET BODY=""; url=$ADDR/v1/sys/health ;;
    ed) export METHOD=POST BODY="{\"key\":\"ed\",\"message\":\"$KIB\"}"; url=$ADDR/v1/kms/sign ;;
    aes) export METHOD=POST BODY="{\"key\":\"aes\",\"plaintext\":\"$KIB\"}"; url=$ADDR/v1/kms/encrypt ;;
    *) echo "unknown op $2" >&2; exit 2 ;;
  esac
  local t=2; [ "$3" -lt 2 ] && t=1
  threads >"$work/before"
  local logged steal0
  logged=$(wc -c <"$work/log")
  steal0=$(steal_ticks)
  out=$(wrk -t"$t" -c"$3" -d"${SECS}s" -s scripts/wrk_request.lua --latency "$url")
  threads >"$work/after"
  local stolen=$(($(steal_ticks) - steal0))
  local n rps p99 non sp99 sp999
  read -r sp99 sp999 < <(server_percentiles "$work/log" "$logged")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  cpu=$(join "$work/before" "$work/after" | awk -v n="$n" -v hz="$HZ" \
    '{d = $3 - $2; if (d > 0) {printf "%s %.1f, ", $1, d * 1e6 / hz / n; t += d}} END {printf "total %.1f", t * 1e6 / hz / n}')
  echo "| $1 | $2 | $3 | $rps | $p99 | $sp99 | $sp999 | $stolen | ${non:-0} | $cpu |"
}

echo "| binary | op | conns | req/s | wrk p99 | server p99 ms | server p99.9 ms | steal ticks | non-2xx | server CPU µs/req by thread |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  for which in old new; do
    if [ $which = old ]; then bin=$OLD; else bin=$NEW; fi
    start "$bin"
    for op in $OPS; do for c in $CONNS; do cell "$which (round $r)" "$op" "$c"; done; done
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  done
done
