#!/usr/bin/env bash
# End to end with real programs: `protest-letter write --format eml` piped
# into `msmtp -t`, delivered over SMTP to a real server process (aiosmtpd,
# tests/e2e/sink_server.py) on 127.0.0.1, then checked with Python's email
# package.
#
# Needs: msmtp, python3 with aiosmtpd. The binary comes from
# $PROTEST_LETTER_BIN, else `cargo build --release` is run.
# Prints `e2e msmtp_pipe: N passed, M failed`; exits non-zero on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

for tool in msmtp python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e msmtp_pipe: $tool is not installed" >&2
    echo "e2e msmtp_pipe: 0 passed, 1 failed"
    exit 1
  fi
done
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "e2e msmtp_pipe: python3 module aiosmtpd is not installed (pip install aiosmtpd)" >&2
  echo "e2e msmtp_pipe: 0 passed, 1 failed"
  exit 1
fi

if [ -z "${PROTEST_LETTER_BIN:-}" ]; then
  (cd "$repo" && cargo build --release)
  target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
  PROTEST_LETTER_BIN="$target_dir/release/protest-letter"
fi
if [ ! -x "$PROTEST_LETTER_BIN" ]; then
  echo "e2e msmtp_pipe: no executable at $PROTEST_LETTER_BIN" >&2
  echo "e2e msmtp_pipe: 0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

received="$work/received.jsonl"
port_file="$work/port"
: >"$received"

python3 "$here/sink_server.py" "$received" "$port_file" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  [ -s "$port_file" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if [ ! -s "$port_file" ]; then
  echo "e2e msmtp_pipe: the SMTP server did not start:" >&2
  cat "$work/server.log" >&2 || true
  echo "e2e msmtp_pipe: 0 passed, 1 failed"
  exit 1
fi
PORT=$(tr -d '[:space:]' <"$port_file")

# The test itself runs in a subshell so that `set -e` aborts only it and
# the summary line is always printed.
pipe_to_msmtp() {
  # Isolated from the caller: built-in campaign (empty cwd), no profile, no
  # PROTEST_LETTER_* variables.
  mkdir -p "$work/cwd" "$work/home"
  cd "$work/cwd"
  env -i PATH="$PATH" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
    XDG_DATA_HOME="$work/home/.local/share" LANG=C.UTF-8 \
    "$PROTEST_LETTER_BIN" write --name "Әйнұр Құрманов" --email ainur@example.org \
    --to supreme-court --format eml \
    | msmtp -t --host=127.0.0.1 --port="$PORT" --from=ainur@example.org \
      --auth=off --tls=off --timeout=30

  python3 - "$received" <<'PY'
import json
import sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], encoding="utf-8") as f:
    records = [json.loads(line) for line in f if line.strip()]
assert len(records) == 1, f"expected exactly 1 message, the server got {len(records)}"
record = records[0]

rcpt = {a.lower() for a in record["rcpt_tos"]}
wanted = {
    "supreme-court@placeholder.invalid",
    "supreme-court-copy-1@placeholder.invalid",
    "supreme-court-copy-2@placeholder.invalid",
    "campaign-kazakhstan@placeholder.invalid",
    "campaign-kazakhstan-copies@placeholder.invalid",
}
missing = wanted - rcpt
assert not missing, f"recipients missing from the envelope: {sorted(missing)} (got {sorted(rcpt)})"
assert len(record["rcpt_tos"]) == len(wanted), f"unexpected recipients: {record['rcpt_tos']}"
assert record["mail_from"] == "ainur@example.org", record["mail_from"]

raw = record["data"].encode("utf-8", "surrogateescape")
msg = BytesParser(policy=policy.default).parsebytes(raw)
from_ = msg["From"].addresses
assert len(from_) == 1, from_
assert from_[0].display_name == "Әйнұр Құрманов", repr(from_[0].display_name)
assert from_[0].addr_spec == "ainur@example.org", from_[0].addr_spec
to = [a.addr_spec for a in msg["To"].addresses]
assert to == ["supreme-court@placeholder.invalid"], to
cc = sorted(a.addr_spec for a in msg["Cc"].addresses)
assert cc == sorted(wanted - {"supreme-court@placeholder.invalid"}), cc
assert msg["Bcc"] is None, "a Bcc header reached the server"
assert msg["Subject"], "no Subject"
assert msg["Message-ID"], "no Message-ID"
body = msg.get_body(preferencelist=("plain",)).get_content()
# The court's own language is Russian: a UTF-8 body through msmtp.
assert "Уважаемый Председатель Верховного Суда!" in body, body[:300]
assert "Әйнұр Құрманов" in body, "the signer's name is not in the body"
PY
}

passed=0
failed=0
set +e
(set -euo pipefail; pipe_to_msmtp)
status=$?
set -e
if [ "$status" -eq 0 ]; then
  passed=$((passed + 1))
  echo "ok - protest-letter write --format eml | msmtp -t"
else
  failed=$((failed + 1))
  echo "FAILED - protest-letter write --format eml | msmtp -t (status $status)"
  echo "--- server log:"
  cat "$work/server.log" || true
fi

echo "e2e msmtp_pipe: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
