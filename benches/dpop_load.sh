#!/usr/bin/env bash
# DPoP load figures: the release binary pinned to CPU 0, the load generator
# (benches/dpop_load.rs: a fresh ES256 proof signed per request) pinned to
# CPU 1, 64 keep-alive connections on loopback, against the loopback IdP.
#
#   benches/dpop_load.sh                    # 10 s per case
#   DURATION=30 CONNECTIONS=128 benches/dpop_load.sh
#
# Cases, all on /api/private-scoped except the first two: /api/public;
# /api/public with a proof signed per request (what the generator can do on
# its CPU, so that it is known not to be the bottleneck); a bearer
# token (cache hit); a DPoP-bound token with a fresh proof per request
# (token cache hit, in-process replay cache); the same with the replay
# store on a real redis-server (pinned to CPU 1 beside the generator).
# Then the targets of issue 11: DPoP >= 70% of 1/(1/public + 1/ES256
# verifications per second), and Redis >= 60% of in-process.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}

IDP_PREFIX=(taskset -c 1)
source benches/common.sh
cargo build --release --quiet --example dpop_load
command -v redis-server >/dev/null || {
  echo "installing redis-server (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}
start_idp --tokens 1

redis_port=$(free_port)
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
pids+=($!)

server_pid=""
start_server() {
  api_port=$(free_port)
  taskset -c 0 env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
    ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
    ROCKET_AUTH="$1" "$server_bin" >/dev/null 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for "http://127.0.0.1:$api_port/health"
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

declare -A RPS
printf '| case | req/s | p50 ms | p99 ms | non-2xx | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|\n'
run() {
  local name=$1 mode=$2 path=$3 token=$4
  local out
  out=$(taskset -c 1 target/release/examples/dpop_load --url "http://127.0.0.1:$api_port$path" \
    --host api.example.test --htu "https://api.example.test$path" --mode "$mode" \
    --token "$token" --key "$work/dpop_key.pk8" --connections "$CONNECTIONS" --duration "$DURATION")
  local rps p50 p99 bad rss
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$out")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$out")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")
  bad=$(sed -E 's/.*non_2xx=([0-9]+).*/\1/' <<<"$out")
  rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status")
  RPS[$name]=$rps
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$bad" "$rss"
}

dpop='{dpop={public_url="https://api.example.test"}}'
start_server "$dpop"
run "public" none /api/public "$work/token"
# The generator's own ceiling: a proof signed per request, which /api/public ignores.
run "public, a proof signed per request (the generator's ceiling)" dpop /api/public "$work/dpop_token"
run "scoped, bearer token (cache hit)" bearer /api/private-scoped "$work/token"
run "scoped, DPoP, fresh proof each (cache hit, in-process replay cache)" dpop /api/private-scoped "$work/dpop_token"
stop_server
start_server "{dpop={public_url=\"https://api.example.test\",replay_store=\"redis://127.0.0.1:$redis_port/0\"}}"
run "scoped, DPoP, replay store on Redis" dpop /api/private-scoped "$work/dpop_token"
stop_server

verify=$(taskset -c 0 target/release/examples/dpop_load --verify-rate 3 | sed -E 's/.*=([0-9.]+)/\1/')
echo
awk -v public="${RPS[public]}" -v verify="$verify" \
    -v dpop="${RPS[scoped, DPoP, fresh proof each (cache hit, in-process replay cache)]}" \
    -v redis="${RPS[scoped, DPoP, replay store on Redis]}" 'BEGIN {
  bound = 1 / (1 / public + 1 / verify)
  printf "ES256 verifications/s on CPU 0: %.0f; bound 1/(1/public + 1/verify): %.0f req/s\n", verify, bound
  printf "DPoP: %.0f req/s = %.0f%% of the bound (target >= 70%%)\n", dpop, 100 * dpop / bound
  printf "Redis store: %.0f req/s = %.0f%% of in-process (target >= 60%%)\n", redis, 100 * redis / dpop
}'
