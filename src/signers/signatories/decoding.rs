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
}

/// Works out the list's encoding and returns its UTF-8 text: the file
/// itself when it is UTF-8, else a UTF-8 copy. Only the first 64 KiB are
/// read here; whether the rest of a UTF-8 file is UTF-8 too is seen by
/// `check`, in the pass it makes anyway (`Verify`).
pub(super) fn decode(
    name: &Path,
    raw: Data,
    forced: Option<&'static Encoding>,
) -> Result<(&'static Encoding, Data, Verify)> {
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
        (None, Some((from_bom, _))) => (from_bom, Verify::Sure),
        (None, None) => match utf16_without_bom(&head) {
            Some(utf16) => (utf16, Verify::No),
            None if invalid_in_head.is_none() => (UTF_8, Verify::Presumed),
            None => (guess_legacy(raw.open()?)?, Verify::No),
        },
    };
    let bom_len = match bom {
        Some((e, len)) if e == encoding => len,
        _ => 0,
    };
    if encoding == UTF_8 {
        if let Some(offset) = invalid_in_head {
            let (line, column) = line_and_column(&head[..], offset)?;
            return Err(not_utf8_error(
                name,
                line,
                column,
                guess_legacy(raw.open()?)?,
            ));
        }
        return Ok(match raw {
            Data::File { path, .. } => (
                UTF_8,
                Data::File {
                    path,
                    skip: bom_len,
                },
                verify,
            ),
            Data::Temp(_) if bom_len == 0 => (UTF_8, raw, verify),
            // Decoded (and so checked) into a copy without the mark.
            Data::Temp(_) => (UTF_8, transcode(name, &raw, UTF_8)?, Verify::No),
        });
    }
    Ok((encoding, transcode(name, &raw, encoding)?, Verify::No))
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

/// The most likely single-byte encoding of a file that is not UTF-8
/// (Windows-1252 in Western Europe, Windows-1251 for Cyrillic…).
pub(super) fn guess_legacy(mut reader: impl Read) -> Result<&'static Encoding> {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let mut buf = vec![0; 1 << 16];
    let mut fed = 0usize;
    loop {
        let n = reader.read(&mut buf)?;
        detector.feed(&buf[..n], n == 0);
        fed += n;
        // A few megabytes are plenty to tell encodings apart.
        if n == 0 || fed > 8 << 20 {
            break;
        }
    }
    Ok(detector.guess(None, chardetng::Utf8Detection::Deny))
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
