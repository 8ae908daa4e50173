#!/usr/bin/env bash
# `serve --dev` of two builds and the bare baseline, all three running side by side,
# measured in alternating cells (old, new, bare; ROUNDS times): req/s and each server's
# user and system CPU time per request (from /proc). The three share the machine at the
# same moments, which `server_ab.sh` (one server per round, restarted) does not give;
# on this 2-vCPU machine that pairing is what lets a change of a few percent show.
# Prints every cell, then the medians.
#
#   bash scripts/dev_ab.sh OLD_BIN NEW_BIN [ed|aes|health] [ROUNDS]
#   AUNSORM_AB_CONNS=16 AUNSORM_AB_SECS=5 bash scripts/dev_ab.sh /tmp/aunsorm-main target/release/aunsorm aes 6
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN [ed|aes|health] [ROUNDS]" >&2; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
OP=${3:-aes}
ROUNDS=${4:-6}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
cargo build --release -q -p aunsorm-server --example bare
BARE=target/release/examples/bare
CONNS=${AUNSORM_AB_CONNS:-64}
SECS=${AUNSORM_AB_SECS:-5}
HZ=$(getconf CLK_TCK)
work=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
declare -A PID ADDR TOK
start() { # name bin
  if [ "$1" = bare ]; then "$BARE" 127.0.0.1:0 >"$work/$1.out" 2>/dev/null &
  else "$2" serve --dev --listen 127.0.0.1:0 >"$work/$1.out" 2>"$work/$1.log" &
  fi
  PID[$1]=$!
  pids+=("${PID[$1]}")
  for _ in $(seq 1 500); do grep -q '^AUNSORM_ADDR=' "$work/$1.out" && break; sleep 0.01; done
  ADDR[$1]=$(sed -n 's/^AUNSORM_ADDR=//p' "$work/$1.out")
  TOK[$1]=$(sed -n 's/^AUNSORM_TOKEN=//p' "$work/$1.out")
  TOK[$1]=${TOK[$1]:-none}
  [ "$1" = bare ] && return
  for k in ed:ed25519 aes:aes-256-gcm; do
    curl -sf -o /dev/null -X POST "${ADDR[$1]}/v1/kms/keys" -H "authorization: Bearer ${TOK[$1]}" \
      -H 'content-type: application/json' -d "{\"name\":\"${k%%:*}\",\"alg\":\"${k#*:}\"}"
  done
}
start old "$OLD"
start new "$NEW"
start bare
KIB=$(head -c 1024 /dev/zero | tr '\0' 'a' | base64 -w0)
case $OP in
  health) export METHOD=GET BODY=""; path=/v1/sys/health ;;
  ed) export METHOD=POST BODY="{\"key\":\"ed\",\"message\":\"$KIB\"}"; path=/v1/kms/sign ;;
  aes) export METHOD=POST BODY="{\"key\":\"aes\",\"plaintext\":\"$KIB\"}"; path=/v1/kms/encrypt ;;
  *) echo "unknown op $OP" >&2; exit 2 ;;
esac
echo "| server | op | conns | round | req/s | user µs/req | system µs/req | non-2xx |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  for who in old new bare; do
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/${PID[$who]}/stat")
    out=$(TOKEN=${TOK[$who]} wrk -t2 -c"$CONNS" -d"${SECS}s" -s scripts/wrk_request.lua "${ADDR[$who]}$path")
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/${PID[$who]}/stat")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    non=$(echo "$out" | awk '/Non-2xx/ {print $4}')
    awk -v w="$who" -v op="$OP" -v c="$CONNS" -v r="$r" -v rps="$rps" -v n="$n" -v hz="$HZ" \
      -v du=$((u1 - u0)) -v ds=$((s1 - s0)) -v non="${non:-0}" \
      'BEGIN { printf "| %s | %s | %s | %s | %s | %.2f | %.2f | %s |\n", w, op, c, r, rps, du * 1e6 / hz / n, ds * 1e6 / hz / n, non }'
  done
done | tee "$work/cells"
echo
echo "| server | median req/s | median user µs/req | median system µs/req |"
echo "|---|---|---|---|"
for who in old new bare; do
  awk -F'|' -v w="$who" '$2 == " " w " " { print $6, $7, $8 }' "$work/cells" |
    sort -n -k1,1 | awk -v w="$who" '{ r[NR] = $1; u[NR] = $2; s[NR] = $3 }
      END { m = int((NR + 1) / 2); printf "| %s | %s |", w, r[m] }'
  for col in 7 8; do
    awk -F'|' -v w="$who" -v c="$col" '$2 == " " w " " { print $c + 0 }' "$work/cells" | sort -n |
      awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); printf " %.2f |", v[m] }'
  done
  echo
done
