#!/usr/bin/env bash
# bench/run.sh - protest-letter against its peer (mailmerge 2.3.0, PyPI) and the
# practical limits on this machine, all measured in ONE run so that the ratios
# mean something on a shared, noisy machine. See BENCHMARKS.md.
#
#   bash bench/run.sh               full run (about 10-15 min on 2 cores)
#   bash bench/run.sh --quick       smaller N, fewer runs (under 3 min)
#   bash bench/run.sh --self-check  tiny N, one run each: every step and tool
#                                   works; exits non-zero if any step fails (CI)
#
# Cases (ideas from ../shared/bench/peer_bench.sh, our shared peer/limit script):
#   render   N signatories -> mbox, vs mailmerge --dry-run and a bare std-only
#            Rust loop writing the same bytes (bench/baseline); -> text and
#            json vs the bare loop writing those bytes
#   plan     (--self-check, or PLAN_CASES=N) the batch fast path's
#            differential test with many generated signers
#   send     N letters to postfix smtp-sink on 127.0.0.1, vs mailmerge
#            (ratelimit = 0) and smtp-source with the same number of sessions
#   memory   peak RSS (/usr/bin/time %M) rendering 1e3 .. 1e6 signatories, and
#            sending 1e3 .. 1e6 letters to smtp-sink (durable journal); a
#            --group petition of 1e3 .. 1e6 members against its own size
#   journal  a one-letter send after a 1,000,000-letter journal vs after an
#            empty one: wall time and peak RSS (the journal's index at work)
#   start-up one letter of the built-in campaign to stdout, vs mailmerge --limit 1
#
# Knobs (environment): BENCH_DIR (cache: venv, baseline build; default
# /tmp/protest-letter-bench), RENDER_NS, RENDER_FORMATS (mbox text json), SEND_NS,
# MM_SEND_NS, MEM_NS, SEND_MEM_NS, BIG_JOURNAL (letters in the journal case), RUNS,
# BIG_RUNS, SEND_RUNS, START_RUNS, PORT, PLAN_CASES, KEEP=1 (keep the work folder).
# Everything listens on and connects to 127.0.0.1 only; a trap stops every
# server this script started and removes its work folder.
set -uo pipefail

MODE=full
for arg in "$@"; do
  case $arg in
    --quick) MODE=quick ;;
    --self-check) MODE=self-check ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

case $MODE in
  full)
    : "${RENDER_NS:=1000 10000 100000}" "${RUNS:=5}" "${BIG_RUNS:=3}" "${WARMUP:=1}"
    : "${SEND_NS:=1000 10000}" "${MM_SEND_NS:=1000}" "${SEND_RUNS:=3}"
    : "${MEM_NS:=1000 100000 1000000}" "${START_RUNS:=30}" "${TIMEOUT:=3600}"
    : "${SEND_MEM_NS:=1000 100000 1000000}" "${BIG_JOURNAL:=1000000}" ;;
  quick)
    : "${RENDER_NS:=1000 10000}" "${RUNS:=3}" "${BIG_RUNS:=3}" "${WARMUP:=1}"
    : "${SEND_NS:=1000}" "${MM_SEND_NS:=1000}" "${SEND_RUNS:=3}"
    : "${MEM_NS:=1000 100000}" "${START_RUNS:=20}" "${TIMEOUT:=600}"
    : "${SEND_MEM_NS:=1000 10000}" "${BIG_JOURNAL:=100000}" ;;
  self-check)
    : "${RENDER_NS:=100}" "${RUNS:=1}" "${BIG_RUNS:=1}" "${WARMUP:=0}"
    : "${SEND_NS:=50}" "${MM_SEND_NS:=50}" "${SEND_RUNS:=1}"
    : "${MEM_NS:=100 1000}" "${START_RUNS:=3}" "${TIMEOUT:=120}"
    : "${SEND_MEM_NS:=100 1000}" "${BIG_JOURNAL:=1000}" ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/protest-letter-bench}
MM_VERSION=${MM_VERSION:-2.3.0}
VENV=$BENCH_DIR/venv
MM=$VENV/bin/mailmerge
SINK=/usr/sbin/smtp-sink
SRC=/usr/sbin/smtp-source
TIME=/usr/bin/time
W=$BENCH_DIR/work.$$
# One fixed instant for Date and Message-ID (ours and the baseline): 2026-11-22 00:00:00 UTC.
export SOURCE_DATE_EPOCH=1795305600
export LC_ALL=C
unset "${!PROTEST_LETTER_@}"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
FAILS=()
fail() { FAILS+=("$*"); log "FAILED: $*"; }
die() { log "FATAL: $*"; exit 1; }

SINK_PID=
cleanup() {
  if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ]; then log "work folder kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
  { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "mailmerge==$MM_VERSION"; } >&2 ||
    fail "install: mailmerge==$MM_VERSION in $VENV"
fi
for tool in "$MM" "$SINK" "$SRC" "$TIME"; do
  [ -x "$tool" ] || fail "install: $tool missing"
done
"$MM" --version >/dev/null 2>&1 || fail "install: $MM does not start"

# ------------------------------------------------------------------ build
log "cargo build --release (protest-letter)"
(cd "$REPO" && cargo build --release -q) >&2 || die "cargo build --release"
TARGET_DIR=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])') || die "cargo metadata"
# A private copy: another build of the shared target cannot change it mid-run.
mkdir -p "$W/bin" && cp "$TARGET_DIR/release/protest-letter" "$W/bin/" || die "no release binary"
PL=$W/bin/protest-letter
log "cargo build --release (bench/baseline, target $BENCH_DIR/target)"
CARGO_TARGET_DIR=$BENCH_DIR/target cargo build --release -q \
  --manifest-path "$REPO/bench/baseline/Cargo.toml" >&2 || die "cargo build (baseline)"
BASE=$BENCH_DIR/target/release/protest-letter-baseline

# ------------------------------------------------------------------ plan check
# The batch fast path (src/plan) must write the general path's bytes: its
# differential property test with many generated signers (cargo test runs
# a few dozen). PLAN_CASES sets how many; the self-check always runs it.
if [ "$MODE" = self-check ] || [ -n "${PLAN_CASES:-}" ]; then
  : "${PLAN_CASES:=2000}"
  log "plan: differential test, $PLAN_CASES generated cases (fast path vs general path, every letter, recipient, format)"
  if (cd "$REPO" && PROTEST_LETTER_PLAN_CASES=$PLAN_CASES cargo test -q --lib -- plan:: petition::) >"$W/plan.log" 2>&1; then
    PLAN_ROW=yes
  else
    PLAN_ROW=**no**
    fail "plan: the fast path's bytes differ from the general path's: $(grep -m1 -A3 'panicked' "$W/plan.log" | tr '\n' ' ' | tail -c 400)"
  fi
fi

# ------------------------------------------------------------------ data
# The campaign: one recipient with two required copies, no campaign copies_to;
# the letter's words come from bench/letter-body.txt for every tool.
SUBJECT="Release the trade union lawyer Natalia Sokolova"
mkdir -p camp/letters
cat > camp/recipients.toml <<'EOF'
[campaign]
name = "Benchmark campaign"
description = "Made by bench/run.sh"
copies_to = []
default_letter = "bench"

[[recipient]]
id = "court"
name = "Chair of the Court"
title = "Chair of the Court"
salutation = "Dear Madam Chair"
email = "court@court-bench.org"
cc = ["copy-one@court-bench.org", "copy-two@court-bench.org"]
EOF
{
  printf '+++\nsubject = "%s"\ndescription = "benchmark letter"\nrecipients = ["court"]\n+++\n' "$SUBJECT"
  sed 's/{{NAME}}/{{ signer.name }}/g' "$REPO/bench/letter-body.txt"
} > camp/letters/bench.txt
# mailmerge: the same message (To, Cc both copies, From, Reply-To, Subject).
{
  printf 'TO: "Chair of the Court" <court@court-bench.org>\n'
  printf 'CC: copy-one@court-bench.org, copy-two@court-bench.org\n'
  printf 'FROM: "{{name}}" <sec@union.example>\nREPLY-TO: "{{name}}" <{{email}}>\n'
  printf 'SUBJECT: %s\n\n' "$SUBJECT"
  sed 's/{{NAME}}/{{name}}/g' "$REPO/bench/letter-body.txt"
} > mm.tpl

members() { # members N > FILE: deterministic name,email rows (an LCG, as in peer_bench.sh)
  awk -v n="$1" 'BEGIN {
    split("Amira Ben Chloe Dmitri Esther Farid Grace Hugo Ines Jonas Keiko Liam Maya Nikhil Olga Pablo Qing Rosa Samuel Tara Umar Vera Wes Xenia Yusuf Zoe", F, " ");
    split("Abbott Baker Chen Dubois Evans Fischer Garcia Hughes Ivanova Jensen Kowalski Lopez Mensah Nakamura Okafor Patel Quinn Rossi Singh Thompson Ueda Varga Walsh Xu Yilmaz Zhang", L, " ");
    print "name,email"; s = 12345;
    for (i = 1; i <= n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648; a = int(s / 65536) % 26 + 1;
      s = (s * 1103515245 + 12345) % 2147483648; b = int(s / 65536) % 26 + 1;
      printf "%s %s,%s.%s%d@members-bench.org\n", F[a], L[b], tolower(F[a]), tolower(L[b]), i;
    } }'
}
# mailmerge's server: the local sink of the send case (no TLS, no login, no rate limit).
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
printf '[smtp_server]\nhost = 127.0.0.1\nport = %s\nratelimit = 0\n' "$PORT" > mm.conf
for n in 1 $RENDER_NS $SEND_NS $MEM_NS $SEND_MEM_NS; do [ -s "m_$n.csv" ] || members "$n" > "m_$n.csv"; done
# The bare loop's template: our own mbox entry for one signatory, with the
# signer's name, email and Message-ID hash made placeholders again, so that
# the loop writes our bytes whatever header order or wording we use.
"$PL" --campaign camp write bench --signatories m_1.csv --format mbox --email sec@union.example \
  --to court --date 2026-11-22 </dev/null > one.mbox 2>"$W/steps.log.one" ||
  fail "render: protest-letter cannot write one letter: $(tail -c 300 "$W/steps.log.one")"
IFS=, read -r ONE_NAME ONE_EMAIL < <(sed -n 2p m_1.csv)
sed -E -e "s/${ONE_EMAIL//./\\.}/{{email}}/g" -e "s/${ONE_NAME}/{{name}}/g" \
  -e 's/^(Message-ID: <)[0-9a-f]{16}\./\1{{msgid}}./' one.mbox > base.tpl
grep -q '{{msgid}}' base.tpl && [ "$(grep -c '{{name}}' base.tpl)" -ge 2 ] ||
  fail "render: cannot make the bare loop's template from our output (Message-ID or name not found)"
# The same for text (letters separated by a page break) and json lines.
"$PL" --campaign camp write bench --signatories m_1.csv --format text --email sec@union.example \
  --to court --date 2026-11-22 </dev/null > one.txt 2>>"$W/steps.log.one" &&
  "$PL" --campaign camp write bench --signatories m_1.csv --format json --email sec@union.example \
    --to court --date 2026-11-22 </dev/null > one.json 2>>"$W/steps.log.one" ||
  fail "render: protest-letter cannot write one letter as text or json: $(tail -c 300 "$W/steps.log.one")"
{ printf '{{sep}}\f\n{{/sep}}'; sed -e "s/${ONE_EMAIL//./\\.}/{{email}}/g" -e "s/${ONE_NAME}/{{name}}/g" one.txt; } > base_text.tpl
sed -E -e "s/${ONE_EMAIL//./\\.}/{{email}}/g" -e "s/${ONE_NAME}/{{name}}/g" -e 's/("message_id":"<)[0-9a-f]{16}\./\1{{msgid}}./' one.json > base_json.tpl
grep -q '{{name}}' base_text.tpl && grep -q '{{msgid}}' base_json.tpl ||
  fail "render: cannot make the bare loop's text or json template from our output"

# ------------------------------------------------------------------ timing
# compare RUNS WARMUP NAME CMD [NAME CMD]...: runs the commands in turn,
# A B C A B C ..., each as `sh -c "exec CMD"` (CMD may redirect stdout),
# wall time from $EPOCHREALTIME. Fills T[NAME] with the run times. After each
# timed run, `$VERIFY NAME` (if set) may check the result.
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
# ratio A B: median over runs of T[B]/T[A], i.e. how many times faster A is than B.
ratio() {
  local a=(${T[$1]}) b=(${T[$2]}) i out=()
  for i in "${!a[@]}"; do
    [ "${a[$i]}" != NA ] && [ "${b[$i]:-NA}" != NA ] && out+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { if (x > 0) printf "%.4f", y / x }')")
  done
  printf '%s\n' "${out[*]:-}" | median
}
num() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v == "NA" || v == "") print "NA"; else { s = sprintf("%." d "f", v); if (d == 0) { n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } s = s n } print s } }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t + 0 > 0) print n / t; else print "NA" }'; }
mbs() { awk -v b="$1" -v t="$2" 'BEGIN { if (t + 0 > 0) printf "%.1f", b / t / 1e6; else print "NA" }'; }
times() { awk -v r="$1" 'BEGIN { if (r == "NA" || r == "") print "NA"; else if (r >= 10) printf "%.0f×", r; else if (r >= 1) printf "%.1f×", r; else printf "%.2f×", r }'; }
meets() { # meets VALUE OP TARGET -> yes/no
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { if (v == "NA" || v == "") { print "?"; exit }
    ok = (op == ">=") ? (v >= t) : (v <= t); print (ok ? "yes" : "**no**") }'; }
ROWS=()
row() { ROWS+=("| $(IFS='|'; echo "$*" | sed 's/|/ | /g') |"); }
at_target() { [ "$1" = "$2" ] && echo "$3" || echo "— (target at N=$(num "$2"))"; }

# ------------------------------------------------------------------ 1. render
# mbox against mailmerge and the bare loop; text and json against the bare
# loop writing the same bytes (mailmerge writes neither).
same_bytes() { # same_bytes FORMAT OURS BASE: equal, Message-ID hashes aside
  case $1 in
    mbox) cmp -s <(grep -v '^Message-ID: ' "$2") <(grep -v '^Message-ID: ' "$3") ;;
    json) cmp -s <(sed -E 's/"message_id":"<[^"]*>"/"message_id":"<>"/' "$2") \
      <(sed -E 's/"message_id":"<[^"]*>"/"message_id":"<>"/' "$3") ;;
    *) cmp -s "$2" "$3" ;;
  esac
}
for fmt in ${RENDER_FORMATS:-mbox text json}; do
  tpl=base.tpl; [ "$fmt" = mbox ] || tpl=base_$fmt.tpl
  for n in $RENDER_NS; do
    r=$RUNS w=$WARMUP
    [ "$n" -ge 100000 ] && { r=$BIG_RUNS; w=0; }
    CASE="render $fmt N=$n"
    mm=(); [ "$fmt" = mbox ] && mm=(mailmerge "$MM --dry-run --no-limit --output-format raw --template mm.tpl --database m_$n.csv --config mm.conf > mm_$n.txt")
    log "$CASE: protest-letter, $([ "$fmt" = mbox ] && echo 'mailmerge, ')bare loop ($r runs, alternating)"
    compare "$r" "$w" \
      ours "$PL --campaign camp write bench --signatories m_$n.csv --format $fmt --email sec@union.example --to court -o ours_$n.$fmt --force --date 2026-11-22" \
      "${mm[@]}" \
      limit "$BASE $tpl m_$n.csv > base_$n.$fmt"
    case $fmt in
      mbox) got_ours=$(grep -c '^From sec@union.example ' "ours_$n.$fmt" 2>/dev/null) ;;
      json) got_ours=$(grep -c '^{"letter":' "ours_$n.$fmt" 2>/dev/null) ;;
      *) got_ours=$(($(grep -c $'^\f$' "ours_$n.$fmt" 2>/dev/null) + 1)) ;;
    esac
    [ "${got_ours:-0}" = "$n" ] || fail "$CASE: protest-letter wrote ${got_ours:-0} letters, not $n"
    same=NO
    same_bytes "$fmt" "ours_$n.$fmt" "base_$n.$fmt" && same=yes
    [ $same = yes ] || fail "$CASE: the bare loop's bytes differ from ours (Message-ID aside)"
    b_ours=$(wc -c < "ours_$n.$fmt") b_base=$(wc -c < "base_$n.$fmt")
    t_o=$(med ours) t_l=$(med limit) r_l=$(ratio ours limit)
    OURS_CELL="$(num "$(rate "$n" "$t_o")") letters/s, $(mbs "$b_ours" "$t_o") MB/s ($(num "$t_o" 3) s)"
    if [ "$fmt" = mbox ]; then
      got_mm=$(grep -c '^>>> message [0-9]* sent$' "mm_$n.txt" 2>/dev/null)
      [ "${got_mm:-0}" = "$n" ] || fail "$CASE: mailmerge printed ${got_mm:-0} messages, not $n"
      b_mm=$(wc -c < "mm_$n.txt") t_m=$(med mailmerge) r_m=$(ratio ours mailmerge)
      row "render → mbox" "$(num "$n")" "$OURS_CELL" \
        "mailmerge --dry-run raw: $(num "$(rate "$n" "$t_m")") letters/s, $(mbs "$b_mm" "$t_m") MB/s ($(num "$t_m" 3) s)" \
        "$(times "$r_m")" "≥100× at 100,000" "$(at_target "$n" 100000 "$(meets "$r_m" '>=' 100)")"
      OURS_CELL="″"
    fi
    row "render → $fmt" "$(num "$n")" "$OURS_CELL" \
      "bare std-only loop, same bytes$([ "$fmt" = text ] || echo ' (Message-ID aside)'): $same; $(num "$(rate "$n" "$t_l")") letters/s, $(mbs "$b_base" "$t_l") MB/s ($(num "$t_l" 3) s)" \
      "$(times "$r_l")" "≥0.33× (within 3×) at 100,000" "$(at_target "$n" 100000 "$(meets "$r_l" '>=' 0.3333)")"
    rm -f "ours_$n.$fmt" "mm_$n.txt" "base_$n.$fmt"
  done
done
# smtp-source sends one of our rendered messages (without the mbox From_ line).
tail -n +2 one.mbox > msg.eml
MSG_BYTES=$(wc -c < msg.eml)

# ------------------------------------------------------------------ 2. send
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
log "smtp-sink on 127.0.0.1:$PORT"
timeout 3600 "$SINK" "${sink_user[@]}" -c "127.0.0.1:$PORT" 1000 > sink.log 2>&1 &
SINK_PID=$! # the timeout wrapper; it passes TERM on to smtp-sink
for _ in $(seq 50); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null && break
  sleep 0.1
done
kill -0 "$SINK_PID" 2>/dev/null || fail "send: smtp-sink did not start ($(tr '\r' '\n' < sink.log | tail -2))"
mesgs() { tr '\r' '\n' < sink.log | grep 'mesg=' | tail -1 | sed 's/.*mesg=\([0-9]*\).*/\1/'; }
LAST_MESGS=0
verify_send() { # after each timed send: the sink got exactly SEND_N new messages
  local now got i
  for ((i = 0; i < 40; i++)); do # the sink may print its counter a moment later
    now=$(mesgs); got=$((${now:-0} - LAST_MESGS))
    [ "$got" -ge "$SEND_N" ] && break
    sleep 0.05
  done
  LAST_MESGS=${now:-0}
  [ "$got" = "$SEND_N" ] || { log "$1: the sink received $got messages, not $SEND_N"; return 1; }
}
OURS_SEND="$PL --campaign camp send bench --email sec@union.example --to court --date 2026-11-22 --smtp smtp://127.0.0.1:$PORT --yes"
for n in $SEND_NS; do
  SEND_N=$n
  args=(
    ours_c1 "$OURS_SEND --signatories m_$n.csv --connections 1 --journal $W/journal-c1-\$BENCH_RUN-$n.jsonl"
    ours_c4 "$OURS_SEND --signatories m_$n.csv --connections 4 --journal $W/journal-c4-\$BENCH_RUN-$n.jsonl"
    source_s1 "$SRC -d -s 1 -m $n -r 3 -F msg.eml -f sec@union.example -t court@court-bench.org 127.0.0.1:$PORT"
    source_s4 "$SRC -d -s 4 -m $n -r 3 -F msg.eml -f sec@union.example -t court@court-bench.org 127.0.0.1:$PORT"
  )
  with_mm=no
  for m in $MM_SEND_NS; do [ "$m" = "$n" ] && with_mm=yes; done
  [ $with_mm = yes ] && args+=(mailmerge "$MM --no-dry-run --no-limit --output-format raw --template mm.tpl --database m_$n.csv --config mm.conf")
  CASE="send N=$n"
  log "$CASE: protest-letter (1 and 4 connections), smtp-source (1 and 4 sessions)$([ $with_mm = yes ] && echo ', mailmerge') ($SEND_RUNS runs)"
  VERIFY=verify_send
  compare "$SEND_RUNS" "$WARMUP" "${args[@]}"
  VERIFY=
  rm -f "$W"/journal-*.jsonl
  for c in 1 4; do
    t=$(med ours_c$c)
    cell="$(num "$(rate "$n" "$t")") msg/s ($(num "$t" 3) s), --connections $c"
    if [ $with_mm = yes ]; then
      r=$(ratio ours_c$c mailmerge)
      row "send → smtp-sink" "$(num "$n")" "$cell" \
        "mailmerge, ratelimit = 0: $(num "$(rate "$n" "$(med mailmerge)")") msg/s ($(num "$(med mailmerge)" 3) s)" \
        "$(times "$r")" "≥20×" "$(meets "$r" '>=' 20)"
    fi
    r=$(ratio ours_c$c source_s$c)
    row "send → smtp-sink" "$(num "$n")" "$cell" \
      "smtp-source -d -s $c (reused connections, ${MSG_BYTES} B message, 3 rcpt): $(num "$(rate "$n" "$(med source_s$c)")") msg/s" \
      "$(times "$r")" "≥1× (as fast, same sessions, durable journal)" "$(meets "$r" '>=' 1)"
  done
  [ $with_mm = yes ] || row "send → smtp-sink" "$(num "$n")" "″" "mailmerge not run at this N (slow; see N=$(num "${MM_SEND_NS%% *}"))" "—" "≥20×" "—"
done

# Peak RSS sending N letters (4 connections, the journal synced as always):
# the summary keeps counts, the journal an index on disk, so it is flat.
declare -A SRSS
for n in $SEND_MEM_NS; do
  log "peak RSS, send N=$n (4 connections)"
  s=$EPOCHREALTIME
  rm -f "$W"/journal-mem.jsonl*
  if timeout "$TIMEOUT" "$TIME" -f %M -o rss.txt sh -c "exec $OURS_SEND --signatories m_$n.csv --connections 4 --journal $W/journal-mem.jsonl" \
    </dev/null >/dev/null 2>"$STEP_LOG.srss"; then
    SRSS[$n]=$(tail -1 rss.txt)
    e=$EPOCHREALTIME
    log "  $((SRSS[$n] / 1024)) MiB, $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s"
  else
    fail "send memory N=$n: exit status $? - $(tail -c 300 "$STEP_LOG.srss" | tr '\n' ' ')"
    SRSS[$n]=NA
  fi
done
rm -f "$W"/journal-mem.jsonl*
lo=$(printf '%s\n' $SEND_MEM_NS | sort -n | head -1) hi=$(printf '%s\n' $SEND_MEM_NS | sort -n | tail -1)
cells=()
for n in $(printf '%s\n' $SEND_MEM_NS | sort -n); do cells+=("$(num "$n"): $(awk -v k="${SRSS[$n]}" 'BEGIN { if (k == "NA") print "NA"; else printf "%.1f MiB", k / 1024 }')"); done
smem_r=$(awk -v a="${SRSS[$lo]}" -v b="${SRSS[$hi]}" 'BEGIN { if (a + 0 > 0 && b != "NA") printf "%.3f", b / a; else print "NA" }')
row "peak RSS, send → smtp-sink" "$(num "$lo")…$(num "$hi")" "$(IFS=';'; echo "${cells[*]}" | sed 's/;/; /g')" \
  "itself at N=$(num "$lo")" "$(awk -v r="$smem_r" 'BEGIN { if (r == "NA") print r; else printf "%.2f× (peak N=%s ÷ peak N=%s)", r, "'"$(num "$hi")"'", "'"$(num "$lo")"'" }')" \
  "≤2× (1,000,000 vs 1,000)" "$(at_target "$hi" 1000000 "$(meets "$smem_r" '<=' 2)")"

# A one-letter send after a journal of BIG_JOURNAL letters, against the same
# after an empty journal: the index beside the journal means start-up does
# not read it. The first run after the journal is written builds the index
# (timed apart); each timed run signs as someone new, so it really sends.
log "journal: a one-letter send after a $(num "$BIG_JOURNAL")-letter journal"
python3 - "$W/big.jsonl" "$BIG_JOURNAL" <<'PY'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as out:
    for i in range(n):
        key = f"bench|court|court@court-bench.org|member{i}@members-bench.org|Member {i}|"
        mid = f"<{i:016x}.1795305600.000000000@union.example>"
        out.write(f'{{"time":"2026-11-22T00:00:00Z","event":"attempt","key":"{key}","message_id":"{mid}"}}\n')
        out.write(f'{{"time":"2026-11-22T00:00:01Z","event":"sent","key":"{key}","message_id":"{mid}","reply":"250 2.0.0 Ok: queued","to":["court@court-bench.org"]}}\n')
PY
ONE_SEND="$PL --campaign camp send bench --email sec@union.example --to court --date 2026-11-22 --smtp smtp://127.0.0.1:$PORT --yes"
s=$EPOCHREALTIME
$ONE_SEND --name "Index Builder" --journal "$W/big.jsonl" </dev/null >/dev/null 2>"$STEP_LOG.big" ||
  fail "journal: the first one-letter send after the big journal failed: $(tail -c 300 "$STEP_LOG.big")"
e=$EPOCHREALTIME
t_build=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')
: > "$W/small.jsonl"
T[one_big]="" T[one_empty]=""
RB=() RE=()
for ((i = 0; i < START_RUNS; i++)); do
  for which in big empty; do
    j=$W/small.jsonl; [ $which = big ] && j=$W/big.jsonl
    s=$EPOCHREALTIME
    if "$TIME" -f %M -o rss1.txt $ONE_SEND --name "Signer $which $i" --journal "$j" </dev/null >/dev/null 2>>"$STEP_LOG.big"; then
      e=$EPOCHREALTIME
      T[one_$which]="${T[one_$which]} $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f", e - s }')"
      [ $which = big ] && RB+=("$(tail -1 rss1.txt)") || RE+=("$(tail -1 rss1.txt)")
    else
      fail "journal: one-letter send ($which journal, run $i): $(tail -c 300 "$STEP_LOG.big" | tr '\n' ' ')"
    fi
  done
done
rss_big=$(printf '%s\n' "${RB[@]:-NA}" | median) rss_empty=$(printf '%s\n' "${RE[@]:-NA}" | median)
jr_inv=$(ratio one_empty one_big) # median of (big journal's time ÷ empty journal's time)
row "one-letter send after a big journal" "$(num "$BIG_JOURNAL") in the journal" \
  "$(awk -v t="$(med one_big)" 'BEGIN { printf "%.1f ms", t * 1000 }'), peak $(awk -v k="$rss_big" 'BEGIN { printf "%.1f MiB", k / 1024 }') (index built once by the first run: $t_build s)" \
  "the same after an empty journal: $(awk -v t="$(med one_empty)" 'BEGIN { printf "%.1f ms", t * 1000 }'), peak $(awk -v k="$rss_empty" 'BEGIN { printf "%.1f MiB", k / 1024 }')" \
  "$(times "$jr_inv") of its time" "≤1.5× the time and ≤1.5× the RSS of the empty-journal run" \
  "time: $(meets "$jr_inv" '<=' 1.5); RSS: $(meets "$(awk -v a="$rss_empty" -v b="$rss_big" 'BEGIN { if (a + 0 > 0) printf "%.3f", b / a; else print "NA" }')" '<=' 1.5)"
rm -f "$W"/big.jsonl* "$W"/small.jsonl*
kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; SINK_PID=
log "smtp-sink stopped"

# ------------------------------------------------------------------ 3. memory
declare -A RSS PET_RSS PET_BYTES
for n in $MEM_NS; do
  log "peak RSS, N=$n"
  s=$EPOCHREALTIME
  if timeout "$TIMEOUT" "$TIME" -f %M -o rss.txt "$PL" --campaign camp write bench --signatories "m_$n.csv" \
    --format mbox --email sec@union.example --to court --date 2026-11-22 </dev/null >/dev/null 2>"$STEP_LOG.rss"; then
    RSS[$n]=$(tail -1 rss.txt)
    e=$EPOCHREALTIME
    log "  $((RSS[$n] / 1024)) MiB, $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s"
  else
    fail "memory N=$n: exit status $? - $(tail -c 300 "$STEP_LOG.rss" | tr '\n' ' ')"
    RSS[$n]=NA
  fi
done
lo=$(printf '%s\n' $MEM_NS | sort -n | head -1) hi=$(printf '%s\n' $MEM_NS | sort -n | tail -1)
cells=()
for n in $(printf '%s\n' $MEM_NS | sort -n); do cells+=("$(num "$n"): $(awk -v k="${RSS[$n]}" 'BEGIN { if (k == "NA") print "NA"; else printf "%.1f MiB", k / 1024 }')"); done
mem_r=$(awk -v a="${RSS[$lo]}" -v b="${RSS[$hi]}" 'BEGIN { if (a + 0 > 0 && b != "NA") printf "%.3f", b / a; else print "NA" }')
row "peak RSS, render → mbox" "$(num "$lo")…$(num "$hi")" "$(IFS=';'; echo "${cells[*]}" | sed 's/;/; /g')" \
  "itself at N=$(num "$lo")" "$(awk -v r="$mem_r" 'BEGIN { if (r == "NA") print r; else printf "%.2f× (peak N=%s ÷ peak N=%s)", r, "'"$(num "$hi")"'", "'"$(num "$lo")"'" }')" \
  "≤2× (1,000,000 vs 1,000)" "$(at_target "$hi" 1000000 "$(meets "$mem_r" '<=' 2)")"

# ---------------------------------------------------------- 3b. petition memory
# A --group petition (the built-in campaign's default letter to the
# Supreme Court) is one letter signed by everyone: its size grows with N,
# so its peak RSS is compared with its own output (issue 13: a small
# multiple of the output, not a template value per member).
PET_CELLS=() PET_WORST=NA
for n in $MEM_NS; do
  log "petition peak RSS, N=$n"
  if timeout "$TIMEOUT" "$TIME" -f %M -o rss.txt "$PL" write sokolova --lang en --signatories "m_$n.csv" \
    --group --format text --to supreme-court --date 2026-11-22 -o "$W/petition.txt" --force </dev/null >/dev/null 2>"$STEP_LOG.pet"; then
    kib=$(tail -1 rss.txt) bytes=$(stat -c %s "$W/petition.txt")
    PET_CELLS+=("$(num "$n"): $(awk -v k="$kib" -v b="$bytes" 'BEGIN { if (b < 1e6) printf "%.1f MiB for a %.0f kB letter", k / 1024, b / 1e3; else printf "%.1f MiB for a %.1f MB letter", k / 1024, b / 1e6 }')")
    PET_RSS[$n]=$kib PET_BYTES[$n]=$bytes
  else
    fail "petition memory N=$n: exit status $? - $(tail -c 300 "$STEP_LOG.pet" | tr '\n' ' ')"
  fi
  rm -f "$W/petition.txt"
done
pet_hi=$(printf '%s\n' $MEM_NS | sort -n | tail -1)
pet_r=$(awk -v k="${PET_RSS[$pet_hi]:-NA}" -v b="${PET_BYTES[$pet_hi]:-NA}" 'BEGIN { if (k == "NA" || b + 0 <= 0) print "NA"; else printf "%.2f", k * 1024 / b }')
row "peak RSS, --group petition → text" "$(num "$(printf '%s\n' $MEM_NS | sort -n | head -1)")…$(num "$pet_hi")" \
  "$(IFS=';'; echo "${PET_CELLS[*]:-NA}" | sed 's/;/; /g')" "its own letter at N=$(num "$pet_hi")" \
  "$(awk -v r="$pet_r" 'BEGIN { if (r == "NA") print r; else printf "%.1f× the letter", r }')" \
  "≤5× the letter at 1,000,000" "$(at_target "$pet_hi" 1000000 "$(meets "$pet_r" '<=' 5)")"

# ------------------------------------------------------------------ 4. start-up
log "start-up: write --name \"Jo Bloggs\" --to supreme-court (built-in campaign, empty folder), $START_RUNS runs"
START_OURS="$PL write --name 'Jo Bloggs' --to supreme-court"
START_MM="$MM --dry-run --limit 1 --output-format raw --template $W/mm.tpl --database $W/m_1.csv --config $W/mm.conf"
timer=
if command -v hyperfine >/dev/null; then
  timer="hyperfine -N, $START_RUNS runs, 3 warm-ups"
  if (cd "$W/empty" && hyperfine -N --style none --warmup 3 --runs "$START_RUNS" \
    --export-json "$W/start.json" "$START_OURS" "$START_MM") >"$STEP_LOG.start" 2>&1; then
    read -r s_o s_m < <(python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"]; print(r[0]["median"], r[1]["median"])' "$W/start.json")
    s_r=$(awk -v a="$s_o" -v b="$s_m" 'BEGIN { printf "%.4f", b / a }')
  else
    fail "start-up (hyperfine): $(tail -c 400 "$STEP_LOG.start" | tr '\n' ' ')"; s_o=NA s_m=NA s_r=NA
  fi
else
  timer="bash loop, \$EPOCHREALTIME, $START_RUNS alternating runs"
  T[start_ours]="" T[start_mm]=""
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
ms() { awk -v t="$1" 'BEGIN { if (t == "NA") print t; else printf "%.2f ms", t * 1000 }'; }
row "start-up, one letter to stdout" "1" "$(ms "$s_o") (built-in campaign, empty folder)" \
  "mailmerge --dry-run --limit 1: $(ms "$s_m")" "$(times "$s_r")" "<5 ms and ≥50×" \
  "<5 ms: $(meets "$s_o" '<=' 0.005); ≥50×: $(meets "$s_r" '>=' 50)"

[ -n "${PLAN_ROW:-}" ] && row "batch fast path = general path" "$(num "$PLAN_CASES") cases" \
  "cargo test --lib -- plan:: petition:: with PROTEST_LETTER_PLAN_CASES=$PLAN_CASES" "every letter, recipient, language, format" "—" "byte-identical" "$PLAN_ROW"

# ------------------------------------------------------------------ report
mkdir -p "$REPO/bench/results"
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$REPO" status --porcelain -- src Cargo.toml 2>/dev/null)" ] && commit="$commit + uncommitted changes in src/ or Cargo.toml"
{
  echo "## protest-letter benchmark ($MODE run, $(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "- machine: $(nproc) cores, $(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(rustc --version); protest-letter $commit; mailmerge $("$MM" --version 2>&1 | awk '{ print $NF }') on $("$VENV/bin/python" -V 2>&1); postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo '?') smtp-sink/smtp-source"
  echo "- runs: render $RUNS (N ≥ 100,000: $BIG_RUNS), send $SEND_RUNS, alternating A B C A B C…; warm-up rounds: $WARMUP; start-up: $timer"
  echo "- medians of wall time; **ratio** = median over runs of (its time ÷ our time) in the same round, i.e. how many times faster protest-letter is (below 1×: slower)"
  echo
  echo "| case | N | protest-letter | compared with | ratio | target | met |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  if [ ${#FAILS[@]} -gt 0 ]; then
    echo
    echo "**Failed steps (${#FAILS[@]}):**"
    echo
    printf -- '- %s\n' "${FAILS[@]}"
  fi
} > "$REPO/bench/results/latest.md"
cat "$REPO/bench/results/latest.md"
if [ ${#FAILS[@]} -gt 0 ]; then
  log "${#FAILS[@]} step(s) failed"
  exit 1
fi
log "done; table written to bench/results/latest.md"
