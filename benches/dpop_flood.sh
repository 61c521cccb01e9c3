#!/usr/bin/env bash
# One DPoP token holder floods the replay cache with proofs dated at the
# edge of the leeway (iat = now + 29 s) while an honest client, with its
# own key and token, sends fresh proofs: what does the honest client get?
# The server on CPU 0 with the shipped DPoP defaults (replay cache of
# 100 000 proofs, leeway 30 s), the flooder (benches/dpop_load.rs,
# --iat-offset 29) and the honest client on CPU 1.
#
#   benches/dpop_flood.sh                           # 40 s of flood first
#   SERVER_BIN=/path/to/other/auth0-rocket-api benches/dpop_flood.sh
#
# Prints the flooder's rate and the honest client's answers: requests,
# non-2xx. Exits by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

FLOOD=${FLOOD:-40}
HONEST=${HONEST:-15}

IDP_PREFIX=(taskset -c 1)
source benches/common.sh
cargo build --release --quiet --example dpop_load
start_idp --tokens 1

api_port=$(free_port)
taskset -c 0 env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
  ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
  ROCKET_AUTH='{dpop={public_url="https://api.example.test"}}' "$server_bin" >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$api_port/health"

load() {
  taskset -c 1 target/release/examples/dpop_load --url "http://127.0.0.1:$api_port/api/private" \
    --host api.example.test --htu https://api.example.test/api/private --mode dpop "$@"
}
load --key "$work/dpop_key.pk8" --token "$work/dpop_token" --iat-offset 29 \
  --connections 32 --duration $((FLOOD + HONEST)) >"$work/flood" &
flooder=$!
sleep "$FLOOD"
honest=$(load --key "$work/dpop_key2.pk8" --token "$work/dpop_token2" --connections 1 --duration "$HONEST")
wait "$flooder"
echo "flooder (iat = now + 29 s): $(cat "$work/flood")"
echo "honest client, after ${FLOOD} s of flood: $honest"
