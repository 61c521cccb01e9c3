# Shared by load.sh and soak.sh (sourced, not run): wrk, the release
# binaries, a scratch directory cleaned up on exit, and the loopback IdP.

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin auth0-rocket-api --example loopback_idp
# The service binary under test; SERVER_BIN=… measures another build (an
# older commit's, for before/after figures) against the same tools.
server_bin=${SERVER_BIN:-target/release/auth0-rocket-api}

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# start_idp ARGS...: the loopback identity provider on a free port, with
# its tokens written to $work; sets $idp_port.
start_idp() {
  idp_port=$(free_port)
  "${IDP_PREFIX[@]}" target/release/examples/loopback_idp --port "$idp_port" --dir "$work" "$@" >"$work/idp.log" &
  pids+=($!)
  wait_for "http://127.0.0.1:$idp_port/.well-known/openid-configuration"
  for _ in $(seq 1 100); do [ -s "$work/tokens" ] && break; sleep 0.1; done
}

# write_pool_lua FILE PATH [TOKENS]: a wrk script cycling through the
# tokens in TOKENS (default $work/tokens) on PATH (empty: the URL's own).
write_pool_lua() {
  local path=${2:+\"$2\"}
  cat > "$1" <<LUA
local tokens = {}
for line in io.lines("${3:-$work/tokens}") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format(nil, ${path:-nil}, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA
}
