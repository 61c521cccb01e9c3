#!/usr/bin/env bash
# Half-closed slow readers against an open-files limit of 256: 600
# connections that pipeline 1000 requests each, never read the answers
# (a 4 KiB receive window) and then send FIN, so that the server's side
# sits in CLOSE-WAIT with answers it can't send. Then: how many
# descriptors does the server hold, and are 5 honest requests served?
#
#   benches/slow_readers.sh
#   SERVER_BIN=/path/to/other/auth0-rocket-api benches/slow_readers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

IDP_PREFIX=()
source benches/common.sh
start_idp --tokens 1

api_port=$(free_port)
(ulimit -n 256 && exec env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
  ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
  "$server_bin" >/dev/null 2>&1) &
# The subshell execs env, which execs the server: $! is the server.
server=$!
pids+=($server)
wait_for "http://127.0.0.1:$api_port/health"

python3 - "$api_port" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
request = f"GET /api/public HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode() * 1000
held = []
for _ in range(600):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    held.append(s)
time.sleep(60)
PY
pids+=($!)
sleep 15
echo "descriptors the server holds (limit 256): $(ls "/proc/$server/fd" | wc -l)"
served=0
for _ in 1 2 3 4 5; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$api_port/api/public" || true)
  [ "$code" = 200 ] && served=$((served + 1))
done
echo "honest requests served: $served of 5"
