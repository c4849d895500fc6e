//! Lists kept as spreadsheets (`.xlsx`, `.xls`, `.ods`): one sheet is
//! read with calamine and written out as a UTF-8 CSV copy, so that the
//! same column rules and the same row checks apply as to an exported CSV.
//! The copy remembers which sheet row each of its lines came from, so
//! messages name the sheet's own row numbers. Any other binary file is
//! refused here, before its bytes could reach a message.

use std::io::{BufReader, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use calamine::{Data as Cell, Ods, Range, Reader, Xls, Xlsb, Xlsx, open_workbook_from_rs};

use super::printable;
use super::source::{Data, ListFile};

/// What the first bytes of a list say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A ZIP archive: an `.xlsx`, `.xlsb` or `.ods` workbook, or not a list.
    Zip,
    /// An OLE compound file: an `.xls` workbook, or not a list.
    Ole,
    /// Text, or a binary file `binary` finds out later.
    Text,
}

/// The kind of file `raw` holds, from its first bytes.
pub(super) fn sniff(raw: &Data) -> Result<Kind> {
    let mut magic = Vec::with_capacity(8);
    raw.open_with(64)?.take(8).read_to_end(&mut magic)?;
    Ok(if magic.starts_with(b"PK\x03\x04") {
        Kind::Zip
    } else if magic.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Kind::Ole
    } else {
        Kind::Text
    })
}

/// Whether the start of a list that is not UTF-16 is a binary file (a PDF,
/// an image, anything with NUL bytes) rather than text.
pub(super) fn binary(head: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"%PDF-",
        b"\x89PNG",
        b"\xFF\xD8\xFF",
        b"GIF8",
        b"\x1F\x8B",
        b"BZh",
        b"\xFD7zXZ",
        b"7z\xBC\xAF",
        b"Rar!",
        b"\x7FELF",
        b"{\\rtf",
    ];
    MAGIC.iter().any(|m| head.starts_with(m)) || memchr::memchr(0, head).is_some()
}

/// The error for a file that is neither text nor a workbook.
pub(super) fn not_a_list(name: &Path, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "this is not a CSV or spreadsheet file: {}{what}; --signatories takes a CSV file \
         (as a spreadsheet exports it) or an .xlsx, .xls or .ods workbook",
        name.display()
    )
}

/// One sheet of a workbook as a CSV copy.
pub(super) struct Sheet {
    pub(super) data: Data,
    /// The sheet row of each line of the copy (index 0 is line 1).
    pub(super) rows: Vec<u64>,
    /// Which sheet was read, when the workbook has more than one.
    pub(super) note: Option<String>,
}

/// Reads the sheet `wanted` (else the first) of the workbook in `raw`.
pub(super) fn read(name: &Path, raw: &Data, kind: Kind, wanted: Option<&str>) -> Result<Sheet> {
    let open = || raw.open();
    let (names, range) = match kind {
        Kind::Ole => match open_workbook_from_rs::<Xls<_>, _>(open()?) {
            Ok(book) => sheet(name, book, wanted)?,
            Err(_) => {
                return Err(not_a_list(
                    name,
                    " (an Office file, but not an Excel workbook, or one protected by a password)",
                ));
            }
        },
        Kind::Zip | Kind::Text => {
            if let Ok(book) = open_workbook_from_rs::<Xlsx<_>, _>(open()?) {
                sheet(name, book, wanted)?
            } else if let Ok(book) = open_workbook_from_rs::<Ods<_>, _>(open()?) {
                sheet(name, book, wanted)?
            } else if let Ok(book) = open_workbook_from_rs::<Xlsb<_>, _>(open()?) {
                sheet(name, book, wanted)?
            } else {
                return Err(not_a_list(
                    name,
                    " (a ZIP archive, but not an .xlsx or .ods workbook)",
                ));
            }
        }
    };
    let (chosen, range) = range;
    let note = (names.len() > 1 && wanted.is_none()).then(|| {
        format!(
            "{}: read its first sheet, `{}` (it has {}: {}); --sheet NAME reads another",
            name.display(),
            printable(&chosen),
            names.len(),
            sheet_list(&names)
        )
    });
    let (data, rows) = to_csv(name, &chosen, &range)?;
    Ok(Sheet { data, rows, note })
}

/// The sheet names of a workbook, and the chosen sheet's name and cells.
type Chosen = (Vec<String>, (String, Range<Cell>));

fn sheet<R: Reader<BufReader<ListFile>>>(
    name: &Path,
    mut book: R,
    wanted: Option<&str>,
) -> Result<Chosen>
where
    R::Error: std::fmt::Display,
{
    let names = book.sheet_names();
    let chosen = match wanted {
        None => names.first().cloned(),
        Some(wanted) => names
            .iter()
            .find(|n| *n == wanted)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| n.trim().to_lowercase() == wanted.trim().to_lowercase())
            })
            .cloned(),
    };
    let Some(chosen) = chosen else {
        match wanted {
            Some(wanted) => bail!(
                "{} has no sheet named `{}`; its sheets are: {}",
                name.display(),
                printable(wanted),
                sheet_list(&names)
            ),
            None => bail!("{} has no sheets", name.display()),
        }
    };
    let range = book.worksheet_range(&chosen).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the sheet `{}` of {}: {}",
            printable(&chosen),
            name.display(),
            printable(&e.to_string())
        )
    })?;
    Ok((names, (chosen, range)))
}

fn sheet_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", printable(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the sheet as CSV (its first non-empty row is the header), and
/// the sheet row of each line written. Empty rows are left out.
fn to_csv(name: &Path, sheet: &str, range: &Range<Cell>) -> Result<(Data, Vec<u64>)> {
    let Some((first_row, _)) = range.start() else {
        bail!(
            "the sheet `{}` of {} is empty; the first row must name the columns \
             (name or first and last name, organisation, email, country…)",
            printable(sheet),
            name.display()
        );
    };
    let mut tmp = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    let mut rows = Vec::new();
    {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .from_writer(std::io::BufWriter::new(tmp.as_file_mut()));
        let mut header = true;
        let mut fields = Vec::new();
        for (i, row) in range.rows().enumerate() {
            fields.clear();
            fields.extend(row.iter().map(text));
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if header {
                // A header is one line; a break inside a header cell is a space.
                for f in &mut fields {
                    *f = f.replace(['\r', '\n'], " ");
                }
                header = false;
            }
            out.write_record(&fields)
                .context("cannot write a temporary copy of the list")?;
            let lines = 1 + fields
                .iter()
                .map(|f| f.matches('\n').count())
                .sum::<usize>();
            let sheet_row = u64::from(first_row) + i as u64 + 1;
            rows.extend(std::iter::repeat_n(sheet_row, lines));
        }
        out.flush()
            .context("cannot write a temporary copy of the list")?;
    }
    tmp.flush()
        .context("cannot write a temporary copy of the list")?;
    Ok((Data::Temp(tmp.into_temp_path()), rows))
}

/// A cell as the text a person sees in it: whole numbers without `.0`
/// (phone numbers, postcodes), other numbers to 15 significant digits as
/// spreadsheets show them, dates as `2024-03-01`.
fn text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::String(s) | Cell::DateTimeIso(s) | Cell::DurationIso(s) => s.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => number(*f),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Cell::DateTime(d) if d.is_duration() => {
            let seconds = (d.as_f64() * 86_400.0).round() as i64;
            format!(
                "{}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            )
        }
        Cell::DateTime(d) => {
            let (year, month, day, hour, minute, second, _) = d.to_ymd_hms_milli();
            let date = format!("{year:04}-{month:02}-{day:02}");
            match (hour, minute, second) {
                (0, 0, 0) => date,
                (_, _, 0) => format!("{date} {hour:02}:{minute:02}"),
                _ => format!("{date} {hour:02}:{minute:02}:{second:02}"),
            }
        }
        Cell::Error(e) => e.to_string(),
    }
}

/// A spreadsheet number as its digits: `12345`, not `12345.0`; `0.3`, not
/// `0.30000000000000004`.
fn number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    // Rounded to the 15 significant digits a spreadsheet keeps.
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_as_people_typed_them() {
        assert_eq!(number(12345.0), "12345");
        assert_eq!(number(447_700_900_123.0), "447700900123");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1e20), "100000000000000000000");
    }
}
