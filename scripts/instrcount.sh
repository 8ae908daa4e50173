#!/usr/bin/env bash
# Instructions per request of `aunsorm serve` binaries, counted by valgrind's callgrind:
# a comparison that the machine's speed does not move. (On this shared 2-vCPU machine
# the same binary's CPU time per request swings by a third between runs, which hides
# changes of a few percent; the instruction count of the same work repeats to within
# about 1%.) Each binary serves on a fresh store (SQLite keys and log, token auth,
# request log); wrk warms it up, then callgrind counts a window of requests. Printed
# per request: all threads, the log's committer (its thread, whose share depends on
# how many entries each batch holds, which valgrind's one-thread-at-a-time execution
# changes), and the rest: the request path on the runtime threads. Only user-space
# instructions are counted, not the kernel's. Needs valgrind (apt-get install valgrind).
#
#   bash scripts/instrcount.sh OP BIN...        # OP: health, ed (Ed25519 sign 1 KiB)
#                                               #     or aes (AES-256-GCM encrypt 1 KiB)
#   AUNSORM_IC_SECS=8 AUNSORM_IC_CONNS=8 bash scripts/instrcount.sh ed /tmp/old target/release/aunsorm
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 health|ed|aes BIN..." >&2; exit 2; }
OP=$1
shift
cd "$(dirname "$0")/.."
for t in valgrind callgrind_control callgrind_annotate wrk; do
  command -v "$t" >/dev/null || { echo "$t is needed (apt-get install valgrind wrk)" >&2; exit 2; }
done
SECS=${AUNSORM_IC_SECS:-8}
CONNS=${AUNSORM_IC_CONNS:-8}
LUA=$PWD/scripts/wrk_request.lua
KIB=$(head -c 1024 /dev/zero | tr '\0' 'a' | base64 -w0)
work=$(mktemp -d)
vp=
cleanup() {
  [ -n "$vp" ] && kill "$vp" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export AUNSORM_PASSPHRASE=instrcount-passphrase

echo "| binary | op | requests counted | instructions/request | committer | request path |"
echo "|---|---|---|---|---|---|"
for bin in "$@"; do
  bin=$(realpath "$bin")
  rm -rf "$work"/*
  "$bin" --store "$work/store" --format json operator init >"$work/init.json" 2>/dev/null
  TOKEN=$(sed -n 's/.*"root_token":"\([^"]*\)".*/\1/p' "$work/init.json")
  export TOKEN
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bin" --store "$work/store" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
  vp=$!
  for _ in $(seq 1 600); do grep -q '^AUNSORM_ADDR=' "$work/out" 2>/dev/null && break; sleep 0.1; done
  ADDR=$(sed -n 's/^AUNSORM_ADDR=//p' "$work/out")
  [ -n "$ADDR" ] || { echo "$bin did not start under valgrind" >&2; exit 1; }
  for k in ed:ed25519 aes:aes-256-gcm; do
    c=
    for _ in $(seq 1 20); do
      c=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ADDR/v1/kms/keys" \
        -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
        -d "{\"name\":\"${k%%:*}\",\"alg\":\"${k#*:}\"}")
      [ "$c" = 201 ] && break
      sleep 0.5
    done
    [ "$c" = 201 ] || { echo "cannot create key ${k%%:*}: HTTP $c" >&2; exit 1; }
  done
  case $OP in
    health) export METHOD=GET BODY=""; url=$ADDR/v1/sys/health ;;
    ed) export METHOD=POST BODY="{\"key\":\"ed\",\"message\":\"$KIB\"}"; url=$ADDR/v1/kms/sign ;;
    aes) export METHOD=POST BODY="{\"key\":\"aes\",\"plaintext\":\"$KIB\"}"; url=$ADDR/v1/kms/encrypt ;;
    *) echo "unknown op $OP" >&2; exit 2 ;;
  esac
  wrk -t1 -c"$CONNS" -d3s -s "$LUA" "$url" >/dev/null
  callgrind_control -z "$vp" >/dev/null 2>&1
  n=$(wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$LUA" "$url" | awk '/requests in/ { print $1 }')
  callgrind_control -d "$vp" >/dev/null 2>&1
  sleep 1
  kill "$vp"
  wait "$vp" 2>/dev/null || true
  vp=
  total=$(sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$work/cg.out.1" | head -1)
  committer=$(callgrind_annotate --inclusive=yes "$work/cg.out.1" 2>/dev/null |
    { grep 'aunsorm_log::log::Committer::run \[' || true; } | head -1 | awk '{ gsub(",", "", $1); print $1 }')
  committer=${committer:-0}
  echo "| $(basename "$bin") | $OP | $n | $((total / n)) | $((committer / n)) | $(((total - committer) / n)) |"
done
