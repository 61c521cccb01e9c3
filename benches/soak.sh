#!/usr/bin/env bash
# Soak: the release binary under steady load for several minutes while its
# identity provider flips between up, 500s, hanging, garbage, closed
# connections and a rotated-in extra key (examples/loopback_idp.rs --chaos).
#
#   benches/soak.sh                   # 180 s, 32 connections, flip every 2 s
#   SOAK_SECONDS=600 benches/soak.sh
#
# Checks, and exits non-zero unless: zero non-2xx answers (no 5xx, and no
# valid token rejected: the tokens' key stays published throughout), and a
# flat RSS (growth after warm-up under 8 MiB). Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-180}
CONNECTIONS=${CONNECTIONS:-32}
FLIP=${FLIP:-2}

IDP_PREFIX=()
source benches/common.sh
start_idp --tokens 200 --chaos "$FLIP"

api_port=$(free_port)
# Short refresh and cooldown so the flips are felt, not slept through.
ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
  ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
  ROCKET_AUTH="{jwks_cache_max_age=1,jwks_cooldown=0.5,jwks_timeout=1,token_cache_capacity=100}" \
  ROCKET_METRICS=true "$server_bin" >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
wait_for "http://127.0.0.1:$api_port/health"

write_pool_lua "$work/pool.lua" /api/private-scoped

rss() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }
( for _ in $(seq 1 $((SOAK_SECONDS / 10))); do sleep 10; echo "$(date +%s) $(rss)"; done ) >"$work/rss" &
pids+=($!)

out=$(wrk -t1 -c"$CONNECTIONS" -d"${SOAK_SECONDS}s" --latency -s "$work/pool.lua" "http://127.0.0.1:$api_port")
echo "$out"
sleep 1

requests=$(awk '/requests in/ { print $1 }' <<<"$out")
bad=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out"); bad=${bad:-0}
errors=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out"); errors=${errors:-0}
mapfile -t samples < <(awk '{ print $2 }' "$work/rss")
first=${samples[1]:-${samples[0]}}
last=${samples[-1]}
fetches=$(curl -s "http://127.0.0.1:$api_port/metrics" | awk '/^jwks_fetches_total/ { printf "%s=%s ", $1, $2 }')
flips=$(grep -c '^chaos' "$work/idp.log" || true)

echo
echo "soak: ${SOAK_SECONDS}s, $requests requests, $flips identity-provider flips"
echo "non-2xx answers: $bad; socket errors: $errors"
echo "RSS after warm-up: $((first / 1024)) MiB; at the end: $((last / 1024)) MiB"
echo "JWKS fetches: $fetches"
status=0
[ "$bad" -eq 0 ] || { echo "FAIL: $bad non-2xx answers"; status=1; }
[ "$errors" -eq 0 ] || { echo "FAIL: $errors socket errors"; status=1; }
[ $((last - first)) -lt $((8 * 1024)) ] || { echo "FAIL: RSS grew by $(((last - first) / 1024)) MiB"; status=1; }
[ "$status" -eq 0 ] && echo "PASS"
exit "$status"
