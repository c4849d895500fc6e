//! A members' list (CSV) as signers, streamed row by row so memory stays
//! flat however long the list.
//!
//! Lists come as spreadsheets export them: UTF-8 with or without a BOM,
//! UTF-16 ("Unicode text"), Windows-1251/1252 ("CSV" from a local Excel),
//! with `,`, `;` or tab separators, `First name`/`Last name` columns and
//! headers in any case. The list is read more than once (checked whole
//! before anything is done, then produced), so standard input, pipes and
//! `<(…)` are first copied to a temporary file, and a list in another
//! encoding is turned into UTF-8 once, there. Line numbers are the file's
//! own lines everywhere (the header is line 1).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};
use fs_err as fs;

use crate::signer::Signer;

/// Which column holds which signer field.
#[derive(Debug, Clone, Default)]
struct Columns {
    name: Option<usize>,
    first: Option<usize>,
    middle: Option<usize>,
    last: Option<usize>,
    organisation: Option<usize>,
    email: Option<usize>,
    address: Option<usize>,
    country: Option<usize>,
    language: Option<usize>,
    /// Other columns, by header, for templates (`signer.extra.<header>`).
    extra: Vec<(usize, String)>,
}

/// The fields a header can name, with the spellings accepted for each
/// (compared lower-case with spaces, dashes and dots removed).
const FIELDS: &[(Slot, &[&str])] = &[
    (
        Slot::Name,
        &[
            "name",
            "fullname",
            "signatory",
            "member",
            "membername",
            "фио",
            "полноеимя",
        ],
    ),
    (
        Slot::First,
        &[
            "firstname",
            "first",
            "givenname",
            "givennames",
            "forename",
            "forenames",
            "имя",
        ],
    ),
    (
        Slot::Middle,
        &["middlename", "middlenames", "patronymic", "отчество"],
    ),
    (
        Slot::Last,
        &["lastname", "last", "surname", "familyname", "фамилия"],
    ),
    (
        Slot::Organisation,
        &[
            "organisation",
            "organization",
            "org",
            "union",
            "branch",
            "организация",
            "профсоюз",
        ],
    ),
    (
        Slot::Email,
        &["email", "emailaddress", "mail", "электроннаяпочта", "почта"],
    ),
    (Slot::Address, &["address", "postaladdress", "адрес"]),
    (Slot::Country, &["country", "countrycode", "страна"]),
    (Slot::Language, &["language", "lang", "язык"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Name,
    First,
    Middle,
    Last,
    Organisation,
    Email,
    Address,
    Country,
    Language,
}

/// A row that cannot be used, and why.
#[derive(Debug, Clone)]
pub struct BadRow {
    /// The line number in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// A member listed again: the later row is left out.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub line: u64,
    pub first_line: u64,
    /// The email, or the name when there is no email.
    pub who: String,
}

/// The result of checking the whole file.
#[derive(Debug, Default)]
pub struct Checked {
    /// Usable rows, duplicates not counted.
    pub valid: u64,
    pub bad: Vec<BadRow>,
    pub duplicates: Vec<Duplicate>,
    /// Usable rows by their `country` ("" for none).
    pub countries: BTreeMap<String, u64>,
}

/// Where the list's UTF-8 text is: the user's own file, or a temporary
/// copy (standard input, a pipe, or a list in another encoding).
#[derive(Debug)]
enum Data {
    File { path: PathBuf, skip: usize },
    Temp(tempfile::TempPath),
}

impl Data {
    fn open(&self) -> Result<BufReader<fs::File>> {
        let (path, skip) = match self {
            Data::File { path, skip } => (path.as_path(), *skip),
            Data::Temp(path) => (path.as_ref(), 0),
        };
        let mut reader = BufReader::with_capacity(1 << 16, fs::File::open(path)?);
        if skip > 0 {
            reader.fill_buf()?;
            reader.consume(skip);
        }
        Ok(reader)
    }
}

/// An opened, checked members' list.
#[derive(Debug, Clone)]
pub struct MemberList {
    /// How messages name the list: its path, or `<stdin>`.
    name: PathBuf,
    data: Arc<Data>,
    /// The encoding the file was read in.
    encoding: &'static Encoding,
    delimiter: u8,
    columns: Arc<Columns>,
    /// Lines `rows` leaves out: rows that repeat an earlier member, and
    /// rows the caller's check refused (found by `check`).
    skip: Arc<HashSet<u64>>,
    /// Remarks about the header row (unknown columns), for the user.
    notes: Vec<String>,
}

impl MemberList {
    /// Opens `path` (`-` for standard input), reads the header and works
    /// out the encoding (`encoding` names it outright) and the separator.
    pub fn open(path: &Path, encoding: Option<&str>) -> Result<Self> {
        let forced = match encoding {
            None => None,
            Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                anyhow::anyhow!(
                    "--encoding `{label}` is not an encoding this program knows; \
                     use e.g. utf-8, utf-16le, windows-1251, windows-1252 or iso-8859-1"
                )
            })?),
        };
        let (name, raw) = if path.as_os_str() == "-" {
            let stdin = std::io::stdin();
            (
                PathBuf::from("<stdin>"),
                spool(stdin.lock(), "standard input")?,
            )
        } else {
            let meta = fs::metadata(path).context("cannot open the signatories file")?;
            if meta.is_file() {
                (
                    path.to_path_buf(),
                    Data::File {
                        path: path.to_path_buf(),
                        skip: 0,
                    },
                )
            } else if meta.is_dir() {
                bail!(
                    "{} is a folder; --signatories takes a CSV file",
                    path.display()
                );
            } else {
                let file = fs::File::open(path).context("cannot open the signatories file")?;
                (
                    path.to_path_buf(),
                    spool(file, &path.display().to_string())?,
                )
            }
        };
        let (encoding, data) = decode(&name, raw, forced)?;

        let mut first = String::new();
        data.open()?
            .read_line(&mut first)
            .with_context(|| format!("cannot read {}", name.display()))?;
        if first.trim().is_empty() {
            bail!(
                "{}: the first line must be a header row naming the columns (name or first and last name, organisation, email, country…)",
                name.display()
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
            .with_context(|| format!("{}:1: cannot read the header row", name.display()))?
            .unwrap_or_default();
        let (columns, notes) =
            columns(&headers).with_context(|| format!("{}:1", name.display()))?;
        Ok(MemberList {
            name,
            data: Arc::new(data),
            encoding,
            delimiter,
            columns: Arc::new(columns),
            skip: Arc::new(HashSet::new()),
            notes,
        })
    }

    /// Checks every row; memory holds only the bad rows and one small key
    /// per member (to find duplicates). `accept` is the caller's own check
    /// of a good row (e.g. that its country has an embassy address).
    /// Rows that repeat a member are left out of `rows` from now on.
    pub fn check(
        &mut self,
        accept: &mut dyn FnMut(&Signer) -> Result<(), String>,
    ) -> Result<Checked> {
        if let Some(line) = unclosed_quote(self.data.open()?, self.delimiter)? {
            bail!(
                "{}:{line}: a quote (\") opened on this line is never closed, so the rest of the file \
                 would be read as one value; nothing was done. Close or remove the quote and try again",
                self.name.display()
            );
        }
        let mut checked = Checked::default();
        // Four bytes per member, sorted afterwards: equal ones are only
        // candidates, settled by the full key in a second pass, which runs
        // only when there are some (a map of every member would be 8× this).
        let mut keys: Vec<u32> = Vec::new();
        let mut skip = HashSet::new();
        for row in self.all_rows()? {
            let (line, signer) = row?;
            let signer = match signer {
                Ok(s) => s,
                Err(reason) => {
                    checked.bad.push(BadRow { line, reason });
                    continue;
                }
            };
            if let Err(reason) = accept(&signer) {
                skip.insert(line);
                checked.bad.push(BadRow { line, reason });
                continue;
            }
            keys.push(short(identity(&signer).0));
            checked.valid += 1;
            *checked.countries.entry(signer.country).or_default() += 1;
        }
        keys.sort_unstable();
        let repeated: HashSet<u32> = keys
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        drop(keys);
        if !repeated.is_empty() {
            let mut first: HashMap<u64, u64> = HashMap::new();
            for row in self.all_rows()? {
                let (line, Ok(signer)) = row? else { continue };
                if skip.contains(&line) {
                    continue;
                }
                let (key, who) = identity(&signer);
                if !repeated.contains(&short(key)) {
                    continue;
                }
                match first.get(&key) {
                    None => {
                        first.insert(key, line);
                    }
                    Some(&first_line) => {
                        skip.insert(line);
                        checked.duplicates.push(Duplicate {
                            line,
                            first_line,
                            who,
                        });
                        checked.valid -= 1;
                        if let Some(n) = checked.countries.get_mut(&signer.country) {
                            *n -= 1;
                        }
                    }
                }
            }
            checked.countries.retain(|_, n| *n > 0);
        }
        self.skip = Arc::new(skip);
        Ok(checked)
    }

    /// Every data row but repeated members and rows the caller refused:
    /// its line number and the signer, or why not.
    pub fn rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(u64, std::result::Result<Signer, String>)>> + use<>>
    {
        let skip = Arc::clone(&self.skip);
        Ok(self
            .all_rows()?
            .filter(move |row| !matches!(row, Ok((line, _)) if skip.contains(line))))
    }

    fn all_rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(u64, std::result::Result<Signer, String>)>> + use<>>
    {
        let reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(self.data.open()?);
        let columns = Arc::clone(&self.columns);
        let name = self.name.clone();
        let mut lines = LineCursor::new(self.data.open()?);
        Ok(reader.into_records().filter_map(move |record| {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                    return Some(Err(anyhow::anyhow!(
                        "{}:{line}: cannot read the list: {}",
                        name.display(),
                        plain_csv_error(&e)
                    )));
                }
            };
            let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
            if record.iter().all(|f| f.trim().is_empty()) {
                return None;
            }
            let signer = signer(&columns, &record).map_err(|reason| {
                let spans = record
                    .iter()
                    .map(|f| f.matches('\n').count())
                    .sum::<usize>();
                if spans > 0 && reason.contains("line break") {
                    format!(
                        "{reason} (this row runs over lines {line}–{}: is a quote left open?)",
                        line + spans as u64
                    )
                } else {
                    reason
                }
            });
            Some(Ok((line, signer)))
        }))
    }

    /// The list as messages name it.
    pub fn path(&self) -> &Path {
        &self.name
    }

    /// The encoding the list was read in (`UTF-8`, `windows-1252`…).
    pub fn encoding(&self) -> &'static str {
        self.encoding.name()
    }

    /// Remarks about the header row, to show before anything is done.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// Turns a record's byte offset into its line in the file. (The csv
/// crate's own line count is one short after every CRLF, the line ending
/// Excel writes.) Offsets only grow, so one pass over the file serves.
struct LineCursor<R> {
    reader: R,
    offset: u64,
    line: u64,
}

impl<R: BufRead> LineCursor<R> {
    fn new(reader: R) -> Self {
        LineCursor {
            reader,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record starting at `byte`: the line breaks before
    /// it, and the rest of a CRLF that the record's offset points into.
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.offset < byte {
            let Ok(buf) = self.reader.fill_buf() else {
                break;
            };
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min((byte - self.offset) as usize);
            self.line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            self.reader.consume(n);
            self.offset += n as u64;
        }
        while let Ok(&[first, ..]) = self.reader.fill_buf() {
            match first {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            self.reader.consume(1);
            self.offset += 1;
        }
        self.line
    }
}

/// A member key folded to four bytes, for the first, approximate pass.
fn short(key: u64) -> u32 {
    (key ^ (key >> 32)) as u32
}

/// Who a row is, for finding the same member twice: the email, else the
/// name (case and spacing ignored).
fn identity(signer: &Signer) -> (u64, String) {
    if signer.email.is_empty() {
        let name = signer
            .name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        (crate::fingerprint::of(["name", &name]), signer.name.clone())
    } else {
        let email = signer.email.to_lowercase();
        (
            crate::fingerprint::of(["email", &email]),
            signer.email.clone(),
        )
    }
}

/// Copies `reader` to a private temporary file, so it can be read again.
fn spool(mut reader: impl Read, what: &str) -> Result<Data> {
    let mut tmp = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    std::io::copy(&mut reader, &mut tmp)
        .and_then(|_| tmp.flush())
        .with_context(|| format!("cannot copy the list from {what} to a temporary file"))?;
    Ok(Data::Temp(tmp.into_temp_path()))
}

/// Works out the list's encoding and returns its UTF-8 text: the file
/// itself when it is UTF-8, else a UTF-8 copy.
fn decode(
    name: &Path,
    raw: Data,
    forced: Option<&'static Encoding>,
) -> Result<(&'static Encoding, Data)> {
    let mut head = Vec::with_capacity(1 << 16);
    raw.open()?
        .take(1 << 16)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", name.display()))?;
    let bom = Encoding::for_bom(&head);
    let encoding = match (forced, bom) {
        (Some(forced), _) => forced,
        (None, Some((from_bom, _))) => from_bom,
        (None, None) => match utf16_without_bom(&head) {
            Some(utf16) => utf16,
            None => match first_invalid_utf8(raw.open()?)? {
                None => UTF_8,
                Some(_) => guess_legacy(raw.open()?)?,
            },
        },
    };
    let bom_len = match bom {
        Some((e, len)) if e == encoding => len,
        _ => 0,
    };
    if encoding == UTF_8 {
        if let Some(offset) = first_invalid_utf8(raw.open()?)? {
            let (line, column) = line_and_column(raw.open()?, offset)?;
            let guess = guess_legacy(raw.open()?)?;
            bail!(
                "{}:{line}:{column}: this is not UTF-8 text (it looks like {}); \
                 leave out --encoding to detect it, or pass --encoding {}",
                name.display(),
                guess.name(),
                guess.name().to_lowercase()
            );
        }
        return Ok(match raw {
            Data::File { path, .. } => (
                UTF_8,
                Data::File {
                    path,
                    skip: bom_len,
                },
            ),
            Data::Temp(_) if bom_len == 0 => (UTF_8, raw),
            Data::Temp(_) => (UTF_8, transcode(name, &raw, UTF_8)?),
        });
    }
    Ok((encoding, transcode(name, &raw, encoding)?))
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

/// The byte offset of the first byte that is not UTF-8, if any.
fn first_invalid_utf8(mut reader: impl Read) -> Result<Option<u64>> {
    let mut buf = vec![0; 1 << 16];
    let mut carry = 0;
    let mut offset: u64 = 0;
    loop {
        let n = reader.read(&mut buf[carry..])?;
        let end = carry + n;
        if n == 0 {
            return Ok((carry > 0).then_some(offset));
        }
        match std::str::from_utf8(&buf[..end]) {
            Ok(_) => {
                offset += end as u64;
                carry = 0;
            }
            Err(e) if e.error_len().is_none() => {
                let good = e.valid_up_to();
                offset += good as u64;
                buf.copy_within(good..end, 0);
                carry = end - good;
            }
            Err(e) => return Ok(Some(offset + e.valid_up_to() as u64)),
        }
    }
}

/// The 1-based line and column (in characters, decoded lossily) of a byte
/// offset.
fn line_and_column(reader: impl Read, offset: u64) -> Result<(u64, u64)> {
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
fn guess_legacy(mut reader: impl Read) -> Result<&'static Encoding> {
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
fn transcode(name: &Path, raw: &Data, encoding: &'static Encoding) -> Result<Data> {
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

/// The line of a quote that is still open at the end of the file, which
/// would make the rest of the file one value.
fn unclosed_quote(mut reader: impl Read, delimiter: u8) -> Result<Option<u64>> {
    let mut buf = vec![0; 1 << 16];
    let mut line: u64 = 1;
    let mut field_start = true;
    let mut quoted: Option<u64> = None;
    // A quote inside a quoted field: the end of it, or the first of `""`.
    let mut pending_quote = false;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(if pending_quote { None } else { quoted });
        }
        for &b in &buf[..n] {
            if quoted.is_some() {
                if pending_quote {
                    pending_quote = false;
                    if b == b'"' {
                        // `""`: an escaped quote, still inside.
                    } else {
                        quoted = None;
                        field_start = b == delimiter || b == b'\n';
                    }
                } else if b == b'"' {
                    pending_quote = true;
                }
            } else if b == b'"' && field_start {
                quoted = Some(line);
                field_start = false;
            } else {
                field_start = b == delimiter || b == b'\n' || (field_start && b == b'\r');
            }
            if b == b'\n' {
                line += 1;
            }
        }
    }
}

/// The csv crate's error in words a secretary can act on.
fn plain_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::Utf8 { .. } => {
            "this line is not UTF-8 text; name the list's encoding with --encoding".into()
        }
        _ => e.to_string(),
    }
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

/// A header as compared: lower case, letters and digits only.
fn header_key(header: &str) -> String {
    header
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The known field a misspelt header most likely means.
fn did_you_mean(key: &str) -> Option<(&'static str, Slot)> {
    if key.chars().count() < 3 {
        return None;
    }
    FIELDS
        .iter()
        .flat_map(|(slot, names)| names.iter().map(move |n| (*n, *slot)))
        .map(|(n, slot)| (n, slot, strsim::damerau_levenshtein(key, n)))
        .filter(|(n, _, d)| *d <= if n.chars().count() <= 4 { 1 } else { 2 })
        .min_by_key(|(_, _, d)| *d)
        .map(|(n, slot, _)| (n, slot))
}

fn columns(headers: &csv::StringRecord) -> Result<(Columns, Vec<String>)> {
    let mut found = Columns::default();
    let mut notes = Vec::new();
    let mut unknown = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let key = header_key(header);
        if key.is_empty() {
            continue;
        }
        let Some(slot) = FIELDS
            .iter()
            .find(|(_, names)| names.contains(&key.as_str()))
            .map(|(slot, _)| *slot)
        else {
            found.extra.push((i, header.trim().to_string()));
            unknown.push((header.trim().to_string(), key));
            continue;
        };
        let place = match slot {
            Slot::Name => &mut found.name,
            Slot::First => &mut found.first,
            Slot::Middle => &mut found.middle,
            Slot::Last => &mut found.last,
            Slot::Organisation => &mut found.organisation,
            Slot::Email => &mut found.email,
            Slot::Address => &mut found.address,
            Slot::Country => &mut found.country,
            Slot::Language => &mut found.language,
        };
        // A second column for the same field stays available to templates.
        if place.is_none() {
            *place = Some(i);
        } else {
            found.extra.push((i, header.trim().to_string()));
        }
    }
    let has_name = found.name.is_some() || found.first.is_some() || found.last.is_some();
    let mut name_hint = None;
    for (header, key) in &unknown {
        if let Some((meant, slot)) = did_you_mean(key) {
            if slot == Slot::Name || slot == Slot::First || slot == Slot::Last {
                name_hint.get_or_insert_with(|| format!("did you mean `{meant}` for `{header}`? "));
            }
            notes.push(format!(
                "column `{header}` is not one protest-letter knows (did you mean `{meant}`?); \
                 it is only passed to templates, as signer.extra"
            ));
        }
    }
    if !has_name {
        bail!(
            "no name column among the headers ({}); {}name the signatories' column `name`, \
             or give `First name` and `Last name` columns",
            headers.iter().collect::<Vec<_>>().join(", "),
            name_hint.unwrap_or_default()
        );
    }
    Ok((found, notes))
}

fn signer(columns: &Columns, record: &csv::StringRecord) -> std::result::Result<Signer, String> {
    let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
    let name = match get(columns.name) {
        "" => [columns.first, columns.middle, columns.last]
            .into_iter()
            .map(get)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        name => name.to_string(),
    };
    if name.is_empty() {
        return Err(if columns.name.is_some() {
            "the name is empty".into()
        } else {
            "the first and last name are empty".into()
        });
    }
    let country = match get(columns.country) {
        "" => String::new(),
        code if crate::country::is_iso_code(code) => code.to_ascii_uppercase(),
        other => {
            return Err(match crate::country::suggest(other) {
                Some(code) => format!(
                    "country `{other}` is not an ISO 3166 code; did you mean {code} ({})?",
                    crate::country::name_of(code).unwrap_or(code)
                ),
                None => format!(
                    "country `{other}` is not a two-letter ISO 3166 code such as GB, DE or FR"
                ),
            });
        }
    };
    let mut signer = Signer::new(
        &name,
        get(columns.organisation),
        get(columns.email),
        get(columns.address),
        &country,
    )
    .map_err(|e| e.to_string())?;
    signer.language = language(get(columns.language))?;
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

/// A `language` cell as a language code (`en`, `ru`, `pt-br`); common
/// names are understood.
fn language(text: &str) -> std::result::Result<String, String> {
    const NAMES: &[(&str, &str)] = &[
        ("english", "en"),
        ("английский", "en"),
        ("russian", "ru"),
        ("русский", "ru"),
        ("kazakh", "kk"),
        ("қазақша", "kk"),
        ("казахский", "kk"),
        ("german", "de"),
        ("deutsch", "de"),
        ("french", "fr"),
        ("français", "fr"),
        ("spanish", "es"),
        ("español", "es"),
    ];
    let lower = text.trim().to_lowercase();
    if let Some((_, code)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok((*code).to_string());
    }
    let code = lower.replace('_', "-");
    let (primary, rest) = code.split_once('-').unwrap_or((&code, ""));
    let ok = (code.is_empty() || (2..=3).contains(&primary.len()))
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(code)
    } else {
        Err(format!(
            "language `{text}` is not a language code such as en or ru"
        ))
    }
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

/// "line 9 repeats line 3 (jo@union.org)" lines, at most `limit` of them.
pub fn describe_duplicates(path: &Path, duplicates: &[Duplicate], limit: usize) -> String {
    let mut out: Vec<String> = duplicates
        .iter()
        .take(limit)
        .map(|d| {
            format!(
                "  {}:{}: the same member as line {} ({}); left out",
                path.display(),
                d.line,
                d.first_line,
                d.who
            )
        })
        .collect();
    if duplicates.len() > limit {
        out.push(format!("  … and {} more", duplicates.len() - limit));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_bytes(bytes: &[u8]) -> (tempfile::TempDir, MemberList) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, bytes).unwrap();
        let list = MemberList::open(&path, None).unwrap();
        (dir, list)
    }

    fn list(text: &str) -> (tempfile::TempDir, MemberList) {
        list_bytes(text.as_bytes())
    }

    fn accept_all(_: &Signer) -> std::result::Result<(), String> {
        Ok(())
    }

    fn names(l: &MemberList) -> Vec<(u64, String)> {
        l.rows()
            .unwrap()
            .map(|r| r.unwrap())
            .filter_map(|(line, s)| s.ok().map(|s| (line, s.name)))
            .collect()
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
        let (_d, mut l) = list(
            "name,email\nJo,jo@u.org\n,x@u.org\n\"Evil\r\nBcc: v@x.org\",a@b.org\nAnn,not-an-email\nBo,\n",
        );
        let checked = l.check(&mut accept_all).unwrap();
        assert_eq!(checked.valid, 2);
        let lines: Vec<u64> = checked.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 6]);
    }

    #[test]
    fn needs_a_name_column_and_suggests_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, "Nmae,email\njo,jo@u.org\n").unwrap();
        let err = format!("{:#}", MemberList::open(&path, None).unwrap_err());
        assert!(err.contains("no name column"), "{err}");
        assert!(err.contains("did you mean `name` for `Nmae`"), "{err}");
        assert!(err.contains("m.csv:1"), "{err}");
    }

    #[test]
    fn first_and_last_names_in_english_and_russian() {
        let (_d, l) = list("First Name,Surname,Email\nJo,Bloggs,jo@u.org\n,Lee,\n");
        assert_eq!(names(&l), [(2, "Jo Bloggs".into()), (3, "Lee".into())]);
        let (_d, l) = list("Фамилия;Имя;Отчество\nКурманова;Әйнұр;Серікқызы\n");
        assert_eq!(names(&l), [(2, "Әйнұр Серікқызы Курманова".into())]);
        let (_d, l) = list("GIVEN NAME\tFamily name\nAnn\tLee\n");
        assert_eq!(names(&l), [(2, "Ann Lee".into())]);
    }

    #[test]
    fn unknown_headers_get_a_suggestion() {
        let (_d, l) = list("name,Emial,Branch\nJo,jo@u.org,42\n");
        assert_eq!(l.notes().len(), 1, "{:?}", l.notes());
        assert!(
            l.notes()[0].contains("did you mean `email`"),
            "{:?}",
            l.notes()
        );
    }

    #[test]
    fn countries_are_checked_with_suggestions() {
        let (_d, mut l) = list("name,country\nA,gb\nB,UK\nC,Germany\nD,Atlantis\n");
        let checked = l.check(&mut accept_all).unwrap();
        assert_eq!(checked.valid, 1);
        let reasons: Vec<&str> = checked.bad.iter().map(|b| b.reason.as_str()).collect();
        assert!(reasons[0].contains("did you mean GB"), "{reasons:?}");
        assert!(reasons[1].contains("did you mean DE"), "{reasons:?}");
        assert!(reasons[2].contains("two-letter"), "{reasons:?}");
    }

    #[test]
    fn languages_are_codes() {
        assert_eq!(language("RU"), Ok("ru".into()));
        assert_eq!(language("Русский"), Ok("ru".into()));
        assert_eq!(language("pt_BR"), Ok("pt-br".into()));
        assert_eq!(language(""), Ok(String::new()));
        assert!(language("Klingon!").is_err());
    }

    #[test]
    fn duplicates_are_found_once_and_left_out() {
        let (_d, mut l) =
            list("name,email\nJo,jo@u.org\nAnn,\nJoanne,JO@u.org\nann \nBo,bo@u.org\n");
        let checked = l.check(&mut accept_all).unwrap();
        assert_eq!(checked.valid, 3);
        let pairs: Vec<(u64, u64)> = checked
            .duplicates
            .iter()
            .map(|d| (d.line, d.first_line))
            .collect();
        assert_eq!(pairs, [(4, 2), (5, 3)]);
        let lines: Vec<u64> = names(&l).into_iter().map(|(line, _)| line).collect();
        assert_eq!(lines, [2, 3, 6]);
    }

    #[test]
    fn legacy_and_utf16_encodings() {
        // Windows-1252: "Müller" with ü = 0xFC, on line 3.
        let (_d, l) = list_bytes(b"name;email\r\nJo;jo@u.org\r\nM\xfcller;m@u.org\r\n");
        assert_eq!(l.encoding(), "windows-1252");
        assert_eq!(names(&l), [(2, "Jo".into()), (3, "Müller".into())]);
        // Windows-1251: "Иванов Пётр".
        let (bytes, _, _) =
            encoding_rs::WINDOWS_1251.encode("ФИО\nИванов Пётр Сергеевич\nСидорова Анна\n");
        let (_d, l) = list_bytes(&bytes);
        assert_eq!(l.encoding(), "windows-1251");
        assert_eq!(names(&l)[0].1, "Иванов Пётр Сергеевич");
        // UTF-16LE with and without a BOM, tab separated.
        let text = "name\temail\nӘйнұр\ta@u.org\n";
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for bytes in [[&[0xFF, 0xFE][..], &utf16].concat(), utf16.clone()] {
            let (_d, l) = list_bytes(&bytes);
            assert_eq!(l.encoding(), "UTF-16LE");
            assert_eq!(names(&l), [(2, "Әйнұр".into())]);
        }
    }

    #[test]
    fn forced_utf8_names_the_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, b"name\nJo\nAn M\xfcller\n").unwrap();
        let err = format!("{:#}", MemberList::open(&path, Some("utf-8")).unwrap_err());
        assert!(err.contains("m.csv:3:5"), "{err}");
        assert!(err.contains("windows-1252"), "{err}");
        assert!(MemberList::open(&path, Some("latin1")).is_ok());
        assert!(MemberList::open(&path, Some("klingon")).is_err());
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_line() {
        let (_d, mut l) = list("name,email\nJo,jo@u.org\n\"Ann, Lee,ann@u.org\nBo,bo@u.org\nCy,\n");
        let err = l.check(&mut accept_all).unwrap_err().to_string();
        assert!(err.contains("m.csv:3:"), "{err}");
        assert!(err.contains("never closed"), "{err}");
        // Closed quotes, escaped quotes and line breaks inside are fine.
        assert_eq!(
            unclosed_quote(&b"a,\"b \"\"c\"\"\nd\",e\n"[..], b',').unwrap(),
            None
        );
        assert_eq!(unclosed_quote(&b"a,\"b\"\n"[..], b',').unwrap(), None);
        assert_eq!(unclosed_quote(&b"x\na,\"b\n"[..], b',').unwrap(), Some(2));
    }
}
