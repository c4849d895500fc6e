# Shared by the end-to-end scripts; sourced, never run (.ci/run runs only
# tests/e2e/*.sh). A script sets `name` (e.g. `name=full_disk`) before
# sourcing this file. It gives:
#   here, repo        the folder of the scripts, the repository's root
#   give_up MESSAGE   a missing prerequisite or a broken set-up is a
#                     failure, reported like any other, and the end
#   release_binary    sets `bin`: $PROTEST_LETTER_BIN, else the release
#                     binary built here with `cargo build --release`
#   check WHAT CMD…   runs CMD, prints `ok - WHAT` or `not ok - WHAT` and
#                     counts it in `passed` / `failed`
#   summary           prints the summary line `e2e NAME: N passed, M failed`
#   need_aiosmtpd     installs the python3 module aiosmtpd if it is missing
#   start_sink OUT DIR  starts tests/e2e/sink_server.py on 127.0.0.1, which
#                     writes each message it accepts to OUT (JSON Lines),
#                     its port to DIR/port and its log to DIR/server.log;
#                     sets `server_pid` and `port`
#   stop_sink         stops it (the scripts' clean-up does too)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=$(cd "$here/../.." && pwd)

give_up() {
  echo "e2e $name: $1" >&2
  echo "e2e $name: 0 passed, 1 failed"
  exit 1
}

release_binary() {
  bin=${PROTEST_LETTER_BIN:-}
  if [ -z "$bin" ]; then
    (cd "$repo" && cargo build --release) || give_up "cargo build --release failed"
    local target_dir
    target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
      python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
    bin="$target_dir/release/protest-letter"
  fi
  [ -x "$bin" ] || give_up "no executable at $bin"
}

passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok - $what"
  else
    failed=$((failed + 1))
    echo "not ok - $what"
  fi
}

summary() {
  echo "e2e $name: $passed passed, $failed failed"
}

need_aiosmtpd() {
  python3 -c 'import aiosmtpd' 2>/dev/null ||
    python3 -m pip install --quiet aiosmtpd >/dev/null 2>&1 ||
    python3 -m pip install --quiet --break-system-packages aiosmtpd >/dev/null 2>&1 ||
    give_up "cannot install the python3 module aiosmtpd (pip install aiosmtpd)"
}

server_pid=
start_sink() {
  rm -f "$2/port"
  python3 "$here/sink_server.py" "$1" "$2/port" 2>"$2/server.log" &
  server_pid=$!
  for _ in $(seq 100); do
    [ -s "$2/port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$2/port" ] || give_up "the SMTP server did not start: $(cat "$2/server.log")"
  port=$(tr -d '[:space:]' <"$2/port")
}

stop_sink() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
