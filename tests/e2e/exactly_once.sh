#!/usr/bin/env bash
# End to end: never twice, under kill -9 and a full disk (issue 9).
#
#  1. kill -9 at random points: a 2,000-letter batch to a real SMTP server
#     process (aiosmtpd, tests/e2e/sink_server.py, which fsyncs every
#     message it accepts) is killed 20 times at random moments, resumed each
#     time, then run to the end. No letter may arrive twice; every letter
#     arrives once unless the journal calls it uncertain (then at most once).
#  2. A journal on a full disk: a tiny tmpfs (mounted here, so it needs
#     root) fills up mid-run. The run stops handing out letters, exits 3,
#     reports every letter by its true state and prints the journal lines
#     of letters the server accepted but the journal could not record. With
#     those lines added, a run on a journal elsewhere finishes the batch:
#     still no letter twice.
#
# Needs python3 with aiosmtpd (installed here if missing) and root (mount).
# Binary: $PROTEST_LETTER_BIN, else built here with `cargo build --release`.
# Knobs: KILLS (default 20), MEMBERS (default 2000).
set -euo pipefail

name=exactly_once
KILLS=${KILLS:-20}
MEMBERS=${MEMBERS:-2000}

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
need_aiosmtpd
[ "$(id -u)" = 0 ] || give_up "needs root to mount a tiny tmpfs for the full-disk case"

release_binary

tmp=$(mktemp -d)
child=
full=$tmp/full
cleanup() {
  if [ -n "$child" ]; then kill -9 "$child" 2>/dev/null || true; fi
  stop_sink
  if mountpoint -q "$full" 2>/dev/null; then umount "$full" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT


# The repository's campaign with real-looking addresses.
mkdir -p "$tmp/campaign/letters"
sed 's/placeholder\.invalid/kz-gov.org/g' "$repo/recipients.toml" > "$tmp/campaign/recipients.toml"
cp "$repo"/letters/*.txt "$tmp/campaign/letters/"
{
  echo "name,organisation,email,country"
  seq "$MEMBERS" | sed 's/.*/Member &,,member&@union.org,GB/'
} >"$tmp/members.csv"

send_cmd() { # send_cmd JOURNAL: CMD=(the batch to the court, JSON summary on stdout)
  CMD=(env -i PATH="$PATH" HOME="$tmp" LC_ALL=C.UTF-8 PROTEST_LETTER_RETRY_DELAY_MS=10
    PROTEST_LETTER_PROFILE="$tmp/no-profile.toml"
    "$bin" --campaign "$tmp/campaign" send --signatories "$tmp/members.csv"
    --email sec@union.org --organisation "Unite Branch 42" --to supreme-court
    --smtp "smtp://127.0.0.1:$port" --yes --format json --date 2026-11-22 --after-deadline
    --reply-to member --retry-for 0 --journal "$1")
}
send() { # send JOURNAL [ARGS…]
  send_cmd "$1"
  shift
  "${CMD[@]}" "$@"
}

# Counts what the server received per (To, member) against the journals:
# no letter twice; every letter once unless uncertain (then at most once).
verify() { # verify RECEIVED.jsonl EXPECTED_LETTERS JOURNAL…
  python3 - "$@" <<'EOF'
import email, json, sys
from email import policy
received_path, expected, journals = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
counts = {}
for line in open(received_path, encoding="utf-8"):
    r = json.loads(line)
    msg = email.message_from_string(r["data"], policy=policy.default)
    # The sends use --reply-to member, so Reply-To names the member.
    member = (msg.get("Reply-To") or msg.get("From")).addresses[0].addr_spec.lower()
    key = (r["rcpt_tos"][0].lower(), member)
    counts[key] = counts.get(key, 0) + 1
state = {}
for path in journals:
    for line in open(path, encoding="utf-8", errors="replace"):
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a torn line from a kill, or a cut-off write on the full disk
        parts = rec["key"].split("|")
        key = (parts[2].lower(), parts[3].lower().removeprefix("email:"))
        if state.get(key) != "sent":
            if rec["event"] == "failed" and state.get(key) == "uncertain":
                continue
            state[key] = rec["event"]
twice = {k: n for k, n in counts.items() if n > 1}
problems = []
if twice:
    problems.append(f"{len(twice)} letters arrived more than once, e.g. {list(twice.items())[:3]}")
for key, s in state.items():
    n = counts.get(key, 0)
    if s == "sent" and n != 1:
        problems.append(f"{key} is sent in the journal but arrived {n} times")
    if s in ("uncertain", "attempt") and n > 1:
        problems.append(f"{key} is uncertain and arrived {n} times")
missing = [k for k in state if counts.get(k, 0) == 0 and state[k] not in ("uncertain", "attempt")]
uncertain = sum(1 for k in state if state[k] in ("uncertain", "attempt"))
if len(counts) + sum(1 for k in state if state[k] in ("uncertain", "attempt") and counts.get(k, 0) == 0) != expected:
    problems.append(f"{len(counts)} letters arrived, {uncertain} uncertain, of {expected}; missing e.g. {missing[:3]}")
for p in problems[:10]:
    print("   ", p, file=sys.stderr)
print(f"    {len(counts)} letters arrived once, {uncertain} uncertain, {len(twice)} twice", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}

# ---------------------------------------------------------------- 1. kill -9
start_sink "$tmp/received.jsonl" "$tmp"
journal=$tmp/journal.jsonl
kills=0
for i in $(seq "$KILLS"); do
  # env execs the binary: $! is the process that kill -9 hits.
  send_cmd "$journal"
  # --rate keeps the batch going for the whole loop, so every kill hits a
  # run in the middle of sending (unthrottled, the first few runs would
  # send everything and the rest would have nothing left to interrupt).
  "${CMD[@]}" --connections $((1 + i % 4)) --rate 60/s >/dev/null 2>"$tmp/run-$i.err" &
  child=$!
  # Somewhere between start-up and well into the batch.
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.05, 1.5), 3))')"
  if kill -9 "$child" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$child" 2>/dev/null || true
  child=
done
echo "    killed $kills runs with kill -9"
code=0
send "$journal" --connections 4 >"$tmp/final.json" 2>"$tmp/final.err" || code=$?
uncertain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uncertain"])' "$tmp/final.json" 2>/dev/null || echo "?")
check "after $kills kills, the last run finishes (exit 0, or 3 with uncertain letters: $code, $uncertain uncertain)" \
  test "$code" = 0 -o \( "$code" = 3 -a "$uncertain" != 0 \)
check "no letter arrived twice; each once unless uncertain" verify "$tmp/received.jsonl" "$MEMBERS" "$journal"
check "at least 20 kills in the loop" test "$kills" -ge "$((KILLS < 20 ? KILLS : 20))"
again=0
send "$journal" >"$tmp/again.json" 2>/dev/null || again=$?
check "a run after that sends nothing" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["sent"] == 0 and s["already_sent"] + s["uncertain"] == int(sys.argv[2]) else 1)' "$tmp/again.json" "$MEMBERS"
stop_sink

# ------------------------------------------------------------ 2. full disk
mkdir -p "$full"
if mount -t tmpfs -o size=128k tmpfs "$full"; then
  start_sink "$tmp/received-full.jsonl" "$tmp"
  code=0
  send "$full/journal.jsonl" --connections 2 >"$tmp/full.json" 2>"$tmp/full.err" || code=$?
  check "a journal on a full disk: exit 3" test "$code" = 3
  check "the message names the journal" grep -q "journal" "$tmp/full.err"
  check "the summary tells the true states (some sent, the rest not attempted, none lost)" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
total = s["sent"] + s["not_attempted"] + s["uncertain"] + s["refused_temporarily"] + s["refused_permanently"]
ok = s["sent"] > 0 and s["not_attempted"] > 0 and total == n
unrecorded = len(s.get("unrecorded_in_journal", []))
print("    sent %d, not attempted %d, uncertain %d, unrecorded %d" % (s["sent"], s["not_attempted"], s["uncertain"], unrecorded), file=sys.stderr)
sys.exit(0 if ok else 1)' "$tmp/full.json" "$MEMBERS"
  got=$(wc -l < "$tmp/received-full.jsonl")
  check "the server got exactly the letters reported sent" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["sent"] == int(sys.argv[2]) else 1)' "$tmp/full.json" "$got"
  # Move the journal off the full disk, add the printed lines, finish.
  cp "$full/journal.jsonl" "$tmp/journal-moved.jsonl"
  python3 - "$tmp/full.json" "$tmp/journal-moved.jsonl" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
with open(sys.argv[2], "a") as out:
    for line in s.get("unrecorded_in_journal", []):
        out.write(line + "\n")
EOF
  umount "$full"
  code=0
  send "$tmp/journal-moved.jsonl" --connections 2 >"$tmp/full2.json" 2>"$tmp/full2.err" || code=$?
  check "with the journal moved and the printed lines added, the batch finishes (exit $code)" test "$code" = 0 -o "$code" = 3
  check "after the full disk: no letter twice, each once unless uncertain" \
    verify "$tmp/received-full.jsonl" "$MEMBERS" "$tmp/journal-moved.jsonl"
  stop_sink
else
  failed=$((failed + 1))
  echo "not ok - cannot mount a tmpfs at $full (root needed)"
fi

summary
[ "$failed" = 0 ]
