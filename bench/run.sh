#!/usr/bin/env bash
# bench/run.sh - protest-letter on what users do (the built-in letters as
# shipped, English and Russian), side by side with its peers in ONE run, so
# that the ratios mean something on a shared, noisy machine. See BENCHMARKS.md.
#
#   bash bench/run.sh               full run (about 20-30 min on 2 cores)
#   bash bench/run.sh --quick       smaller N, except where a target names one
#                                   (100,000 for memory and the journal)
#   bash bench/run.sh --self-check  tiny N, one run each: every step and tool
#                                   works; exits non-zero if any step fails (CI)
#
# Cases (PRODUCT.md, Performance; the peers as in ../shared/bench/):
#   render    N members -> mbox, each built-in letter to an emailed recipient,
#             --lang en and ru, vs mailmerge 2.3.0 --dry-run on a template made
#             from our own letter (same text per member, checked); and each
#             Russian message's body against its text
#   out-dir   write --out-dir (text), N members x the default letter's
#             recipients, vs a Python loop writing the same files + one os.sync()
#   pdf       write --format pdf --out-dir, N members' English letters to the
#             court, vs enscript | ps2pdf of the same letters as text
#   send      N letters to postfix smtp-sink, durable journal, en and ru, over 1
#             and 4 connections, vs smtp-source -s 1 / -s 4 sending our message
#   memory    peak RSS (/usr/bin/time %M) of write and send at MEM_HI vs MEM_LO
#             members; a --group petition of PET_N signatures
#   journal   a one-letter send after the journal of the MEM_HI-letter send
#   start-up  one letter of the built-in campaign to stdout, vs mailmerge --limit 1
#   lines     src/ outside its tests
#
# Knobs (environment): BENCH_DIR (cache: the mailmerge venv; default
# /tmp/protest-letter-bench), LETTERS, LANGS, RENDER_N, RUNS, OUTDIR_N,
# OUTDIR_RUNS, PDF_N, PDF_RUNS, SEND_N, SEND_RUNS, MEM_LO, MEM_HI, PET_N, START_RUNS, PORT,
# TIMEOUT, RENDER_WARMUP, WARMUP, KEEP=1 (keep the work folder);
# PROTEST_LETTER_BIN=PATH measures that binary instead of building one
# (.ci/run sets it). Everything listens on and connects to 127.0.0.1 only; a
# trap stops the SMTP sink this script started and removes its work folder.
set -uo pipefail

MODE=full
for arg in "$@"; do
  case $arg in
    --quick) MODE=quick ;;
    --self-check) MODE=self-check ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

case $MODE in
  full)
    : "${RENDER_N:=20000}" "${RUNS:=3}" "${RENDER_WARMUP:=0}" "${WARMUP:=1}" "${OUTDIR_N:=2500}" "${OUTDIR_RUNS:=3}"
    : "${SEND_N:=2000}" "${SEND_RUNS:=3}" "${MEM_LO:=1000}" "${MEM_HI:=100000}" "${PDF_N:=1000}" "${PDF_RUNS:=3}"
    : "${PET_N:=100000}" "${START_RUNS:=30}" "${TIMEOUT:=3600}" ;;
  quick)
    : "${RENDER_N:=2000}" "${RUNS:=3}" "${RENDER_WARMUP:=1}" "${WARMUP:=1}" "${OUTDIR_N:=250}" "${OUTDIR_RUNS:=3}"
    : "${SEND_N:=500}" "${SEND_RUNS:=3}" "${MEM_LO:=1000}" "${MEM_HI:=100000}" "${PDF_N:=200}" "${PDF_RUNS:=3}"
    : "${PET_N:=100000}" "${START_RUNS:=20}" "${TIMEOUT:=1200}" ;;
  self-check)
    : "${RENDER_N:=20}" "${RUNS:=1}" "${RENDER_WARMUP:=0}" "${WARMUP:=0}" "${OUTDIR_N:=10}" "${OUTDIR_RUNS:=1}"
    : "${SEND_N:=20}" "${SEND_RUNS:=1}" "${MEM_LO:=100}" "${MEM_HI:=1000}" "${PDF_N:=5}" "${PDF_RUNS:=1}"
    : "${PET_N:=1000}" "${START_RUNS:=3}" "${TIMEOUT:=300}" ;;
esac
: "${LETTERS:=drop-charges kuramshin mangystau-oil-workers sokolova}" "${LANGS:=en ru}"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/protest-letter-bench}
MM_VERSION=${MM_VERSION:-2.3.0}
VENV=$BENCH_DIR/venv
MM=$VENV/bin/mailmerge
SINK=/usr/sbin/smtp-sink
SRC=/usr/sbin/smtp-source
TIME=/usr/bin/time
W=$BENCH_DIR/work.$$
DATE=2026-11-22
FROM=sec@union.example # the sending account (--email); members' letters go From it
# One fixed instant for `write`'s Date and Message-ID: 2026-11-22 00:00:00 UTC.
export SOURCE_DATE_EPOCH=1795305600
export LC_ALL=C
GIVEN_BIN=${PROTEST_LETTER_BIN:-} # .ci/run sets it to the binary it has just built
unset "${!PROTEST_LETTER_@}"
T0=$EPOCHREALTIME

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
FAILS=()
fail() { FAILS+=("$*"); log "FAILED: $*"; }
die() { log "FATAL: $*"; exit 1; }

SINK_PID=
stop_sink() { # TERM, then KILL if it is still there a second later
  [ -n "$SINK_PID" ] || return 0
  kill "$SINK_PID" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$SINK_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SINK_PID" 2>/dev/null
  wait "$SINK_PID" 2>/dev/null
  SINK_PID=
}
cleanup() {
  stop_sink
  if [ "${KEEP:-0}" = 1 ]; then log "work folder kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

mkdir -p "$BENCH_DIR" "$W/empty" || die "cannot create $W"
cd "$W" || die "cd $W"
export PROTEST_LETTER_PROFILE=$W/no-profile.toml # never a user's profile

# ------------------------------------------------------------------ install
apt_install() { # apt_install PACKAGE...: one apt-get update per run, at most
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
if [ ! -x "$SINK" ] || [ ! -x "$SRC" ]; then
  log "apt-get install postfix (for smtp-sink and smtp-source; the daemon is left unconfigured)"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null
  apt_install postfix || fail "install: apt-get install postfix"
fi
if [ ! -x "$TIME" ]; then
  log "apt-get install time"
  apt_install time || fail "install: apt-get install time"
fi
if ! command -v hyperfine >/dev/null; then
  log "apt-get install hyperfine (else a bash timing loop is used)"
  apt_install hyperfine || log "no hyperfine: start-up is timed with a bash loop"
fi
if [ ! -x "$MM" ] || ! "$MM" --version 2>/dev/null | grep -q "$MM_VERSION"; then
  log "python3 -m venv $VENV; pip install mailmerge==$MM_VERSION"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >/dev/null 2>&1 || { # Debian's python3 needs python3-venv for that
    log "apt-get install python3-venv"
    apt_install python3-venv
    rm -rf "$VENV"
  }
  { [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"; } >&2 &&
    "$VENV/bin/pip" install -q "mailmerge==$MM_VERSION" >&2 ||
    fail "install: mailmerge==$MM_VERSION in $VENV"
fi
if ! command -v enscript >/dev/null || ! command -v ps2pdf >/dev/null; then
  log "apt-get install enscript ghostscript (the plain-text way to print, for the pdf case)"
  apt_install enscript ghostscript || fail "install: apt-get install enscript ghostscript"
fi
for tool in "$MM" "$SINK" "$SRC" "$TIME"; do
  [ -x "$tool" ] || fail "install: $tool missing"
done
"$MM" --version >/dev/null 2>&1 || fail "install: $MM does not start"

# ------------------------------------------------------------------ build
if [ -n "$GIVEN_BIN" ]; then
  log "the binary: PROTEST_LETTER_BIN=$GIVEN_BIN (not built here)"
  BIN=$GIVEN_BIN
else
  log "cargo build --release"
  (cd "$REPO" && cargo build --release -q) >&2 || die "cargo build --release"
  TARGET_DIR=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])') || die "cargo metadata"
  BIN=$TARGET_DIR/release/protest-letter
fi
# A private copy: another build of the shared target cannot change it mid-run.
mkdir -p "$W/bin" && cp "$BIN" "$W/bin/protest-letter" || die "no release binary at $BIN"
PL=$W/bin/protest-letter

# ------------------------------------------------------------------ helpers (Python)
# mm_template.py EML CSV OUT: a mailmerge template from our own message for the
# CSV's first member: the same To, Cc, Subject and (decoded) text, the member's
# name, organisation and email made Jinja placeholders again.
cat > mm_template.py <<'PY'
import csv, email, email.policy, sys
eml, db, out = sys.argv[1:4]
m = email.message_from_binary_file(open(eml, "rb"), policy=email.policy.default)
row = next(csv.DictReader(open(db, encoding="utf-8")))
def ph(s):
    s = s.replace("{", "{{ '{' }}")
    for field in ("organisation", "email", "name"):  # longest first: no field holds another
        if row.get(field):
            s = s.replace(row[field], "{{" + field + "}}")
    return s
# A base64 body decodes to its canonical CRLF line ends (RFC 2045).
text = m.get_content().replace("\r\n", "\n")
if row["name"] not in text or row["organisation"] not in text:
    sys.exit(f"{eml}: the member's name or organisation is not in the letter")
# To by its address alone: mailmerge folds a non-ASCII display name (a
# Russian letter's To names the court in Russian) mid-word, and only the
# addresses are compared.
head = [f"TO: {', '.join(a.addr_spec for a in m['To'].addresses)}"]
if m["Cc"]:
    head.append(f"CC: {m['Cc']}")
head.append(f'FROM: "{{{{name}}}}" <{m["From"].addresses[0].addr_spec}>')
if m["Reply-To"]:
    head.append(f"REPLY-TO: {ph(str(m['Reply-To']))}")
head.append(f"SUBJECT: {ph(str(m['Subject']))}")
# Jinja drops one trailing newline: one more keeps the text's own.
open(out, "w", encoding="utf-8").write("\n".join(head) + "\n\n" + ph(text) + "\n")
PY
# same_text.py OURS.mbox MAILMERGE.out N SAMPLE: both hold N messages, and the
# sampled ones (SAMPLE of them spread over the list; 0: all) have the same
# From name, To, Cc, Subject and decoded text. Prints mailmerge's first body's size.
cat > same_text.py <<'PY'
import email, email.policy, mmap, re, sys
ours_p, mm_p, n, sample = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def mapped(p):
    with open(p, "rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if f.seek(0, 2) else b""
ours, mm = mapped(ours_p), mapped(mm_p)
# ours: an mbox (mboxrd: a body line starting "From " is quoted); mailmerge:
# ">>> message I" ... ">>> message I sent" around each message.
o_at = [m.end() for m in re.finditer(rb"(?:^|\n)From \S+ [^\n]*\n", ours)]
o_end = [a - 1 for a in [m.start() for m in re.finditer(rb"\nFrom \S+ [^\n]*\n", ours)]] + [len(ours)]
m_at = [m.end() for m in re.finditer(rb">>> message \d+\n", mm)]
if len(o_at) != n or len(m_at) != n:
    sys.exit(f"protest-letter wrote {len(o_at)} messages, mailmerge {len(m_at)}, not {n}")
def ours_msg(i):
    return ours[o_at[i]:o_end[i] + 1]
def mm_msg(i):
    end = mm.find(b"\n>>> message %d sent\n" % (i + 1), m_at[i])
    if end < 0:
        sys.exit(f"mailmerge's message {i + 1} has no end")
    return mm[m_at[i]:end]
pick = range(n) if sample == 0 or n <= sample else sorted({0, 1, n - 1} | {i * n // sample for i in range(sample)})
def view(b):
    m = email.message_from_bytes(b, policy=email.policy.default)
    addrs = lambda h: sorted(a.addr_spec for a in m[h].addresses) if m[h] else []
    return (m["From"].addresses[0].display_name, addrs("To"), addrs("Cc"), str(m["Subject"]),
            m.get_content().replace("\r\n", "\n").rstrip("\n"))
for i in pick:
    a, b = view(ours_msg(i)), view(mm_msg(i))
    if a != b:
        what = ["From name", "To", "Cc", "Subject", "text"][[x != y for x, y in zip(a, b)].index(True)]
        sys.exit(f"message {i + 1}: the {what} differs: ours {str(a)[:300]!r} / mailmerge {str(b)[:300]!r}")
m1 = mm_msg(0)
print(len(m1) - m1.find(b"\n\n") - 2)
PY
# out_dir_loop.py PACK DIR: the plain loop writing the same files, one sync at the end.
cat > out_dir_loop.py <<'PY'
import os, pickle, sys
files = pickle.load(open(sys.argv[1], "rb"))
os.mkdir(sys.argv[2])
for name, data in files:
    with open(os.path.join(sys.argv[2], name), "wb") as f:
        f.write(data)
os.sync()
PY

# ------------------------------------------------------------------ data
members() { # members N > FILE: deterministic name,organisation,email rows (an LCG,
  # as in peer_bench.sh); the organisations are all as wide, so a reflowed
  # paragraph that names one breaks its lines at the same places for everyone
  awk -v n="$1" 'BEGIN {
    split("Amira Ben Chloe Dmitri Esther Farid Grace Hugo Ines Jonas Keiko Liam Maya Nikhil Olga Pablo Qing Rosa Samuel Tara Umar Vera Wes Xenia Yusuf Zoe", F, " ");
    split("Abbott Baker Chen Dubois Evans Fischer Garcia Hughes Ivanova Jensen Kowalski Lopez Mensah Nakamura Okafor Patel Quinn Rossi Singh Thompson Ueda Varga Walsh Xu Yilmaz Zhang", L, " ");
    print "name,organisation,email"; s = 12345;
    for (i = 1; i <= n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648; a = int(s / 65536) % 26 + 1;
      s = (s * 1103515245 + 12345) % 2147483648; b = int(s / 65536) % 26 + 1;
      printf "%s %s,Unite Branch %06d,%s.%s%d@members-bench.org\n", F[a], L[b], i, tolower(F[a]), tolower(L[b]), i;
    } }'
}
for n in 1 "$RENDER_N" "$OUTDIR_N" "$PDF_N" "$SEND_N" "$MEM_LO" "$MEM_HI" "$PET_N"; do
  [ -s "m_$n.csv" ] || members "$n" > "m_$n.csv"
done
# Each letter's emailed recipient: the Supreme Court where the letter has it,
# else the Ministry of Foreign Affairs (`list` shows every letter's recipients).
(cd empty && "$PL" list) > list.txt 2>"$W/list.err" || fail "list: $(tail -c 300 list.err)"
declare -A TO
for l in $LETTERS; do
  tos=$(awk -v l="$l" '$1 == l { f = 1; next } f && /^ *to:/ { sub(/^ *to: */, ""); print; exit }' list.txt)
  [ -n "$tos" ] || fail "list: no letter $l, or no recipients for it"
  case ", $tos," in *", supreme-court,"* | *", supreme-court;"*) TO[$l]=supreme-court ;; *) TO[$l]=foreign-ministry ;; esac
done
# For sending: the built-in campaign copied by `init`, its placeholder
# addresses replaced (send refuses them); the letters are untouched.
"$PL" -q init camp >/dev/null 2>"$W/init.err" || fail "init: $(tail -c 300 init.err)"
sed -i 's/@placeholder\.invalid/@kz-bench.org/' camp/recipients.toml
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
printf '[smtp_server]\nhost = 127.0.0.1\nport = %s\nratelimit = 0\n' "$PORT" > mm.conf # mailmerge never sends here

# ------------------------------------------------------------------ timing
# compare RUNS WARMUP NAME CMD [NAME CMD]...: runs the commands in turn,
# A B A B ..., each as `sh -c "exec CMD"` (CMD may redirect stdout; BENCH_RUN
# is the round), wall time from $EPOCHREALTIME. Fills T[NAME] with the run
# times. After each run, `$VERIFY NAME` (if set) may check the result.
declare -A T
VERIFY= CASE=
STEP_LOG=$W/steps.log
run_one() { # run_one NAME CMD -> sets DT; status of the command
  local s e rc
  s=$EPOCHREALTIME
  timeout "$TIMEOUT" sh -c "exec $2" </dev/null >/dev/null 2>>"$STEP_LOG.$1"
  rc=$?
  e=$EPOCHREALTIME
  DT=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.5f", e - s }')
  return $rc
}
compare() {
  local runs=$1 warm=$2 i j name rc
  shift 2
  local names=() cmds=()
  while [ $# -gt 0 ]; do names+=("$1"); cmds+=("$2"); T[$1]=""; shift 2; done
  for ((i = 0; i < warm + runs; i++)); do
    for j in "${!names[@]}"; do
      name=${names[$j]}
      : > "$STEP_LOG.$name"
      export BENCH_RUN=$i
      run_one "$name" "${cmds[$j]}"
      rc=$?
      if [ $rc -ne 0 ]; then
        fail "$CASE: $name (run $((i + 1))): exit status $rc - $(tail -c 300 "$STEP_LOG.$name" | tr '\n' ' ')"
        [ "$i" -ge "$warm" ] && T[$name]="${T[$name]} NA"
        [ -n "$VERIFY" ] && $VERIFY "$name" >/dev/null 2>&1
        continue
      fi
      [ -n "$VERIFY" ] && { $VERIFY "$name" || fail "$CASE: $name (run $((i + 1))): wrong result"; }
      [ "$i" -ge "$warm" ] && T[$name]="${T[$name]} $DT"
    done
  done
}
median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g |
  awk '{ v[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { printf '%s\n' "${T[$1]}" | median; }
# ratio A B: median over rounds of T[B]/T[A], i.e. how many times faster A is than B.
ratio() {
  local a=(${T[$1]}) b=(${T[$2]}) i out=()
  for i in "${!a[@]}"; do
    [ "${a[$i]}" != NA ] && [ "${b[$i]:-NA}" != NA ] && out+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { if (x > 0) printf "%.4f", y / x }')")
  done
  printf '%s\n' "${out[*]:-}" | median
}
num() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v == "NA" || v == "") print "NA"; else { s = sprintf("%." d "f", v); if (d == 0) { n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } s = s n } print s } }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t + 0 > 0) print n / t; else print "NA" }'; }
times() { awk -v r="$1" 'BEGIN { if (r == "NA" || r == "") print "NA"; else if (r >= 10) printf "%.0f×", r; else if (r >= 1) printf "%.1f×", r; else printf "%.2f×", r }'; }
ms() { awk -v t="$1" 'BEGIN { if (t == "NA" || t == "") print "NA"; else printf "%.1f ms", t * 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "NA" || k == "") print "NA"; else printf "%.1f MiB", k / 1024 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || a == "" || b == "" || b + 0 <= 0) print "NA"; else printf "%.4f", a / b }'; }
meets() { # meets VALUE OP TARGET -> yes/no
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { if (v == "NA" || v == "") { print "?"; exit }
    ok = (op == ">=") ? (v >= t) : (op == "<") ? (v < t) : (v <= t); print (ok ? "yes" : "**no**") }'; }
at_n() { [ "$1" = "$2" ] && echo "$3" || echo "— (target at $(num "$2"))"; }
ROWS=()
row() { local IFS='|'; ROWS+=("| $(echo "$*" | sed 's/|/ | /g') |"); }
rss_of() { # rss_of NAME CMD...: sets KIB to the peak RSS in KiB of CMD (stdout to /dev/null), or NA
  local name=$1 rc
  shift
  timeout "$TIMEOUT" "$TIME" -f %M -o "$W/rss.out" "$@" </dev/null >/dev/null 2>"$STEP_LOG.rss"
  rc=$?
  KIB=$(tail -1 "$W/rss.out" 2>/dev/null)
  [[ $KIB =~ ^[0-9]+$ ]] || KIB=NA
  [ $rc = 0 ] || { fail "$name: exit status $rc - $(tail -c 300 "$STEP_LOG.rss" | tr '\n' ' ')"; KIB=NA; }
}
body_bytes() { awk 'b { n += length($0) + 1 } /^\r?$/ && !b { b = 1 } END { print n + 0 }' "$1"; }

# ------------------------------------------------------------------ 1. render
# Each letter as shipped, to its emailed recipient, in each language: our mbox
# against mailmerge rendering the same text from a template made of our own
# letter for the list's first member. same_text.py checks both sides' counts
# and that the letters say the same (From name, To, Cc, Subject, text).
SAMPLE=50; [ "$MODE" = self-check ] && SAMPLE=0
N=$RENDER_N
for l in $LETTERS; do
  to=${TO[$l]:-foreign-ministry}
  for lang in $LANGS; do
    CASE="render $l $lang"
    ours="$PL -q write $l --signatories m_$N.csv --email $FROM --to $to --lang $lang --date $DATE --format mbox"
    "$PL" -q write "$l" --signatories m_1.csv --email "$FROM" --to "$to" --lang "$lang" --date "$DATE" --format eml \
      > "one_${l}_$lang.eml" 2>"$STEP_LOG.one" &&
      "$PL" -q write "$l" --signatories m_1.csv --email "$FROM" --to "$to" --lang "$lang" --date "$DATE" --format text \
        > "one_${l}_$lang.txt" 2>>"$STEP_LOG.one" ||
      { fail "$CASE: one letter: $(tail -c 300 "$STEP_LOG.one")"; continue; }
    python3 mm_template.py "one_${l}_$lang.eml" m_1.csv "mm_${l}_$lang.tpl" 2>"$STEP_LOG.tpl" ||
      { fail "$CASE: mailmerge template: $(tail -c 300 "$STEP_LOG.tpl")"; continue; }
    log "$CASE: protest-letter → mbox and mailmerge --dry-run, N=$N, to $to ($RUNS runs, alternating)"
    compare "$RUNS" "$RENDER_WARMUP" \
      ours "$ours -o ours.mbox --force" \
      mailmerge "$MM --dry-run --no-limit --output-format raw --template mm_${l}_$lang.tpl --database m_$N.csv --config mm.conf > mm.out"
    mm_body=$(python3 same_text.py ours.mbox mm.out "$N" "$SAMPLE" 2>"$STEP_LOG.same") ||
      { fail "$CASE: $(tail -c 400 "$STEP_LOG.same")"; mm_body=NA; }
    r=$(ratio ours mailmerge)
    row "render → mbox: $l, $lang, to $to" "$(num "$N")" \
      "$(num "$(rate "$N" "$(med ours)")") letters/s ($(num "$(med ours)" 3) s)" \
      "mailmerge --dry-run: $(num "$(rate "$N" "$(med mailmerge)")") letters/s ($(num "$(med mailmerge)" 3) s)" \
      "$(times "$r")" "≥30× (moonshot 50×)" "$(meets "$r" '>=' 30)"
    if [ "$lang" = ru ]; then
      b=$(body_bytes "one_${l}_$lang.eml") t=$(wc -c < "one_${l}_$lang.txt")
      r=$(div "$b" "$t")
      row "Russian message ÷ its text: $l" "1" \
        "body $(num "$b") B ($(grep -i -m1 '^Content-Transfer-Encoding:' "one_${l}_$lang.eml" | sed 's/^[^:]*: *//' | tr -d '\r')), text $(num "$t") B" \
        "mailmerge's body: $(num "$mm_body") B" \
        "$(awk -v r="$r" 'BEGIN { if (r == "NA") print r; else printf "%.2f×", r }')" "≤1.5×" "$(meets "$r" '<=' 1.5)"
    fi
    rm -f ours.mbox mm.out
  done
done

# ------------------------------------------------------------------ 2. out-dir
# write --out-dir: one text file per member and recipient of the default
# letter, against a plain Python loop writing the same names and bytes (taken
# from our own output) and calling os.sync() once at the end. Each run writes
# a new folder; after it, the folder must equal ours (then it is removed).
N=$OUTDIR_N
CASE="out-dir"
log "$CASE: write --out-dir, N=$N members × the default letter's recipients, vs a Python loop + os.sync() ($OUTDIR_RUNS runs)"
OD_CMD="$PL -q write --signatories m_$N.csv --format text --date $DATE --out-dir"
if $OD_CMD od_ref </dev/null >/dev/null 2>"$STEP_LOG.od"; then
  OD_FILES=$(find od_ref -type f | wc -l) OD_BYTES=$(du -sb od_ref | cut -f1)
  python3 -c 'import os, pickle, sys
d = sys.argv[1]
pickle.dump([(n, open(os.path.join(d, n), "rb").read()) for n in sorted(os.listdir(d))], open(sys.argv[2], "wb"))' od_ref od.pack
  verify_od() { # the run's folder holds our files, byte for byte
    local d=od_${1}_$BENCH_RUN ok=0
    diff -rq od_ref "$d" >/dev/null 2>&1 || { log "$1: $d differs from protest-letter's own output"; ok=1; }
    rm -rf "$d"
    return $ok
  }
  VERIFY=verify_od
  compare "$OUTDIR_RUNS" 0 \
    ours "$OD_CMD od_ours_\$BENCH_RUN" \
    loop "python3 out_dir_loop.py od.pack od_loop_\$BENCH_RUN"
  VERIFY=
  r=$(ratio ours loop)
  row "write --out-dir, text, the default letter's recipients" "$(num "$N") × $(( OD_FILES / N ))" \
    "$(num "$(rate "$OD_FILES" "$(med ours)")") files/s ($(num "$(med ours)" 2) s; $(num "$OD_FILES") files, $(num "$OD_BYTES") B)" \
    "Python loop, same files, one os.sync(): $(num "$(rate "$OD_FILES" "$(med loop)")") files/s ($(num "$(med loop)" 2) s)" \
    "$(times "$r")" "≥0.5× (within 2× of the loop)" "$(meets "$r" '>=' 0.5)"
else
  fail "$CASE: $(tail -c 300 "$STEP_LOG.od")"
fi
rm -rf od_ref od.pack

# ------------------------------------------------------------------ 2b. pdf
# write --format pdf --out-dir: one PDF per member's English letter to the
# court, against the plain-text way to print the same letters: our own
# --format text, each through `enscript | ps2pdf` (Latin-1 only, so English).
N=$PDF_N
CASE="pdf"
log "$CASE: write --format pdf --out-dir, N=$N members, vs enscript | ps2pdf of the same letters ($PDF_RUNS runs)"
PDF_CMD="$PL -q write --signatories m_$N.csv --to supreme-court --lang en --date $DATE"
if $PDF_CMD --out-dir pdf_txt </dev/null >/dev/null 2>"$STEP_LOG.pdf"; then
  cat > enscript_loop.sh <<'SH'
# enscript_loop.sh IN OUT: each text letter of IN as a PDF in OUT.
set -e
mkdir -p "$2"
for f in "$1"/*.txt; do
  b=${f##*/}
  enscript -q -X 88591 -p - "$f" | ps2pdf - "$2/${b%.txt}.pdf"
done
SH
  verify_pdf() { # the run's folder holds one PDF per letter
    local d=pdf_${1}_$BENCH_RUN n
    n=$(find "$d" -name '*.pdf' -size +0 | wc -l)
    rm -rf "$d"
    [ "$n" -eq "$N" ] || { log "$1: $n PDFs in $d, not $N"; return 1; }
  }
  VERIFY=verify_pdf
  compare "$PDF_RUNS" 0 \
    ours "$PDF_CMD --format pdf --out-dir pdf_ours_\$BENCH_RUN" \
    enscript "bash enscript_loop.sh pdf_txt pdf_enscript_\$BENCH_RUN"
  VERIFY=
  r=$(ratio ours enscript)
  row "write --format pdf --out-dir, English, to the court" "$(num "$N")" \
    "$(num "$(rate "$N" "$(med ours)")") PDFs/s ($(num "$(med ours)" 2) s)" \
    "enscript → ps2pdf, same letters: $(num "$(rate "$N" "$(med enscript)")") PDFs/s ($(num "$(med enscript)" 2) s)" \
    "$(times "$r")" "≥5×" "$(meets "$r" '>=' 5)"
else
  fail "$CASE: $(tail -c 300 "$STEP_LOG.pdf")"
fi
rm -rf pdf_txt

# ------------------------------------------------------------------ 3. send
# N letters of the default letter to the Supreme Court (To and four Cc) to
# postfix's smtp-sink, with the journal (synced as always), against
# smtp-source sending our own message for the same language N times to as
# many recipients, with as many sessions (connections reused: -d).
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
log "smtp-sink on 127.0.0.1:$PORT"
"$SINK" "${sink_user[@]}" -c "127.0.0.1:$PORT" 1000 > sink.log 2>&1 &
SINK_PID=$! # smtp-sink itself (a `timeout` wrapper would not pass TERM on)
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null && break
  sleep 0.1
done
kill -0 "$SINK_PID" 2>/dev/null || fail "send: smtp-sink did not start ($(tr '\r' '\n' < sink.log | tail -2))"
mesgs() { tr '\r' '\n' < sink.log | grep 'mesg=' | tail -1 | sed 's/.*mesg=\([0-9]*\).*/\1/'; }
LAST_MESGS=0
verify_send() { # after each timed send: the sink got exactly SEND_COUNT new messages
  local now got i
  for ((i = 0; i < 40; i++)); do # the sink may print its counter a moment later
    now=$(mesgs); got=$((${now:-0} - LAST_MESGS))
    [ "$got" -ge "$SEND_COUNT" ] && break
    sleep 0.05
  done
  LAST_MESGS=${now:-0}
  [ "$got" = "$SEND_COUNT" ] || { log "$1: the sink received $got messages, not $SEND_COUNT"; return 1; }
}
SEND_LETTER=sokolova SEND_TO=supreme-court
OURS_SEND="$PL -q --campaign camp send $SEND_LETTER --email $FROM --to $SEND_TO --date $DATE --smtp smtp://127.0.0.1:$PORT --yes --after-deadline"
N=$SEND_N SEND_COUNT=$SEND_N
for lang in $LANGS; do
  CASE="send $lang"
  "$PL" -q --campaign camp write "$SEND_LETTER" --signatories m_1.csv --email "$FROM" --to "$SEND_TO" --lang "$lang" \
    --date "$DATE" --format eml > "msg_$lang.eml" 2>"$STEP_LOG.msg" || fail "$CASE: the message for smtp-source: $(tail -c 300 "$STEP_LOG.msg")"
  rcpts=$(python3 -c 'import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(sum(len(m[h].addresses) for h in ("To", "Cc") if m[h]))' "msg_$lang.eml") || rcpts=1
  log "$CASE: protest-letter (1 and 4 connections), smtp-source (1 and 4 sessions), N=$N, $rcpts recipients each ($SEND_RUNS runs)"
  VERIFY=verify_send
  compare "$SEND_RUNS" "$WARMUP" \
    ours_c1 "$OURS_SEND --lang $lang --signatories m_$N.csv --connections 1 --journal $W/journal-c1-\$BENCH_RUN.jsonl" \
    source_s1 "$SRC -d -s 1 -m $N -r $rcpts -F msg_$lang.eml -f $FROM -t $SEND_TO@kz-bench.org 127.0.0.1:$PORT" \
    ours_c4 "$OURS_SEND --lang $lang --signatories m_$N.csv --connections 4 --journal $W/journal-c4-\$BENCH_RUN.jsonl" \
    source_s4 "$SRC -d -s 4 -m $N -r $rcpts -F msg_$lang.eml -f $FROM -t $SEND_TO@kz-bench.org 127.0.0.1:$PORT"
  VERIFY=
  rm -f "$W"/journal-c*.jsonl*
  for c in 1 4; do
    target=0.9; [ $c = 4 ] && target=0.5
    r=$(ratio ours_c$c source_s$c)
    row "send → smtp-sink: $SEND_LETTER, $lang, $c connection$([ $c = 1 ] || echo s)" "$(num "$N")" \
      "$(num "$(rate "$N" "$(med ours_c$c)")") msg/s ($(num "$(med ours_c$c)" 2) s), durable journal" \
      "smtp-source -d -s $c, our $(num "$(wc -c < "msg_$lang.eml")") B message, $rcpts rcpt: $(num "$(rate "$N" "$(med source_s$c)")") msg/s" \
      "$(times "$r")" "≥${target}×" "$(meets "$r" '>=' $target)"
  done
done

# ------------------------------------------------------------------ 4. memory
# Peak RSS of write (mbox to /dev/null) and send (4 connections, to the sink)
# at MEM_HI members against MEM_LO. The send at MEM_HI leaves the journal
# that the next case starts after.
declare -A RSS
for n in "$MEM_LO" "$MEM_HI"; do
  log "peak RSS: write, N=$n"
  rss_of "memory write N=$n" "$PL" -q write "$SEND_LETTER" --signatories "m_$n.csv" --email "$FROM" \
    --to "$SEND_TO" --lang en --date "$DATE" --format mbox
  RSS[w$n]=$KIB
  log "peak RSS: send, N=$n (4 connections)"
  rm -f "$W"/journal-mem.jsonl*
  SEND_COUNT=$n
  rss_of "memory send N=$n" $OURS_SEND --lang en --signatories "m_$n.csv" --connections 4 --journal "$W/journal-mem.jsonl"
  RSS[s$n]=$KIB
  verify_send "memory send N=$n" || fail "memory send N=$n: wrong count at the sink"
  log "  write $(mib "${RSS[w$n]}"), send $(mib "${RSS[s$n]}")"
done
for what in write send; do
  k=${what:0:1} r=$(div "${RSS[${what:0:1}$MEM_HI]}" "${RSS[${what:0:1}$MEM_LO]}")
  row "peak RSS, $what ($SEND_LETTER, en, to $SEND_TO)" "$(num "$MEM_LO") → $(num "$MEM_HI")" \
    "$(mib "${RSS[$k$MEM_LO]}") → $(mib "${RSS[$k$MEM_HI]}")" "itself at $(num "$MEM_LO")" \
    "$(awk -v r="$r" 'BEGIN { if (r == "NA") print r; else printf "%.2f×", r }')" "≤2× (100,000 vs 1,000)" \
    "$(at_n "$MEM_HI" 100000 "$(meets "$r" '<=' 2)")"
done

# ------------------------------------------------------------------ 5. journal
# A one-letter send (a new signer each run, with an email of their own: a
# signer with an email is that email, so it really sends) after a
# journal of MEM_HI records (the first MEM_HI lines of the MEM_HI-letter
# send above: each letter writes an `attempt` and a `sent` record), against
# the same after an empty journal, alternating.
J_SENT=$W/journal-mem.jsonl J_BIG=$W/journal-big.jsonl J_EMPTY=$W/journal-empty.jsonl
[ "${RSS[s$MEM_HI]}" = NA ] && fail "journal: no journal (the $MEM_HI-letter send failed)"
head -n "$MEM_HI" "$J_SENT" > "$J_BIG" 2>/dev/null
J_LETTERS=$(wc -l < "$J_BIG" | tr -d ' ') J_BYTES=$(stat -c %s "$J_BIG" 2>/dev/null || echo NA)
log "journal: a one-letter send after a journal of $(num "$J_LETTERS") records ($(num "$J_BYTES") B) vs after an empty one, $START_RUNS runs each"
: > "$J_EMPTY"
T[j_big]="" T[j_empty]=""
SEND_COUNT=1
for ((i = 0; i < START_RUNS + 1; i++)); do
  for which in big empty; do
    j=$J_EMPTY; [ $which = big ] && j=$J_BIG
    s=$EPOCHREALTIME
    if ${OURS_SEND/--email $FROM/--email signer-$which-$i@union.example} --lang en --name "Signer $which $i" \
      --journal "$j" </dev/null >/dev/null 2>"$STEP_LOG.journal"; then
      e=$EPOCHREALTIME
      [ "$i" -ge 1 ] && T[j_$which]="${T[j_$which]} $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f", e - s }')"
      verify_send "journal" || fail "journal: one-letter send ($which journal, run $i): the sink did not get it"
    else
      fail "journal: one-letter send ($which journal, run $i): $(tail -c 300 "$STEP_LOG.journal" | tr '\n' ' ')"
    fi
  done
done
t=$(med j_big)
row "start-up after a big journal: one-letter send" "$(num "$J_LETTERS") records ($(num "$J_BYTES") B) in the journal" \
  "$(ms "$t")" "itself after an empty journal: $(ms "$(med j_empty)")" "$(times "$(div "$t" "$(med j_empty)")") its time" \
  "<100 ms at 100,000" "$(at_n "$J_LETTERS" 100000 "$(meets "$t" '<' 0.1)")"
rm -f "$W"/journal-*.jsonl*
stop_sink
log "smtp-sink stopped"

# ------------------------------------------------------------------ 6. petition
log "petition: peak RSS of a --group petition of $(num "$PET_N") signatures"
rss_of "petition" "$PL" -q write --signatories "m_$PET_N.csv" --group --format text --to supreme-court \
  --date "$DATE" -o "$W/petition.txt" --force
pet_kib=$KIB
pet_bytes=$(stat -c %s "$W/petition.txt" 2>/dev/null || echo NA)
rm -f "$W/petition.txt"
row "peak RSS, --group petition (default letter, to supreme-court, text)" "$(num "$PET_N")" \
  "$(mib "$pet_kib") (a $(num "$pet_bytes") B letter)" "—" "—" "≤256 MB at 100,000" \
  "$(at_n "$PET_N" 100000 "$(meets "$pet_kib" '<=' 250000)")"

# ------------------------------------------------------------------ 7. start-up
log "start-up: write --name \"Jo Bloggs\" --to supreme-court (built-in campaign, empty folder), $START_RUNS runs"
START_OURS="$PL write --name 'Jo Bloggs' --to supreme-court"
START_MM="$MM --dry-run --limit 1 --output-format raw --template $W/mm_sokolova_ru.tpl --database $W/m_1.csv --config $W/mm.conf"
[ -s mm_sokolova_ru.tpl ] || START_MM="$MM --dry-run --limit 1 --output-format raw --template $W/$(ls mm_*.tpl | head -1) --database $W/m_1.csv --config $W/mm.conf"
if command -v hyperfine >/dev/null; then
  timer="hyperfine -N, $START_RUNS runs, 3 warm-ups"
  if (cd "$W/empty" && hyperfine -N --style none --warmup 3 --runs "$START_RUNS" \
    --export-json "$W/start.json" "$START_OURS" "$START_MM") >"$STEP_LOG.start" 2>&1; then
    read -r s_o s_m < <(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"]; print(r[0]["median"], r[1]["median"])' "$W/start.json")
    s_r=$(div "$s_m" "$s_o")
  else
    fail "start-up (hyperfine): $(tail -c 400 "$STEP_LOG.start" | tr '\n' ' ')"; s_o=NA s_m=NA s_r=NA
  fi
else
  timer="bash loop, \$EPOCHREALTIME, $START_RUNS alternating runs"
  (cd "$W/empty" && for ((i = 0; i < START_RUNS + 3; i++)); do
    s=$EPOCHREALTIME; "$PL" write --name "Jo Bloggs" --to supreme-court </dev/null >/dev/null 2>&1 || echo FAIL ours
    m=$EPOCHREALTIME; $START_MM </dev/null >/dev/null 2>&1 || echo FAIL mailmerge
    e=$EPOCHREALTIME
    [ "$i" -ge 3 ] && echo "T $s $m $e"
  done) > start.txt
  grep -q FAIL start.txt && fail "start-up: $(grep FAIL start.txt | sort -u | tr '\n' ' ')"
  T[start_ours]=$(awk '$1 == "T" { printf " %.6f", $3 - $2 }' start.txt)
  T[start_mm]=$(awk '$1 == "T" { printf " %.6f", $4 - $3 }' start.txt)
  s_o=$(med start_ours) s_m=$(med start_mm) s_r=$(ratio start_ours start_mm)
fi
(cd "$W/empty" && "$PL" write --name "Jo Bloggs" --to supreme-court </dev/null 2>/dev/null | grep -q "Jo Bloggs") ||
  fail "start-up: protest-letter write did not print the signed letter"
row "start-up: one letter to stdout (write --name … --to supreme-court)" "1" "$(ms "$s_o")" \
  "mailmerge --dry-run --limit 1: $(ms "$s_m")" "$(times "$s_r")" "<5 ms" "$(meets "$s_o" '<' 0.005)"

# ------------------------------------------------------------------ 8. lines
# Lines of src/**/*.rs outside the tests, by the rule of ../shared/tools/house.py:
# a file is cut at its first `#[cfg(test)] mod … {`; tests.rs files and
# tests/ folders do not count.
src_lines=$(python3 - "$REPO/src" <<'PY'
import os, re, sys
src, total = sys.argv[1], 0
for dp, _, fs in os.walk(src):
    if "tests" in os.path.relpath(dp, src).split(os.sep):
        continue
    for f in fs:
        if f.endswith(".rs") and f != "tests.rs":
            t = open(os.path.join(dp, f), encoding="utf-8", errors="replace").read()
            m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", t)
            total += (t[:m.start()] if m else t).count("\n")
print(total)
PY
) || { fail "lines: cannot count src/"; src_lines=NA; }
row "src/ outside its tests: lines" "—" "$(num "$src_lines")" "—" "—" "≤16,500" "$(meets "$src_lines" '<=' 16500)"

# ------------------------------------------------------------------ report
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$REPO" status --porcelain -- src Cargo.toml 2>/dev/null)" ] && commit="$commit + uncommitted changes in src/ or Cargo.toml"
[ -n "$GIVEN_BIN" ] && commit="binary $GIVEN_BIN (PROTEST_LETTER_BIN; the work tree is at $commit)"
REPORT=$REPO/bench/results/latest.md
[ "$MODE" = self-check ] && REPORT=$BENCH_DIR/self-check.md
mkdir -p "$(dirname "$REPORT")"
{
  echo "## protest-letter benchmark ($MODE run, $(date -u '+%Y-%m-%d %H:%M UTC'), $(awk -v s="$T0" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f s", e - s }'))"
  echo
  echo "- machine: $(nproc) cores, $(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(rustc --version 2>/dev/null); protest-letter $commit; mailmerge $("$MM" --version 2>&1 | awk '{ print $NF }') on $("$VENV/bin/python" -V 2>&1); postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo '?') smtp-sink/smtp-source"
  echo "- runs: render $RUNS (warm-up rounds: $RENDER_WARMUP), out-dir $OUTDIR_RUNS, pdf $PDF_RUNS, send $SEND_RUNS (warm-up rounds: $WARMUP), alternating A B A B…; journal $START_RUNS; start-up: $timer"
  echo "- medians of wall time; **ratio** = median over rounds of (the peer's time ÷ ours): how many times faster protest-letter is (below 1×: slower); for memory, sizes and the journal, the ratio of the two figures shown"
  echo
  echo "| case | N | protest-letter | peer | ratio | target | met |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  if [ ${#FAILS[@]} -gt 0 ]; then
    echo
    echo "**Failed steps (${#FAILS[@]}):**"
    echo
    printf -- '- %s\n' "${FAILS[@]}"
  fi
} > "$REPORT"
cat "$REPORT"
if [ ${#FAILS[@]} -gt 0 ]; then
  log "${#FAILS[@]} step(s) failed"
  exit 1
fi
log "done; table written to $REPORT"
