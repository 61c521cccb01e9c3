#!/usr/bin/env bash
# What a request that carries no valid token costs the server when it
# brings the dearest DPoP proof it can: a junk access token and a proof
# with an RSA-8192 key, exponent 2^33 - 1, and a junk signature (3.6 KB,
# the same bytes every time). Beside it, /api/public and a bearer request
# with the same junk token. The server on CPU 0, wrk on CPU 1; the
# server's CPU time (utime + stime from /proc) divided by the requests.
#
#   benches/dpop_junk.sh
#   SERVER_BIN=/path/to/other/auth0-rocket-api benches/dpop_junk.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}

IDP_PREFIX=(taskset -c 1)
source benches/common.sh
start_idp --tokens 1

api_port=$(free_port)
taskset -c 0 env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$api_port" \
  ISSUER_BASE_URL="http://127.0.0.1:$idp_port/" AUDIENCE=https://api.example.test \
  ROCKET_AUTH='{dpop={public_url="https://api.example.test"}}' "$server_bin" >/dev/null 2>&1 &
server=$!
pids+=($server)
wait_for "http://127.0.0.1:$api_port/health"

# The junk token: a real token's header and payload, a signature of junk.
token=$(head -n 1 "$work/tokens")
junk="${token%.*}.c2lnbmF0dXJl"
python3 - "$work" <<'PY'
import base64, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
n = bytearray(b"\xc3" * 1024); n[-1] |= 1                 # 8192 bits, odd
e = (2**33 - 1).to_bytes(5, "big")                         # 33 bits, odd
header = {"typ": "dpop+jwt", "alg": "RS256", "jwk": {"kty": "RSA", "n": b64(bytes(n)), "e": b64(e)}}
claims = {"jti": "junk", "htm": "GET", "htu": "https://api.example.test/api/private", "iat": int(time.time())}
proof = ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(b"\x5a" * 1024)])
open(sys.argv[1] + "/proof", "w").write(proof)
PY
cat > "$work/dpop.lua" <<LUA
local f = io.open("$work/proof"); local proof = f:read("*l"); f:close()
wrk.headers["Authorization"] = "DPoP $junk"
wrk.headers["DPoP"] = proof
LUA
cat > "$work/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $junk"
LUA

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
ticks=$(getconf CLK_TCK)
printf '| request | req/s | server CPU per request |\n|---|---:|---:|\n'
run() {
  local name=$1 path=$2 script=${3:-}
  local before after out requests
  before=$(cpu_ticks)
  out=$(taskset -c 1 wrk -t1 -c64 -d"$DURATION" ${script:+-s "$script"} \
    -H "Host: api.example.test" "http://127.0.0.1:$api_port$path")
  after=$(cpu_ticks)
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  awk -v name="$name" -v r="$requests" -v t=$((after - before)) -v hz="$ticks" -v d="${DURATION%s}" \
    'BEGIN { printf "| %s | %.1fk | %.1f µs |\n", name, r / d / 1000, t / hz / r * 1e6 }'
}
run "/api/public" /api/public
run "junk token, Bearer" /api/private "$work/bearer.lua"
run "junk token, DPoP proof with an RSA-8192 key (e = 2^33 - 1)" /api/private "$work/dpop.lua"
