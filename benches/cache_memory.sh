#!/usr/bin/env bash
# Memory of a full verified-token cache under large tokens: 11 000 distinct
# valid tokens of about 16 KiB each (the largest max_token_size accepts),
# each sent a few times, against the release binary. Prints the server's
# RSS before and after, with the default byte budget and with the budget
# effectively off (what an entry-count bound alone gives).
#
#   benches/cache_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TOKENS=${TOKENS:-11000}
IDP_PREFIX=()
source benches/common.sh
start_idp --tokens "$TOKENS" --pad 11700
size=$(head -c 20000 "$work/token" | wc -c)
echo "tokens: $TOKENS of $size bytes"
write_pool_lua "$work/pool.lua" /api/private-scoped

rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

printf '| token_cache_max_bytes | RSS idle MiB | RSS after MiB | non-2xx |\n|---|---:|---:|---:|\n'
for budget in 16777216 1099511627776; do
  port=$(free_port)
  env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" \
    ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
    ROCKET_AUTH="{token_cache_max_bytes=$budget}" "$server_bin" >/dev/null 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_for "http://127.0.0.1:$port/health"
  before=$(rss "$pid")
  out=$(wrk -t1 -c16 -d"${DURATION:-8s}" -s "$work/pool.lua" "http://127.0.0.1:$port/")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out"); bad=${bad:-0}
  printf '| %s | %s | %s | %s |\n' "$budget" "$before" "$(rss "$pid")" "$bad"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
