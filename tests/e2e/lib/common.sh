# Shared by the end-to-end scripts; sourced, never run (.ci/run runs only
# tests/e2e/*.sh). A script sets `name` (e.g. `name=full_disk`) and
# `repo` (the repository's root) before sourcing this file. It gives:
#   give_up MESSAGE   a missing prerequisite or a broken set-up is a
#                     failure, reported like any other, and the end
#   release_binary    sets `bin`: $PROTEST_LETTER_BIN, else the release
#                     binary built here with `cargo build --release`
#   check WHAT CMD…   runs CMD, prints `ok - WHAT` or `not ok - WHAT` and
#                     counts it in `passed` / `failed`
#   summary           prints the summary line `e2e NAME: N passed, M failed`

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
