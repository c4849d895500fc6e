#!/usr/bin/env bash
# End to end with real shells and real man tools: every completion script
# is accepted by its shell (bash and zsh always, installed here if missing;
# fish, PowerShell and elvish where installed), every man page is formatted
# by groff without a warning and read by man; and a campaign from `init`
# passes `check` with the release binary.
#
# The binary comes from $PROTEST_LETTER_BIN, else `cargo build --release`.
# Prints `e2e completions_and_man: N passed, M failed`.
set -uo pipefail

name=completions_and_man
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
release_binary

missing=()
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v groff >/dev/null 2>&1 || missing+=(groff-base)
command -v man >/dev/null 2>&1 || missing+=(man-db)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for shell in bash zsh fish powershell elvish; do
  script="$work/completions.$shell"
  if ! "$bin" completions "$shell" >"$script" || [ ! -s "$script" ]; then
    fail "completions $shell: no script"
    continue
  fi
  case $shell in
    bash) check=(bash -n "$script") ;;
    zsh) check=(zsh -n "$script") ;;
    fish) check=(fish --no-execute "$script") ;;
    powershell) check=(pwsh -NoProfile -Command "\$null = [scriptblock]::Create((Get-Content -Raw '$script'))") ;;
    elvish) check=(elvish -compileonly "$script") ;;
  esac
  if ! command -v "${check[0]}" >/dev/null 2>&1; then
    echo "completions $shell: ${check[0]} is not installed; script not parsed (not counted)"
    continue
  fi
  if "${check[@]}" >"$work/err" 2>&1; then ok; else fail "completions $shell: $(cat "$work/err")"; fi
done

# bash really completes a subcommand's flags (the hyphenated-name fix).
got=$(bash -c "source '$work/completions.bash'
  COMP_WORDS=(protest-letter send --dry); COMP_CWORD=2
  _protest_letter protest-letter --dry send; echo \"\${COMPREPLY[*]}\"")
if [ "$got" = "--dry-run" ]; then ok; else fail "bash: send --dry<TAB> gave '$got'"; fi

# zsh: the completion function loads under compinit.
if zsh -fc "autoload -U compinit && compinit -u; source '$work/completions.zsh'; whence -w _protest-letter" >"$work/err" 2>&1; then
  ok
else
  fail "zsh: $(cat "$work/err")"
fi

for page in "" list check write send init completions man; do
  name=protest-letter${page:+-$page}
  # shellcheck disable=SC2086
  "$bin" man $page >"$work/$name.1"
  if groff -man -Tutf8 -ww -z "$work/$name.1" >"$work/err" 2>&1 && [ ! -s "$work/err" ]; then
    ok
  else
    fail "groff $name: $(cat "$work/err")"
  fi
  text=$(MANWIDTH=80 man -l "$work/$name.1" 2>"$work/err")
  if grep -q "^SYNOPSIS" <<<"$text" && grep -q "^EXAMPLES" <<<"$text" && grep -q "$name" <<<"$text"; then
    ok
  else
    fail "man -l $name: $(cat "$work/err")"
  fi
done

cd "$work" || exit 1
if "$bin" init --blank blank >/dev/null && "$bin" --campaign blank check >/dev/null; then ok; else fail "init --blank then check"; fi
if "$bin" init copy >/dev/null && "$bin" --campaign copy check >/dev/null; then ok; else fail "init then check"; fi
if ! "$bin" init --blank blank 2>/dev/null; then ok; else fail "init over an existing campaign succeeded"; fi

echo "e2e completions_and_man: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
