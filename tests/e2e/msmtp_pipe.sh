#!/usr/bin/env bash
# End to end with real programs: `protest-letter write --format eml` piped
# into `msmtp -t`, delivered over SMTP to a real server process (aiosmtpd,
# tests/e2e/sink_server.py) on 127.0.0.1, then checked with Python's email
# package.
#
# Needs msmtp and python3 (with aiosmtpd, installed here if missing). The
# binary comes from $PROTEST_LETTER_BIN, else `cargo build --release` is run.
# Prints `e2e msmtp_pipe: N passed, M failed`; exits non-zero on failure.
set -euo pipefail

name=msmtp_pipe
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
for tool in msmtp python3; do
  command -v "$tool" >/dev/null 2>&1 || give_up "$tool is not installed"
done
need_aiosmtpd
release_binary

work=$(mktemp -d)
trap 'stop_sink; rm -rf "$work"' EXIT

received="$work/received.jsonl"
: >"$received"
start_sink "$received" "$work"

# The test itself runs in a subshell so that `set -e` aborts only it and
# the summary line is always printed.
pipe_to_msmtp() {
  # Isolated from the caller: built-in campaign (empty cwd), no profile, no
  # PROTEST_LETTER_* variables.
  mkdir -p "$work/cwd" "$work/home"
  cd "$work/cwd"
  env -i PATH="$PATH" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
    XDG_DATA_HOME="$work/home/.local/share" LANG=C.UTF-8 \
    "$bin" write --name "Әйнұр Құрманов" --email ainur@example.org \
    --to supreme-court --format eml \
    | msmtp -t --host=127.0.0.1 --port="$port" --from=ainur@example.org \
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

# Not in an `if` or `||`, where bash would ignore the subshell's `set -e`.
set +e
(set -euo pipefail; pipe_to_msmtp)
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "--- server log (the pipe ended with status $status):"
  cat "$work/server.log" || true
fi
check "protest-letter write --format eml | msmtp -t" test "$status" -eq 0

summary
[ "$failed" -eq 0 ]
