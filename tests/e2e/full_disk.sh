#!/usr/bin/env bash
# End to end: batch output is all or nothing on a full disk (issue 13).
#
# A small tmpfs (mounted here, so it needs root) that the batch does not
# fit on. For each way of writing a batch (one file per letter with
# --out-dir, one mbox or text file with -o, a --group petition with -o,
# standard output with TMPDIR on the full disk) the run must fail with an
# error that says the disk is full and names the path, and leave the file
# system exactly as it was: no letter, no temporary file, and an earlier
# batch that --force would have replaced unchanged, byte for byte. With
# the space freed (the tmpfs made bigger), the same commands write the
# complete batch, the same bytes as a run on a roomy disk.
#
# Needs python3 and root (mount). When a tmpfs cannot be mounted at all
# (no root, a container without CAP_SYS_ADMIN), the script says so and
# skips (exit 0, counted neither passed nor failed).
# Binary: $PROTEST_LETTER_BIN, else built here with `cargo build --release`.
# Knobs: MEMBERS (default 300), PETITION (default 5000), SIZE (default 256k).
set -euo pipefail

name=full_disk
MEMBERS=${MEMBERS:-300}
PETITION=${PETITION:-5000}
SIZE=${SIZE:-256k}

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
if ! command -v python3 >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; } || give_up "cannot install python3"
fi

tmp=$(mktemp -d)
full=$tmp/full
cleanup() {
  if mountpoint -q "$full" 2>/dev/null; then umount "$full" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$full"
if ! mount -t tmpfs -o "size=$SIZE" tmpfs "$full" 2>"$tmp/mount.err"; then
  echo "e2e $name: SKIPPED: cannot mount a tmpfs at $full ($(tr '\n' ' ' < "$tmp/mount.err")); run as root to check batch output on a full disk"
  echo "e2e $name: 0 passed, 0 failed (skipped)"
  exit 0
fi

release_binary


# Members' lists: the big ones do not fit on the tmpfs, the small ones
# (the first members of the big ones, so their file names are the same)
# do. The petition list gets its own size: a petition is one letter.
members() { # members FILE COUNT
  {
    echo "name,organisation,email,country,message"
    seq "$2" | awk '{ printf "Member %d,Branch %d,member%d@union.org,GB,My own words number %d.\n", $1, $1 % 7, $1, $1 }'
  } >"$1"
}
members "$tmp/big.csv" "$MEMBERS"
members "$tmp/small.csv" 5
members "$tmp/petition.csv" "$PETITION"

# One command line for every case: the repository's campaign, a fixed
# date and clock (so two runs write the same bytes), no profile.
pl() {
  env -i PATH="$PATH" HOME="$tmp" LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=1795000000 \
    TMPDIR="${PL_TMPDIR:-$tmp}" PROTEST_LETTER_PROFILE="$tmp/no-profile.toml" \
    "$bin" --campaign "$repo" --quiet write --date "${PL_DATE:-2026-11-22}" \
    --email sec@union.org --organisation "Unite Branch 42" "$@"
}

# The whole tmpfs as one listing: every path (hidden ones too), its size
# and checksum. "Unchanged" means this listing is the same.
snapshot() {
  (cd "$full" && find . -mindepth 1 \( -type f -printf 'f %p ' -exec sha256sum {} \; \) -o \( -type d -printf 'd %p\n' \) | sort)
}
# A run on the full disk: exit status in $code, stderr in $tmp/err.
attempt() {
  code=0
  pl "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}
# The error says the disk is full, names PATH (not a temporary file that
# is gone), and says what became of the output and what to do.
says_full() { # says_full PATH
  { grep -q "the disk is full (no space left on device)" "$tmp/err" &&
    grep -qF "cannot write $1" "$tmp/err" &&
    grep -q "nothing .*was \(written\|printed\)" "$tmp/err" &&
    grep -q "Free some space" "$tmp/err" &&
    ! grep -q "\.protest-letter-" "$tmp/err"; } ||
    { sed 's/^/    stderr: /' "$tmp/err" >&2; return 1; }
}
no_panic() { ! grep -q "panicked" "$tmp/err"; }
same_as_before() {
  snapshot > "$tmp/after"
  diff -u "$tmp/before" "$tmp/after" >&2
}
failed_cleanly() { # failed_cleanly WHAT PATH
  check "$1: non-zero exit ($code)" test "$code" != 0
  check "$1: the error says the disk is full, names $2, what was kept and what to do" says_full "$2"
  check "$1: no panic" no_panic
  check "$1: the disk holds exactly what it held before (no letters, no temporary files)" same_as_before
}

# References on a roomy disk, to compare the complete batches with.
pl --signatories "$tmp/big.csv" --out-dir "$tmp/ref-dir" 2>"$tmp/ref.err" || give_up "reference --out-dir run failed: $(cat "$tmp/ref.err")"
pl --signatories "$tmp/big.csv" --format mbox -o "$tmp/ref.mbox" 2>"$tmp/ref.err" || give_up "reference mbox run failed: $(cat "$tmp/ref.err")"
pl --signatories "$tmp/big.csv" --format text -o "$tmp/ref.txt" 2>"$tmp/ref.err" || give_up "reference text run failed: $(cat "$tmp/ref.err")"
pl --signatories "$tmp/petition.csv" --group -o "$tmp/ref-petition.txt" 2>"$tmp/ref.err" || give_up "reference petition run failed: $(cat "$tmp/ref.err")"
letters=$(find "$tmp/ref-dir" -type f | wc -l)
echo "    the batch: $letters files, $(du -sk "$tmp/ref-dir" | cut -f1) KiB; mbox $(( $(stat -c %s "$tmp/ref.mbox") / 1024 )) KiB; petition $(( $(stat -c %s "$tmp/ref-petition.txt") / 1024 )) KiB; the disk: $SIZE"
for f in "$tmp/ref.mbox" "$tmp/ref.txt" "$tmp/ref-petition.txt"; do
  [ "$(du -k "$f" | cut -f1)" -gt "${SIZE%k}" ] || give_up "$f fits on the $SIZE disk: raise MEMBERS or PETITION"
done

# ------------------------------------------ (a) --out-dir on a full disk
snapshot > "$tmp/before"
attempt --signatories "$tmp/big.csv" --out-dir "$full/letters"
failed_cleanly "--out-dir into a new folder" "$full/letters"
check "--out-dir into a new folder: the folder is not left behind" test ! -e "$full/letters"

mkdir "$full/empty"
snapshot > "$tmp/before"
attempt --signatories "$tmp/big.csv" --out-dir "$full/empty"
failed_cleanly "--out-dir into an existing empty folder" "$full/empty"
rmdir "$full/empty"

# ------------------------- (b) --out-dir --force over an earlier batch
PL_DATE=2026-11-01 pl --signatories "$tmp/small.csv" --out-dir "$full/letters" 2>"$tmp/err" ||
  give_up "the small batch does not fit: $(cat "$tmp/err")"
earlier=$(find "$full/letters" -type f | wc -l)
snapshot > "$tmp/before"
attempt --signatories "$tmp/big.csv" --out-dir "$full/letters" --force
failed_cleanly "--out-dir --force over an earlier batch of $earlier files" "$full/letters"
check "--out-dir --force: the earlier files are the ones the batch would have replaced" \
  test -n "$(cd "$full/letters" && find . -type f -exec test -e "$tmp/ref-dir/{}" \; -print -quit)"
rm -rf "$full/letters"

# ------------------------------------ (c) -o FILE.mbox and -o FILE.txt
for format in mbox text; do
  ext=$format
  [ "$format" = text ] && ext=txt
  snapshot > "$tmp/before"
  attempt --signatories "$tmp/big.csv" --format "$format" -o "$full/batch.$ext"
  failed_cleanly "--format $format -o FILE" "$full/batch.$ext"
  pl --signatories "$tmp/small.csv" --format "$format" -o "$full/batch.$ext" 2>"$tmp/err" ||
    give_up "the small $format batch does not fit: $(cat "$tmp/err")"
  snapshot > "$tmp/before"
  attempt --signatories "$tmp/big.csv" --format "$format" -o "$full/batch.$ext" --force
  failed_cleanly "--format $format -o FILE --force over an earlier batch" "$full/batch.$ext"
  rm -f "$full/batch.$ext"
done

# --------------------------------------------- (d) a --group petition
snapshot > "$tmp/before"
attempt --signatories "$tmp/petition.csv" --group -o "$full/petition.txt"
failed_cleanly "a --group petition to -o FILE" "$full/petition.txt"
pl --signatories "$tmp/small.csv" --group -o "$full/petition.txt" 2>"$tmp/err" ||
  give_up "the small petition does not fit: $(cat "$tmp/err")"
snapshot > "$tmp/before"
attempt --signatories "$tmp/petition.csv" --group -o "$full/petition.txt" --force
failed_cleanly "a --group petition, -o FILE --force over an earlier one" "$full/petition.txt"
rm -f "$full/petition.txt"

# ----------- standard output: the batch waits in TMPDIR, which is full
snapshot > "$tmp/before"
PL_TMPDIR=$full attempt --signatories "$tmp/big.csv" --format mbox
failed_cleanly "a batch to standard output with TMPDIR on the full disk" "$full"
check "a batch to standard output with TMPDIR on the full disk: nothing printed" test ! -s "$tmp/out"

# ------------------------------- (e) with space freed, the same succeeds
mount -o remount,size=64m "$full"
same_files() { # same_files REFERENCE-DIR DIR
  diff -r "$1" "$2" >&2
}
code=0
pl --signatories "$tmp/big.csv" --out-dir "$full/letters" 2>"$tmp/err" || code=$?
check "with space freed, --out-dir succeeds (exit $code)" test "$code" = 0
check "with space freed, --out-dir writes all $letters files, the same bytes as on a roomy disk" same_files "$tmp/ref-dir" "$full/letters"
rm -rf "$full/letters"
PL_DATE=2026-11-01 pl --signatories "$tmp/small.csv" --out-dir "$full/letters" 2>/dev/null ||
  give_up "the earlier small batch could not be written with space freed"
code=0
pl --signatories "$tmp/big.csv" --out-dir "$full/letters" --force 2>"$tmp/err" || code=$?
check "with space freed, --out-dir --force over the earlier batch succeeds (exit $code)" test "$code" = 0
check "with space freed, --out-dir --force leaves exactly the complete batch" same_files "$tmp/ref-dir" "$full/letters"
for format in mbox text; do
  ext=$format
  [ "$format" = text ] && ext=txt
  pl --signatories "$tmp/small.csv" --format "$format" -o "$full/batch.$ext" 2>/dev/null ||
    give_up "the earlier small $format file could not be written with space freed"
  code=0
  pl --signatories "$tmp/big.csv" --format "$format" -o "$full/batch.$ext" --force 2>"$tmp/err" || code=$?
  check "with space freed, --format $format -o FILE --force succeeds (exit $code)" test "$code" = 0
  check "with space freed, the $format file is the complete batch" cmp "$tmp/ref.$ext" "$full/batch.$ext"
done
messages=$(grep -c '^From ' "$full/batch.mbox" || true)
check "with space freed, the mbox holds one message per letter ($messages)" \
  test "$messages" = "$(grep -c '^From ' "$tmp/ref.mbox")" -a "$messages" -ge "$MEMBERS"
code=0
pl --signatories "$tmp/petition.csv" --group -o "$full/petition.txt" 2>"$tmp/err" || code=$?
check "with space freed, the petition succeeds (exit $code)" test "$code" = 0
check "with space freed, the petition is complete" cmp "$tmp/ref-petition.txt" "$full/petition.txt"
signed=$(grep -c "Member $PETITION\b" "$full/petition.txt" || true)
check "the petition's last signature is in each of its letters ($signed)" test "$signed" -ge 1
leftovers=$(find "$full" -name '.protest-letter*' | wc -l)
check "no temporary files left after the successful runs ($leftovers)" test "$leftovers" = 0

summary
[ "$failed" = 0 ]
