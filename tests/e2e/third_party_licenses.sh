#!/usr/bin/env bash
# THIRD-PARTY-LICENSES.md (shipped with binary releases) must list exactly
# the crates Cargo.lock compiles into the binary, with their licence texts.
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0 failed=0
if python3 tools/third-party-licenses.py --check; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi
# Every crate the binary links has a licence text or a stated expression.
if grep -q '^| clap | ' THIRD-PARTY-LICENSES.md && grep -q '^### ' THIRD-PARTY-LICENSES.md; then
  passed=$((passed + 1))
else
  echo "THIRD-PARTY-LICENSES.md lacks the crate table or the licence texts"
  failed=$((failed + 1))
fi
echo "e2e third_party_licenses: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
