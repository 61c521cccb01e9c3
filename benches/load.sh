#!/usr/bin/env bash
# Load figures: the release binary pinned to CPU 0, wrk pinned to CPU 1, both
# on loopback, against a loopback identity provider (examples/loopback_idp.rs).
#
#   benches/load.sh                 # 10 s per case, 64 connections
#   DURATION=30s CONNECTIONS=128 benches/load.sh
#
# Cases: /api/public; /api/private-scoped with one reused token (cache hit);
# with a pool of 1000 distinct tokens; and the miss path (one token,
# token_cache_capacity = 0, so every request verifies the RS256 signature);
# and three issuers (an `issuers` list) with their tokens in rotation, all
# cache hits, to compare with the one-issuer hit path.
# Prints req/s, p50 and p99 latency, non-2xx answers and the server's peak
# RSS, then the ratios the README reports. Exits by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}

IDP_PREFIX=(taskset -c 1)
source benches/common.sh
start_idp --tokens 1000 --issuers 3

cat > "$work/one.lua" <<LUA
local f = io.open("$work/token"); local token = f:read("*l"); f:close()
wrk.headers["Authorization"] = "Bearer " .. token
LUA
write_pool_lua "$work/pool.lua"
write_pool_lua "$work/rotation.lua" "" "$work/rotation"
# The same script over three tokens of one issuer: the baseline for the
# three-issuer case (wrk's per-request Lua costs the same in both).
head -n 3 "$work/tokens" > "$work/rotation1"
write_pool_lua "$work/rotation1.lua" "" "$work/rotation1"

server_pid=""
# start_server AUTH [ISSUER_BASE_URL]: the release binary with ROCKET_AUTH=AUTH
# (ISSUER_BASE_URL defaults to the loopback IdP; "none" sets none).
start_server() {
  api_port=$(free_port)
  local base=${2:-http://127.0.0.1:$idp_port/}
  local issuer_env=(ISSUER_BASE_URL="$base")
  [ "$base" = none ] && issuer_env=()
  taskset -c 0 env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
    "${issuer_env[@]}" AUDIENCE=https://api.example.test \
    ROCKET_AUTH="$1" "$server_bin" >/dev/null 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for "http://127.0.0.1:$api_port/health"
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

# to_ms "1.23ms" / "850.00us" / "1.02s" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

declare -A RPS
printf '| case | req/s | p50 ms | p99 ms | non-2xx | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|\n'
run() {
  local name=$1 path=$2 script=${3:-}
  local args=(-t1 -c"$CONNECTIONS" -d"$DURATION" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  curl -sf -o /dev/null "http://127.0.0.1:$api_port$path" -H "Authorization: Bearer $(cat "$work/token")"
  local out; out=$(taskset -c 1 wrk "${args[@]}" "http://127.0.0.1:$api_port$path")
  local rps p50 p99 bad rss
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out"); bad=${bad:-0}
  rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status")
  RPS[$name]=$rps
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$bad" "$rss"
}

start_server "{}"
run "public" /api/public
run "scoped, one token (cache hit)" /api/private-scoped "$work/one.lua"
run "scoped, 1000 tokens" /api/private-scoped "$work/pool.lua"
run "scoped, 3 tokens of 1 issuer in rotation (cache hit)" /api/private-scoped "$work/rotation1.lua"
stop_server

start_server "{token_cache_capacity=0}"
run "scoped, cache off (miss path)" /api/private-scoped "$work/one.lua"
stop_server

start_server "{issuers=$(cat "$work/issuers")}" none
run "scoped, 3 issuers in rotation (cache hit)" /api/private-scoped "$work/rotation.lua"
stop_server

public=${RPS[public]}
hit=${RPS["scoped, one token (cache hit)"]}
miss=${RPS["scoped, cache off (miss path)"]}
echo
three=${RPS["scoped, 3 issuers in rotation (cache hit)"]}
one=${RPS["scoped, 3 tokens of 1 issuer in rotation (cache hit)"]}
awk -v h="$hit" -v p="$public" 'BEGIN { printf "hit path / public: %.1f%% (target >= 90%%)\n", 100 * h / p }'
awk -v t="$three" -v o="$one" 'BEGIN { printf "3 issuers / 1 issuer, hit path, same wrk script: %.1f%% (target >= 95%%)\n", 100 * t / o }'

# The raw RS256 verification rate on one core, from `cargo bench --bench verify`.
estimate=target/criterion/raw_RS256/new/estimates.json
if [ -f "$estimate" ]; then
  raw_ns=$(python3 -c "import json; print(json.load(open('$estimate'))['mean']['point_estimate'])")
  awk -v m="$miss" -v p="$public" -v ns="$raw_ns" 'BEGIN {
    raw = 1e9 / ns; bound = 1 / (1 / p + 1 / raw)
    printf "raw RS256 verify: %.0f/s on one core; bound 1/(1/public + 1/raw) = %.0f req/s\n", raw, bound
    printf "miss path / bound: %.1f%% (target >= 80%%)\n", 100 * m / bound }'
  # This layer's cost over the crypto, per verification, from the same bench.
  for alg in RS256 PS256 ES256 EdDSA; do
    python3 - "$alg" <<'PY'
import json, sys
alg = sys.argv[1]
mean = lambda case: json.load(open(f"target/criterion/{case}_{alg}/new/estimates.json"))["mean"]["point_estimate"]
try:
    raw, miss, hit = mean("raw"), mean("miss"), mean("hit")
    print(f"{alg}: raw {raw/1000:.1f} us, miss {miss/1000:.1f} us (x{miss/raw:.2f} of raw), hit {hit:.0f} ns")
except FileNotFoundError:
    pass
PY
  done
else
  echo "(run 'cargo bench --bench verify' first to compare the miss path with raw RS256 verification)"
fi
