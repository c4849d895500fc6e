//! The list's encoding: from a byte-order mark, `--encoding`, or the text
//! itself (UTF-8, UTF-16 without a mark, else the likeliest legacy
//! encoding), and a UTF-8 copy of a list in any other.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::source::Data;

/// How sure the encoding is, and so what a byte that is not UTF-8 means
/// when `check` finds one past the first 64 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verify {
    /// Decoded into a UTF-8 copy already: nothing to check.
    No,
    /// Presumed from the start of the file: a later non-UTF-8 byte means
    /// the file is in a legacy encoding after all.
    Presumed,
    /// Said outright (`--encoding utf-8`, or a UTF-8 byte-order mark): a
    /// non-UTF-8 byte is an error, reported by line and column.
    Sure,
    /// UTF-8 but for some rows (one pasted from a Windows-1251 file…), or
    /// marked UTF-8 by a byte-order mark: rows that are not UTF-8 are bad
    /// rows, the others are read.
    Rows,
}

/// Works out the list's encoding and returns its UTF-8 text: the file
/// itself when it is UTF-8, else a UTF-8 copy. Only the first 64 KiB are
/// read here; whether the rest of a UTF-8 file is UTF-8 too is seen by
/// `check`, in the pass it makes anyway (`Verify`).
/// Also the lines of a list in a legacy encoding that are UTF-8 (rows
/// pasted in from elsewhere), which would read as `РђРЅРЅР°`.
pub(super) fn decode(
    name: &Path,
    raw: Data,
    forced: Option<&'static Encoding>,
) -> Result<(&'static Encoding, Data, Verify, Vec<u64>)> {
    let mut head = Vec::with_capacity(1 << 16);
    raw.open()?
        .take(1 << 16)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", name.display()))?;
    let bom = Encoding::for_bom(&head);
    // The first invalid byte of the head, if any (a character cut off at
    // its end does not count).
    let invalid_in_head = match std::str::from_utf8(&head) {
        Ok(_) => None,
        Err(e) if e.error_len().is_none() && head.len() == 1 << 16 => None,
        Err(e) => Some(e.valid_up_to() as u64),
    };
    if bom.is_none() && utf16_without_bom(&head).is_none() && super::spreadsheet::binary(&head) {
        return Err(super::spreadsheet::not_a_list(name, ""));
    }
    let (encoding, verify) = match (forced, bom) {
        (Some(forced), _) => (forced, Verify::Sure),
        // Excel's "CSV UTF-8": rows that are not (pasted in) are bad rows.
        (None, Some((from_bom, _))) if from_bom == UTF_8 => (UTF_8, Verify::Rows),
        (None, Some((from_bom, _))) => (from_bom, Verify::Sure),
        (None, None) => match utf16_without_bom(&head) {
            Some(utf16) => (utf16, Verify::No),
            None if invalid_in_head.is_none() => (UTF_8, Verify::Presumed),
            None => match survey(raw.open()?)? {
                survey if survey.mostly_utf8() => (UTF_8, Verify::Rows),
                survey => {
                    let data = transcode(name, &raw, survey.guess)?;
                    return Ok((survey.guess, data, Verify::No, survey.utf8_at));
                }
            },
        },
    };
    let bom_len = match bom {
        Some((e, len)) if e == encoding => len,
        _ => 0,
    };
    if encoding == UTF_8 {
        if let Some(offset) = invalid_in_head.filter(|_| verify != Verify::Rows) {
            let (line, column) = line_and_column(&head[..], offset)?;
            return Err(not_utf8_error(
                name,
                line,
                column,
                survey(raw.open()?)?.guess,
            ));
        }
        let (data, verify) = match raw {
            Data::File { path, .. } => (
                Data::File {
                    path,
                    skip: bom_len,
                },
                verify,
            ),
            Data::Temp(_) if bom_len == 0 => (raw, verify),
            // Decoded (and so checked) into a copy without the mark.
            Data::Temp(_) => (transcode(name, &raw, UTF_8)?, Verify::No),
        };
        return Ok((UTF_8, data, verify, Vec::new()));
    }
    let data = transcode(name, &raw, encoding)?;
    Ok((encoding, data, Verify::No, Vec::new()))
}

/// Text that is not UTF-8 although it should be.
pub(super) fn not_utf8_error(
    name: &Path,
    line: u64,
    column: u64,
    guess: &'static Encoding,
) -> anyhow::Error {
    anyhow::anyhow!(
        "{}:{line}:{column}: this is not UTF-8 text (it looks like {}); \
         leave out --encoding to detect it, or pass --encoding {}",
        name.display(),
        guess.name(),
        guess.name().to_lowercase()
    )
}

/// UTF-16 without a byte-order mark: text where every other byte is zero.
fn utf16_without_bom(head: &[u8]) -> Option<&'static Encoding> {
    let sample = &head[..head.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let zero_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    if zero_odd * 10 >= pairs * 3 && zero_even * 10 < pairs {
        Some(UTF_16LE)
    } else if zero_even * 10 >= pairs * 3 && zero_odd * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The 1-based line and column (in characters, decoded lossily) of a byte
/// offset.
pub(super) fn line_and_column(reader: impl Read, offset: u64) -> Result<(u64, u64)> {
    let mut before = Vec::new();
    reader.take(offset).read_to_end(&mut before)?;
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() as u64 + 1;
    Ok((line, column))
}

/// A look at the lines of a list that is not all UTF-8: how many are
/// UTF-8 with letters beyond ASCII, how many are not UTF-8, and the likeliest
/// encoding of the latter.
#[derive(Debug)]
pub(super) struct Survey {
    pub(super) utf8_lines: u64,
    pub(super) invalid_lines: u64,
    /// The numbers of the lines that are UTF-8 beyond ASCII (the first
    /// 65,536 of them).
    pub(super) utf8_at: Vec<u64>,
    /// The likeliest legacy encoding of the lines that are not UTF-8
    /// (Windows-1252 in Western Europe, Windows-1251 for Cyrillic…).
    pub(super) guess: &'static Encoding,
}

impl Survey {
    /// UTF-8 with some rows that are not: the UTF-8 lines (beyond ASCII,
    /// which reads the same in both) are at least as many as the others.
    pub(super) fn mostly_utf8(&self) -> bool {
        self.utf8_lines > 0 && self.utf8_lines >= self.invalid_lines
    }
}

/// Surveys the lines of `reader` (the first few megabytes are plenty).
/// Only the lines that are not UTF-8 are shown to the encoding detector,
/// so that UTF-8 rows cannot make Cyrillic look like Chinese (the bytes of
/// UTF-8 `Анна` read as GBK are `袗薪薪邪`); and a guess of a CJK encoding is
/// not taken for a list whose UTF-8 part has no CJK text.
pub(super) fn survey(mut reader: impl Read) -> Result<Survey> {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let mut survey = Survey {
        utf8_lines: 0,
        invalid_lines: 0,
        utf8_at: Vec::new(),
        guess: encoding_rs::WINDOWS_1252,
    };
    // The number of the next line to look at (pieces of a long line
    // share its number).
    let mut next_line = 1u64;
    let mut valid_cjk = false;
    // Up to 64 KiB of the lines that are not UTF-8, for `not_cjk`.
    let mut sample = Vec::new();
    let mut line = Vec::new();
    let mut buf = vec![0; 1 << 16];
    let mut fed = 0usize;
    // Whether a line that is not UTF-8 has been seen yet.
    let mut any_invalid = false;
    // Looks at one line; true if it is not UTF-8.
    let mut look = |line: &[u8], detector: &mut chardetng::EncodingDetector| {
        let number = next_line;
        next_line += u64::from(line.ends_with(b"\n"));
        if line.is_ascii() {
            return false;
        }
        match std::str::from_utf8(line) {
            Ok(text) => {
                survey.utf8_lines += 1;
                if survey.utf8_at.len() < 1 << 16 {
                    survey.utf8_at.push(number);
                }
                valid_cjk |= text.chars().any(is_cjk);
                false
            }
            // A character cut off where a long line was split.
            Err(e) if e.error_len().is_none() && line.len() >= 1 << 16 => false,
            Err(_) => {
                survey.invalid_lines += 1;
                detector.feed(line, false);
                if sample.len() < 1 << 16 {
                    sample.extend_from_slice(line);
                }
                true
            }
        }
    };
    loop {
        let n = reader.read(&mut buf)?;
        fed += n;
        let mut rest = &buf[..n];
        while let Some(end) = memchr::memchr(b'\n', rest) {
            line.extend_from_slice(&rest[..=end]);
            any_invalid |= look(&line, &mut detector);
            line.clear();
            rest = &rest[end + 1..];
        }
        line.extend_from_slice(rest);
        // A few megabytes are plenty to tell encodings apart, once they
        // hold a line that is not UTF-8 (one may come only near the end).
        let enough = fed > 8 << 20 && any_invalid;
        if n == 0 || enough || line.len() >= 1 << 16 {
            any_invalid |= look(&line, &mut detector);
            line.clear();
        }
        if n == 0 || enough {
            break;
        }
    }
    detector.feed(b"", true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    survey.guess = if guess.is_single_byte() || valid_cjk {
        guess
    } else {
        not_cjk(&sample)
    };
    Ok(survey)
}

/// CJK ideographs, kana and hangul.
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}

/// The single-byte encoding of text that chardetng took for Chinese,
/// Japanese or Korean: Cyrillic (whole words of bytes over 0x7F) in
/// Windows-1251, KOI8-U or CP866, whichever reads as words with capitals
/// only at their start; else Western European (Windows-1252).
pub(super) fn not_cjk(sample: &[u8]) -> &'static Encoding {
    let high = sample.iter().filter(|&&b| b >= 0x80).count();
    let in_runs = sample
        .windows(2)
        .filter(|w| w[0] >= 0x80 && w[1] >= 0x80)
        .count();
    if in_runs * 2 < high {
        return encoding_rs::WINDOWS_1252;
    }
    let score = |encoding: &'static Encoding| -> i64 {
        let (text, _) = encoding.decode_without_bom_handling(sample);
        let mut score = 0i64;
        let mut previous = ' ';
        for c in text.chars() {
            if c.is_ascii() {
                previous = c;
                continue;
            }
            let cyrillic = ('\u{0400}'..='\u{04FF}').contains(&c);
            score += if cyrillic { 1 } else { -3 };
            // A capital after a small letter: the wrong case order.
            if c.is_uppercase() && previous.is_lowercase() {
                score -= 2;
            }
            previous = c;
        }
        score
    };
    // The last of equals wins: Windows-1251, the commonest.
    [
        encoding_rs::IBM866,
        encoding_rs::KOI8_U,
        encoding_rs::WINDOWS_1251,
    ]
    .into_iter()
    .max_by_key(|e| score(e))
    .unwrap_or(encoding_rs::WINDOWS_1251)
}

/// Writes a UTF-8 copy of `raw` (read as `encoding`) to a temporary file.
pub(super) fn transcode(name: &Path, raw: &Data, encoding: &'static Encoding) -> Result<Data> {
    let mut input = raw.open()?;
    let mut decoder = encoding.new_decoder_with_bom_removal();
    let mut tmp = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    let mut buf = vec![0; 1 << 16];
    let mut text = String::with_capacity(3 << 16);
    let mut line: u64 = 1;
    loop {
        let n = input.read(&mut buf)?;
        let last = n == 0;
        let mut read = 0;
        loop {
            text.clear();
            let (result, used) =
                decoder.decode_to_string_without_replacement(&buf[read..n], &mut text, last);
            read += used;
            out.write_all(text.as_bytes())?;
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::OutputFull => {
                    line += text.matches('\n').count() as u64;
                    text.reserve(1 << 16);
                }
                DecoderResult::Malformed(..) => {
                    line += text.matches('\n').count() as u64;
                    bail!(
                        "{}:{line}: this line is not valid {}; save the list again from your \
                         spreadsheet as \"CSV UTF-8\", or name its encoding with --encoding",
                        name.display(),
                        encoding.name()
                    );
                }
            }
        }
        line += text.matches('\n').count() as u64;
        if last {
            break;
        }
    }
    out.flush()
        .context("cannot write a temporary copy of the list")?;
    drop(out);
    Ok(Data::Temp(tmp.into_temp_path()))
}
