//! A members' list (CSV) as signers, streamed row by row so memory stays
//! flat however long the list.
//!
//! The file is read twice: once to check every row (so every bad row is
//! reported before anything is sent), then again to produce the letters.
//! Spreadsheet exports vary: a UTF-8 byte-order mark, quoted fields, and
//! `,`, `;` or tab separators are all accepted.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fs_err as fs;

use crate::signer::Signer;

/// Which column holds which signer field.
#[derive(Debug, Clone)]
struct Columns {
    name: usize,
    organisation: Option<usize>,
    email: Option<usize>,
    address: Option<usize>,
    country: Option<usize>,
    /// Other columns, by header, for templates (`signer.extra.<header>`).
    extra: Vec<(usize, String)>,
}

/// A row that cannot be used, and why.
#[derive(Debug, Clone)]
pub struct BadRow {
    /// The line number in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// The result of checking the whole file.
#[derive(Debug)]
pub struct Checked {
    pub valid: u64,
    pub bad: Vec<BadRow>,
}

/// An opened, checked members' list.
#[derive(Debug, Clone)]
pub struct MemberList {
    path: PathBuf,
    delimiter: u8,
    columns: Columns,
}

impl MemberList {
    /// Opens `path`, reads the header and works out the separator.
    pub fn open(path: &Path) -> Result<Self> {
        let mut first = String::new();
        let mut reader = BufReader::new(open_without_bom(path)?);
        reader
            .read_line(&mut first)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if first.trim().is_empty() {
            bail!(
                "{}: the first line must be a header row naming the columns (name, organisation, email, country…)",
                path.display()
            );
        }
        let delimiter = sniff_delimiter(&first);
        let headers = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .from_reader(first.as_bytes())
            .records()
            .next()
            .transpose()
            .with_context(|| format!("{}: cannot read the header row", path.display()))?
            .unwrap_or_default();
        let columns = columns(&headers).with_context(|| format!("{}: line 1", path.display()))?;
        Ok(MemberList {
            path: path.to_path_buf(),
            delimiter,
            columns,
        })
    }

    /// Checks every row; memory holds only the bad rows.
    pub fn check(&self) -> Result<Checked> {
        let mut valid = 0;
        let mut bad = Vec::new();
        for row in self.rows()? {
            match row? {
                (_, Ok(_)) => valid += 1,
                (line, Err(reason)) => bad.push(BadRow { line, reason }),
            }
        }
        Ok(Checked { valid, bad })
    }

    /// Every data row: its line number and the signer, or why not.
    pub fn rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(u64, std::result::Result<Signer, String>)>> + use<>>
    {
        let reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(open_without_bom(&self.path)?);
        let columns = self.columns.clone();
        let path = self.path.clone();
        Ok(reader.into_records().filter_map(move |record| {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Some(Err(anyhow::anyhow!(
                        "{}:{line}: cannot read the CSV: {e}. Save it again as CSV (UTF-8) from your spreadsheet",
                        path.display()
                    )));
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(|f| f.trim().is_empty()) {
                return None;
            }
            Some(Ok((line, signer(&columns, &record))))
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_without_bom(path: &Path) -> Result<impl Read + use<>> {
    let mut reader =
        BufReader::new(fs::File::open(path).context("cannot open the signatories file")?);
    let start = reader
        .fill_buf()
        .context("cannot read the signatories file")?;
    if start.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    } else if start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF") {
        bail!(
            "{} is UTF-16; save it as \"CSV UTF-8\" from your spreadsheet",
            path.display()
        );
    }
    Ok(reader)
}

/// The separator the header row uses most, outside quotes.
fn sniff_delimiter(header: &str) -> u8 {
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

fn columns(headers: &csv::StringRecord) -> Result<Columns> {
    let mut name = None;
    let mut found = Columns {
        name: 0,
        organisation: None,
        email: None,
        address: None,
        country: None,
        extra: Vec::new(),
    };
    for (i, header) in headers.iter().enumerate() {
        let key: String = header
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        let slot = match key.as_str() {
            "name" | "fullname" | "signatory" | "member" => &mut name,
            "organisation" | "organization" | "org" | "union" | "branch" => &mut found.organisation,
            "email" | "emailaddress" | "mail" => &mut found.email,
            "address" | "postaladdress" => &mut found.address,
            "country" | "countrycode" => &mut found.country,
            "" => continue,
            _ => {
                found.extra.push((i, header.trim().to_string()));
                continue;
            }
        };
        // A second column for the same field stays available to templates.
        if slot.is_none() {
            *slot = Some(i);
        } else {
            found.extra.push((i, header.trim().to_string()));
        }
    }
    let Some(name) = name else {
        bail!(
            "no `name` column among the headers ({}); name the signatories' column `name`",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    found.name = name;
    Ok(found)
}

fn signer(columns: &Columns, record: &csv::StringRecord) -> std::result::Result<Signer, String> {
    let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
    let name = get(Some(columns.name));
    if name.trim().is_empty() {
        return Err("the name is empty".into());
    }
    let mut signer = Signer::new(
        name,
        get(columns.organisation),
        get(columns.email),
        get(columns.address),
        get(columns.country),
    )
    .map_err(|e| e.to_string())?;
    let mut extra = BTreeMap::new();
    for (i, header) in &columns.extra {
        let value = record.get(*i).unwrap_or("");
        if value.chars().any(|c| c.is_control() && c != '\n') {
            return Err(format!("column `{header}` contains a control character"));
        }
        extra.insert(header.clone(), value.to_string());
    }
    signer.extra = extra;
    Ok(signer)
}

/// "line 7: the name is empty" lines, at most `limit` of them.
pub fn describe_bad_rows(path: &Path, bad: &[BadRow], limit: usize) -> String {
    let mut out: Vec<String> = bad
        .iter()
        .take(limit)
        .map(|b| format!("  {}:{}: {}", path.display(), b.line, b.reason))
        .collect();
    if bad.len() > limit {
        out.push(format!("  … and {} more", bad.len() - limit));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> (tempfile::TempDir, MemberList) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, text).unwrap();
        let list = MemberList::open(&path).unwrap();
        (dir, list)
    }

    #[test]
    fn reads_bom_semicolons_quotes_and_extras() {
        let (_d, l) = list(
            "\u{feff}Name;Organisation;E-mail;Branch\n\"Bloggs; Jo\";Unite;jo@u.org;42\n\n;;;\nAnn;;;7\n",
        );
        let rows: Vec<_> = l.rows().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        let jo = rows[0].1.as_ref().unwrap();
        assert_eq!(jo.name, "Bloggs; Jo");
        assert_eq!(jo.email, "jo@u.org");
        assert_eq!(jo.extra["Branch"], "42");
        assert_eq!(
            rows[1].0, 5,
            "line numbers count the header and blank lines"
        );
    }

    #[test]
    fn reports_every_bad_row_with_its_line() {
        let (_d, l) = list(
            "name,email\nJo,jo@u.org\n,x@u.org\n\"Evil\r\nBcc: v@x.org\",a@b.org\nAnn,not-an-email\nBo,\n",
        );
        let checked = l.check().unwrap();
        assert_eq!(checked.valid, 2);
        let lines: Vec<u64> = checked.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 6]);
    }

    #[test]
    fn needs_a_name_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, "email\njo@u.org\n").unwrap();
        assert!(
            MemberList::open(&path)
                .unwrap_err()
                .to_string()
                .contains("no `name` column")
                || format!("{:#}", MemberList::open(&path).unwrap_err())
                    .contains("no `name` column")
        );
    }
}
