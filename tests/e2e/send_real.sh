#!/usr/bin/env bash
# End to end: the release binary's `send` against a real SMTP server process
# (aiosmtpd, tests/e2e/sink_server.py) on 127.0.0.1, directly over SMTP and
# through msmtp as the sendmail program. Checks the envelopes the server got
# (one message per email recipient, every required copy), that a re-run
# sends nothing, and that msmtp delivers.
#
# Needs msmtp (.ci/run installs it) and python3 with aiosmtpd (installed
# here if missing).
# Binary: $PROTEST_LETTER_BIN, else built here with `cargo build --release`.
set -euo pipefail


name=send_real
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
msmtp_bin=$(command -v msmtp) || give_up "msmtp is not installed"
need_aiosmtpd

release_binary

domain=kz-gov.org
signer_name="Jo Bloggs"
signer_email=jo@solidarity-union.org

tmp=$(mktemp -d)
trap 'stop_sink; rm -rf "$tmp"' EXIT

show() { # prints a run's output, for failures
  echo "--- exit $(cat "$1.rc")" >&2
  echo "--- stdout" >&2
  cat "$1.out" >&2
  echo "--- stderr" >&2
  cat "$1.err" >&2
}

# A campaign with real-looking addresses (the server is local: nothing leaves
# this machine).
mkdir -p "$tmp/campaign/letters" "$tmp/work" "$tmp/home"
sed "s/placeholder\.invalid/$domain/g" "$repo/recipients.toml" >"$tmp/campaign/recipients.toml"
for f in "$repo"/letters/*; do
  sed "s/placeholder\.invalid/$domain/g" "$f" >"$tmp/campaign/letters/$(basename "$f")"
done

# The real SMTP server.
mail="$tmp/mail.jsonl"
: >"$mail"
start_sink "$mail" "$tmp"

# run NAME HOME ARGS…: the binary with a clean environment in an empty
# folder; output in $tmp/NAME.{out,err,rc}. The built-in campaign is a
# historical example past its deadline, and the court reads Russian: these
# checks are about delivery, so every letter is sent, in English.
run() {
  local name=$1 home=$2
  shift 2
  local rc=0
  (cd "$tmp/work" && env -i PATH="$PATH" HOME="$home" LC_ALL=C.UTF-8 \
    XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
    PROTEST_LETTER_PROFILE="$home/no-profile.toml" PROTEST_LETTER_RETRY_DELAY_MS=10 \
    "$bin" --campaign "$tmp/campaign" send \
    --name "$signer_name" --email "$signer_email" --country GB \
    --lang en --after-deadline "$@") \
    >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
  echo "$rc" >"$tmp/$name.rc"
}

exit_is() { # exit_is NAME CODE
  [ "$(cat "$tmp/$1.rc")" = "$2" ] || { show "$tmp/$1"; false; }
}
received_count_is() { # received_count_is N
  local n
  n=$(grep -c . "$mail" || true)
  [ "$n" = "$1" ] || { echo "server received $n messages, expected $1" >&2; false; }
}

# check_delivered FIRST SUBJECT TO…: the messages from line FIRST (1-based)
# on are one per given To address, each with the envelope that To needs
# (recipient cc, then the campaign's copies_to), headers matching it, no
# Bcc header, the signer as sender and the given subject.
check_delivered() {
  python3 - "$mail" "$domain" "$signer_email" "$@" <<'PY'
import email, email.policy, json, sys
from email.utils import getaddresses

path, domain, signer, first, subject, *tos = sys.argv[1:]
a = lambda local: f"{local}@{domain}"
copies = [a("campaign-kazakhstan"), a("campaign-kazakhstan-copies")]
cc_of = {a("supreme-court"): [a("supreme-court-copy-1"), a("supreme-court-copy-2")]}
expected = sorted([a(t)] + cc_of.get(a(t), []) + copies for t in tos)

records = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
records = records[int(first) - 1:]
problems = []
got = sorted(r["rcpt_tos"] for r in records)
if got != expected:
    problems.append(f"envelopes {got}\n  expected {expected}")
for r in records:
    if r["mail_from"] != signer:
        problems.append(f"MAIL FROM {r['mail_from']}")
    m = email.message_from_string(r["data"], policy=email.policy.default)
    to = [x for _, x in getaddresses(m.get_all("To", []))]
    cc = [x for _, x in getaddresses(m.get_all("Cc", []))]
    if to + cc != r["rcpt_tos"]:
        problems.append(f"headers To {to} Cc {cc} vs envelope {r['rcpt_tos']}")
    if m["Bcc"] is not None:
        problems.append("a Bcc header was delivered")
    if m["Subject"] != subject:
        problems.append(f"Subject {m['Subject']!r}")
    if signer not in str(m["From"]):
        problems.append(f"From {m['From']}")
    body = m.get_body(preferencelist=("plain",)).get_content()
    if "Jo Bloggs" not in body:
        problems.append("the body is not signed")
for p in problems:
    print("  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

sokolova="Natalia Sokolova, lawyer of the Mangystau oil workers' union: a review of her conviction"
kuramshin="The detention of the lawyer and human rights defender Vadim Kuramshin in 2010"

# 1. SMTP to the real server.
run smtp1 "$tmp/home" --journal "$tmp/journal.jsonl" --smtp "smtp://127.0.0.1:$port" --yes
check "send over SMTP exits 0" exit_is smtp1 0
check "the server got one message per email recipient" received_count_is 3
check "each envelope has To and every required copy" \
  check_delivered 1 "$sokolova" supreme-court foreign-ministry embassy-gb
check "the call sheet names the presidential administration's phone" \
  grep -qF "+7 7172 74 55 24" "$tmp/smtp1.out"
check "the journal records three sent letters" \
  test "$(grep -c '"event":"sent"' "$tmp/journal.jsonl")" = 3

# 2. The same again: nothing new.
run smtp2 "$tmp/home" --journal "$tmp/journal.jsonl" --smtp "smtp://127.0.0.1:$port" --yes
check "a re-run exits 0" exit_is smtp2 0
check "a re-run sends nothing" received_count_is 3
check "a re-run says the letters were already sent" grep -q "already sent 3" "$tmp/smtp2.out"

# 3. msmtp as the sendmail program, a fresh journal, another letter.
msmtp_home="$tmp/msmtp-home"
mkdir -p "$msmtp_home"
(
  umask 077
  cat >"$msmtp_home/.msmtprc" <<EOF
defaults
auth off
tls off
logfile $msmtp_home/msmtp.log

account e2e
host 127.0.0.1
port $port
from $signer_email

account default : e2e
EOF
)
chmod 600 "$msmtp_home/.msmtprc"
run msmtp "$msmtp_home" kuramshin --journal "$tmp/journal-msmtp.jsonl" --sendmail "$msmtp_bin" --yes
check "send through msmtp exits 0" exit_is msmtp 0
check "msmtp delivered one message per email recipient" received_count_is 5
check "msmtp's envelopes have every required copy" \
  check_delivered 4 "$kuramshin" foreign-ministry embassy-gb
check "the msmtp journal records two sent letters" \
  test "$(grep -c '"event":"sent"' "$tmp/journal-msmtp.jsonl")" = 2

summary
[ "$failed" = 0 ]
