#!/usr/bin/env bash
# End to end with real PDF readers: `protest-letter write --format pdf`
# checked with qpdf and poppler's tools, as a print shop or a reader
# would see the file: the structure is sound, every font is embedded, the
# text extracted gives back the letter's words in order (English and
# Russian), the paper size is right, the recipient's address lies in
# the envelope's window, and a phone-only office's call sheet holds its
# number, the clocks and the talking points in both languages.
#
# Needs qpdf, pdfinfo, pdffonts and pdftotext (Debian's qpdf and
# poppler-utils; .ci/run installs them) and python3. The binary comes from
# $PROTEST_LETTER_BIN, else `cargo build --release` is run.
# Prints `e2e pdf: N passed, M failed`; exits non-zero on failure.
set -euo pipefail

name=pdf
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
for tool in qpdf pdfinfo pdffonts pdftotext python3; do
  command -v "$tool" >/dev/null 2>&1 || give_up "$tool is not installed"
done
release_binary

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cwd" "$work/home"
cd "$work/cwd"

# Isolated from the caller: built-in campaign (empty cwd), no profile, no
# PROTEST_LETTER_* variables.
pl() {
  env -i PATH="$PATH" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
    XDG_DATA_HOME="$work/home/.local/share" LANG=C.UTF-8 TZ=Europe/London \
    "$bin" write --quiet --date 2026-11-22 --name "Anna Petrova" \
    --organisation "Free Speech Group" --address "1 High Street, London N1 1AA" "$@"
}

pl --country GB --to foreign-ministry -o en.pdf
pl --country GB --to foreign-ministry --format text >en.txt
pl --country GB --to supreme-court -o ru.pdf
pl --country GB --to supreme-court --format text >ru.txt
pl --country GB --to foreign-ministry --paper letter -o letter.pdf
pl --country US --to foreign-ministry -o us.pdf

qpdf_clean() { qpdf --check "$1" >"$work/qpdf.log" 2>&1 && grep -q "^No syntax or stream encoding errors" "$work/qpdf.log"; }
check "qpdf --check finds no errors (English)" qpdf_clean en.pdf
check "qpdf --check finds no errors (Russian)" qpdf_clean ru.pdf

# pdffonts: a header of two lines, then one font a line; `emb` is the
# fifth column from the end.
all_embedded() {
  pdffonts "$1" | awk 'NR > 2 { n++; if ($(NF-4) != "yes") bad++ } END { exit !(n > 0 && !bad) }'
}
check "pdffonts: every font embedded (English)" all_embedded en.pdf
check "pdffonts: every font embedded (Russian)" all_embedded ru.pdf

# Every word of the text format, in the same order, among the PDF's words
# (which also hold the sender's block, the subject and page numbers).
same_words() {
  pdftotext "$1" "$work/extracted.txt"
  python3 - "$2" "$work/extracted.txt" <<'PY'
import sys
want = open(sys.argv[1], encoding="utf-8").read().split()
got = open(sys.argv[2], encoding="utf-8").read().split()
i = 0
for word in got:
    if i < len(want) and word == want[i]:
        i += 1
if i != len(want):
    print(f"word {i + 1} of {len(want)} not found in order: {want[i]!r}", file=sys.stderr)
    sys.exit(1)
PY
}
check "pdftotext gives back every word of the English letter, in order" same_words en.pdf en.txt
check "pdftotext gives back every word of the Russian letter, in order" same_words ru.pdf ru.txt
grep -q "Уважаемый" ru.txt || give_up "the Russian letter is not in Russian"

page_size() { pdfinfo "$1" | grep -q "^Page size:.*($2)"; }
check "pdfinfo: A4 by default (signer in GB)" page_size en.pdf A4
check "pdfinfo: Letter with --paper letter" page_size letter.pdf letter
check "pdfinfo: Letter by default for a signer in the US" page_size us.pdf letter

# The first word of the recipient's first address line, found by
# `pdftotext -bbox` (points from the top-left corner), lies inside the
# window: DIN 5008 form B on A4, a #10 envelope's window on Letter.
in_window() {
  pdftotext -bbox -f 1 -l 1 "$1" "$work/bbox.html"
  python3 - "$work/bbox.html" "$(head -n 1 "$2")" "$3" "$4" "$5" "$6" <<'PY'
import re
import sys
html, line = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2].split()
left, top, right, bottom = map(float, sys.argv[3:7])
words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)
texts = [w[4] for w in words]
for i in range(len(texts) - len(line) + 1):
    if texts[i:i + len(line)] == line:
        x0, y0 = map(float, words[i][:2])
        x1, y1 = map(float, words[i + len(line) - 1][2:4])
        ok = left <= x0 and x1 <= right and top <= y0 and y1 <= bottom
        if not ok:
            print(f"{line} at {x0},{y0}-{x1},{y1}: outside the window", file=sys.stderr)
        sys.exit(0 if ok else 1)
print(f"{line} not found on page 1", file=sys.stderr)
sys.exit(1)
PY
}
mm() { python3 -c "print($1 * 72 / 25.4)"; }
check "pdftotext -bbox: the address line is in the DIN 5008 window (A4)" \
  in_window en.pdf en.txt "$(mm 20)" "$(mm 45)" "$(mm 105)" "$(mm 90)"
check "pdftotext -bbox: the address line is in the #10 window (Letter)" \
  in_window letter.pdf en.txt 63 147 315 210

# A members' list: one PDF per letter in --out-dir; a pipe gets one PDF.
printf 'name,email,country\nOne Member,one@example.org,GB\nTwo Member,two@example.org,CA\n' >members.csv
pl --to supreme-court --signatories members.csv --format pdf --out-dir letters
count_pdfs() { [ "$(find "$1" -name '*.pdf' | wc -l)" -eq "$2" ]; }
check "--out-dir: one PDF per member's letter" count_pdfs letters 2
# A petition: one letter for each recipient, signed by every member.
pl --to supreme-court --to foreign-ministry --signatories members.csv --group \
  --format pdf --out-dir petitions
check "--group --out-dir: one PDF per petition" count_pdfs petitions 2
signed_by_all() { pdftotext petitions/*foreign-ministry*.pdf - | grep -q "Two Member"; }
check "a petition's PDF names every member" signed_by_all
sheets() {
  pl --to foreign-ministry --signatories members.csv --group --blank-sheets 1 -o sheets.pdf &&
    qpdf_clean sheets.pdf && all_embedded sheets.pdf &&
    pdftotext sheets.pdf - | grep -q "signatures, page 2 of 2"
}
check "a petition's signature sheets and a blank sheet: a sound PDF, numbered pages" sheets
# A call sheet for the office that only takes phone calls.
pl --country GB --to presidential-administration -o call.pdf
check "qpdf --check finds no errors (call sheet)" qpdf_clean call.pdf
check "pdffonts: every font embedded (call sheet)" all_embedded call.pdf
call_sheet() {
  pdftotext -layout call.pdf "$work/call.txt" &&
    grep -q "+7 7172 74 55 24" "$work/call.txt" &&
    grep -Eq "^ *09:00 +04:00" "$work/call.txt" &&
    grep -q "Europe/London, UTC+00:00" "$work/call.txt" &&
    grep -q "1. I am calling about Natalia Sokolova" "$work/call.txt" &&
    grep -q "1. Я звоню по поводу Натальи Соколовой" "$work/call.txt" &&
    grep -q "No answer" "$work/call.txt"
}
check "pdftotext: the call sheet's number, the clocks, both languages' points, the boxes" call_sheet
piped() { pl --country GB --to supreme-court --format pdf | head -c 5 | grep -q '%PDF-'; }
check "standard output, when a pipe, gets the PDF" piped

summary
[ "$failed" -eq 0 ]
