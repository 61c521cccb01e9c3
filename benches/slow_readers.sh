#!/usr/bin/env bash
# Half-closed slow readers against an open-files limit of 256: 600
# connections that pipeline 1000 requests each, never read the answers
# (a 4 KiB receive window) and then send FIN (benches/slow_readers.rs), so
# that the server's side can sit in CLOSE-WAIT with answers it can't send.
# Then: how many descriptors does the server hold, in which TCP states,
# and are 5 honest requests served (5 s each)?
#
#   benches/slow_readers.sh
#   SERVER_BIN=target/debug/auth0-rocket-api benches/slow_readers.sh
#
# hyper gives up on such a connection by itself when it reads the FIN
# while it can still read; a slow server (a debug build, as `cargo run`
# runs) has its write stall first and then never reads it.
set -euo pipefail
cd "$(dirname "$0")/.."

IDP_PREFIX=()
source benches/common.sh
cargo build --release --quiet --example slow_readers
start_idp --tokens 1

api_port=$(free_port)
(ulimit -n 256 && exec env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
  ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
  "$server_bin" >/dev/null 2>&1) &
# The subshell execs env, which execs the server: $! is the server.
server=$!
pids+=($server)
wait_for "http://127.0.0.1:$api_port/health"

target/release/examples/slow_readers --port "$api_port" --count 600 --requests 1000 --hold 60 &
pids+=($!)
sleep 15
states=$(ss -tn "sport = :$api_port" | awk 'NR > 1 { print $1 }' | sort | uniq -c | xargs)
echo "descriptors the server holds (limit 256): $(ls "/proc/$server/fd" | wc -l); its sockets: ${states:-none}"
served=0
for _ in 1 2 3 4 5; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$api_port/api/public" || true)
  [ "$code" = 200 ] && served=$((served + 1))
done
echo "honest requests served: $served of 5"
