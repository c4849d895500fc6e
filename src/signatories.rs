//! A members' list (CSV) as signers, streamed row by row so memory stays
//! flat however long the list.
//!
//! Lists come as spreadsheets export them: UTF-8 with or without a BOM,
//! UTF-16 ("Unicode text"), Windows-1251/1252 ("CSV" from a local Excel),
//! with `,`, `;` or tab separators, `First name`/`Last name` columns and
//! headers in any case. The list is read twice: checked whole before
//! anything is done (`check`: bad rows, duplicates, an open quote, text
//! that is not UTF-8 after all, whether all members' words are the same),
//! then produced (`rows`), both through one `Scan` of the bytes that also
//! counts the lines. So standard input, pipes and `<(…)` are first copied
//! to a temporary file, and a list in another encoding is turned into
//! UTF-8 once, there. Line numbers are the file's own lines everywhere (the
//! header is line 1).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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
    /// Whether every usable row has the same `message` (or none): the
    /// letters would differ only in the names.
    pub same_words: bool,
}

/// Where the list's UTF-8 text is: the user's own file, or a temporary
/// copy (standard input, a pipe, or a list in another encoding).
#[derive(Debug)]
enum Data {
    File { path: PathBuf, skip: usize },
    Temp(tempfile::TempPath),
}

impl Data {
    fn open(&self) -> Result<BufReader<ListFile>> {
        self.open_with(1 << 16)
    }

    /// The text (after any byte-order mark), read `capacity` bytes at a time.
    fn open_with(&self, capacity: usize) -> Result<BufReader<ListFile>> {
        use std::io::{Seek, SeekFrom};
        let (path, skip) = match self {
            Data::File { path, skip } => (path.as_path(), *skip),
            Data::Temp(path) => (path.as_ref(), 0),
        };
        let mut file = fs::File::open(path)?;
        if skip > 0 {
            file.seek(SeekFrom::Start(skip as u64))?;
        }
        let file = ListFile {
            file,
            #[cfg(test)]
            read: (path.to_path_buf(), 0),
        };
        Ok(BufReader::with_capacity(capacity, file))
    }
}

/// A list file open for reading. In tests it counts the bytes read from
/// each path, so that a test can count the passes a run makes over a list.
struct ListFile {
    file: fs::File,
    #[cfg(test)]
    read: (PathBuf, u64),
}

impl Read for ListFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        #[cfg(test)]
        {
            self.read.1 += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
static BYTES_READ: std::sync::Mutex<BTreeMap<PathBuf, u64>> =
    std::sync::Mutex::new(BTreeMap::new());

#[cfg(test)]
impl Drop for ListFile {
    fn drop(&mut self) {
        if let Ok(mut read) = BYTES_READ.lock() {
            *read.entry(self.read.0.clone()).or_default() += self.read.1;
        }
    }
}

/// The bytes read from the list file at `path` so far, by every reader
/// that has been closed (tests only).
#[cfg(test)]
pub(crate) fn bytes_read(path: &Path) -> u64 {
    BYTES_READ
        .lock()
        .map_or(0, |read| read.get(path).copied().unwrap_or(0))
}

/// How sure the encoding is, and so what a byte that is not UTF-8 means
/// when `check` finds one past the first 64 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// Decoded into a UTF-8 copy already: nothing to check.
    No,
    /// Presumed from the start of the file: a later non-UTF-8 byte means
    /// the file is in a legacy encoding after all.
    Presumed,
    /// Said outright (`--encoding utf-8`, or a UTF-8 byte-order mark): a
    /// non-UTF-8 byte is an error, reported by line and column.
    Sure,
}

/// The caller's check of a good row's country (see `MemberList::check`).
pub type Accept<'a> = dyn Fn(&str) -> std::result::Result<(), String> + 'a;

/// The member keys found more than once among `keys`, sorted.
fn repeated(keys: &[u64]) -> HashSet<u64> {
    keys.windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect()
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
    /// Whether `check` still has to make sure the text is UTF-8.
    verify: Verify,
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
        let (encoding, data, verify) = decode(&name, raw, forced)?;
        let (delimiter, columns, notes) = header(&name, &data)?;
        Ok(MemberList {
            name,
            data: Arc::new(data),
            encoding,
            delimiter,
            columns: Arc::new(columns),
            skip: Arc::new(HashSet::new()),
            notes,
            verify,
        })
    }

    /// Checks every row, in one pass over the file (a second only when a
    /// member is listed more than once, to name the lines); memory holds
    /// only the bad rows and one 8-byte key per member (to find repeats). `accept` is the caller's
    /// own check of a good row's country (e.g. that it has an embassy
    /// address), asked once per country. Rows that repeat a member are
    /// left out of `rows` from now on.
    pub fn check(&mut self, accept: &Accept<'_>) -> Result<Checked> {
        let mut checked = Checked::default();
        // Lines of good rows the caller's check refused.
        let mut skip = HashSet::new();
        let mut words = SameWords::default();
        let mut keys: Vec<u64> = Vec::new();
        let mut verdicts: HashMap<String, std::result::Result<(), String>> = HashMap::new();
        let mut rows = self.scan_rows(true)?;
        while let Some(row) = rows.next() {
            let (line, signer) = match row {
                Ok(row) => row,
                Err(e) => {
                    return match rows.stopped() {
                        Some(Stop::NotUtf8 { offset }) => self.not_utf8(offset, accept),
                        Some(Stop::LongQuote { line }) => Err(self.open_quote(line)),
                        None => Err(e),
                    };
                }
            };
            let signer = match signer {
                Ok(s) => s,
                Err(reason) => {
                    checked.bad.push(BadRow { line, reason });
                    continue;
                }
            };
            if !signer.country.is_empty() {
                let verdict = match verdicts.get(&signer.country) {
                    Some(v) => v,
                    None => verdicts
                        .entry(signer.country.clone())
                        .or_insert_with(|| accept(&signer.country)),
                };
                if let Err(reason) = verdict {
                    skip.insert(line);
                    checked.bad.push(BadRow {
                        line,
                        reason: reason.clone(),
                    });
                    continue;
                }
            }
            keys.push(member_key(&signer));
            words.add(signer.message());
            checked.valid += 1;
            *checked.countries.entry(signer.country).or_default() += 1;
        }
        if let Some(line) = rows.open_at_end() {
            return Err(self.open_quote(line));
        }
        drop(rows);
        checked.same_words = words.same;
        keys.sort_unstable();
        let repeated = repeated(&keys);
        drop(keys);
        if !repeated.is_empty() {
            let mut first: HashMap<u64, u64> = HashMap::new();
            // Counted again over the rows that stay.
            let mut words = SameWords::default();
            for row in self.scan_rows(false)? {
                let (line, Ok(signer)) = row? else { continue };
                if skip.contains(&line) {
                    continue;
                }
                let (key, who) = identity(&signer);
                if repeated.contains(&key) {
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
                            continue;
                        }
                    }
                }
                words.add(signer.message());
            }
            checked.countries.retain(|_, n| *n > 0);
            checked.same_words = words.same;
        }
        self.skip = Arc::new(skip);
        Ok(checked)
    }

    /// A byte that is not UTF-8 past the start of a list presumed UTF-8:
    /// an error if the encoding was said outright, else the list is in a
    /// legacy encoding after all, and is decoded and checked again.
    fn not_utf8(&mut self, offset: u64, accept: &Accept<'_>) -> Result<Checked> {
        let guess = guess_legacy(self.data.open()?)?;
        if self.verify == Verify::Sure {
            let (line, column) = line_and_column(self.data.open()?, offset)?;
            return Err(not_utf8_error(&self.name, line, column, guess));
        }
        let data = transcode(&self.name, &self.data, guess)?;
        let (delimiter, columns, notes) = header(&self.name, &data)?;
        self.data = Arc::new(data);
        self.encoding = guess;
        self.delimiter = delimiter;
        self.columns = Arc::new(columns);
        self.notes = notes;
        self.verify = Verify::No;
        self.check(accept)
    }

    fn open_quote(&self, line: u64) -> anyhow::Error {
        anyhow::anyhow!(
            "{}:{line}: a quote (\") opened on this line is never closed, so the rest of the file \
             would be read as one value; nothing was done. Close or remove the quote and try again",
            self.name.display()
        )
    }

    /// Every data row but repeated members and rows the caller refused:
    /// its line number and the signer, or why not. One pass over the file.
    pub fn rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(u64, std::result::Result<Signer, String>)>> + use<>>
    {
        let skip = Arc::clone(&self.skip);
        Ok(self
            .scan_rows(false)?
            .filter(move |row| !matches!(row, Ok((line, _)) if skip.contains(line))))
    }

    /// Every data row; `checking` also watches quotes and, if still
    /// needed, that the text is UTF-8 (see `Scan`).
    fn scan_rows(&self, checking: bool) -> Result<Rows> {
        let scan = Scan::new(
            self.data.open()?,
            self.delimiter,
            checking,
            checking && self.verify != Verify::No,
        );
        Ok(Rows {
            csv: csv::ReaderBuilder::new()
                .delimiter(self.delimiter)
                .flexible(true)
                .from_reader(scan),
            record: csv::StringRecord::new(),
            columns: Arc::clone(&self.columns),
            name: self.name.clone(),
            done: false,
        })
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

/// Whether all members' words (`message`) are the same, counted row by row.
#[derive(Default)]
struct SameWords {
    first: Option<String>,
    same: bool,
}

impl SameWords {
    fn add(&mut self, message: &str) {
        match &self.first {
            None => {
                self.first = Some(message.to_string());
                self.same = true;
            }
            Some(first) if first != message => self.same = false,
            Some(_) => {}
        }
    }
}

/// The data rows of a list, in one pass through a `Scan`.
struct Rows {
    csv: csv::Reader<Scan<BufReader<ListFile>>>,
    record: csv::StringRecord,
    columns: Arc<Columns>,
    name: PathBuf,
    done: bool,
}

impl Rows {
    /// Why the scan stopped feeding the parser, if it did.
    fn stopped(&self) -> Option<Stop> {
        self.csv.get_ref().stop
    }

    /// The line of a quote still open at the end of the file.
    fn open_at_end(&self) -> Option<u64> {
        let scan = self.csv.get_ref();
        if scan.at_end && !scan.pending_quote {
            scan.quoted
        } else {
            None
        }
    }
}

impl Iterator for Rows {
    type Item = Result<(u64, std::result::Result<Signer, String>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.csv.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let line = e
                        .position()
                        .map_or(0, |p| self.csv.get_mut().line_at(p.byte()));
                    return Some(Err(anyhow::anyhow!(
                        "{}:{line}: cannot read the list: {}",
                        self.name.display(),
                        plain_csv_error(&e)
                    )));
                }
            }
            let record = &self.record;
            let byte = record.position().map_or(0, csv::Position::byte);
            let line = self.csv.get_mut().line_at(byte);
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let signer = signer(&self.columns, record).map_err(|reason| {
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
            return Some(Ok((line, signer)));
        }
    }
}

/// Why a `Scan` stopped feeding the parser.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// A byte that is not UTF-8, at this offset.
    NotUtf8 { offset: u64 },
    /// A quoted value from this line ran over `LONG_QUOTE` bytes: a quote
    /// left open, which would make the rest of the file one value.
    LongQuote { line: u64 },
}

/// More than this in one quoted value is a quote left open (a spreadsheet
/// cell holds at most 32,767 characters), not a member's details.
const LONG_QUOTE: u64 = 1 << 20;

/// The list's bytes on their way to the CSV parser, looked at once as they
/// pass, so the file need not be read again for any of it: where the line
/// breaks are (the csv crate's own line count is one short after every
/// CRLF, the line ending Excel writes), and, while checking, where a quote
/// opens that is never closed (or runs on for a megabyte, which would make
/// the rest of the file one value), and whether text presumed UTF-8 is.
struct Scan<R> {
    inner: R,
    /// The offset of the next byte handed out.
    offset: u64,
    /// CR and LF bytes handed out that `line_at` has not passed yet:
    /// their offset, and whether it is a LF.
    breaks: VecDeque<(u64, bool)>,
    /// The line `line_at` has reached.
    line: u64,
    checking: bool,
    delimiter: u8,
    /// The line of the next byte handed out (for quotes).
    read_line: u64,
    field_start: bool,
    /// The line where the quoted value being read opened.
    quoted: Option<u64>,
    quoted_bytes: u64,
    /// A quote inside a quoted value: its end, or the first of `""`.
    pending_quote: bool,
    /// Whether to check that the text is UTF-8, and the start of a
    /// character cut off at the end of the last read.
    verify: bool,
    partial: Vec<u8>,
    at_end: bool,
    stop: Option<Stop>,
}

impl<R: Read> Scan<R> {
    fn new(inner: R, delimiter: u8, checking: bool, verify: bool) -> Self {
        Scan {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            line: 1,
            checking,
            delimiter,
            read_line: 1,
            field_start: true,
            quoted: None,
            quoted_bytes: 0,
            pending_quote: false,
            verify,
            partial: Vec::new(),
            at_end: false,
            stop: None,
        }
    }

    /// The line of the record starting at `byte`: the line breaks before
    /// it, and the rest of a CRLF that the record's offset points into.
    /// Offsets only grow.
    fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(at, lf)) = self.breaks.front() {
            if at >= byte {
                break;
            }
            self.line += u64::from(lf);
            self.breaks.pop_front();
        }
        let mut next = byte;
        while let Some(&(at, lf)) = self.breaks.front() {
            if at != next {
                break;
            }
            self.line += u64::from(lf);
            self.breaks.pop_front();
            next += 1;
        }
        self.line
    }

    /// Checks that `bytes` (from `self.offset` on) continue valid UTF-8;
    /// returns the offset of the first byte that does not.
    fn utf8(&mut self, bytes: &[u8]) -> Option<u64> {
        let mut start = 0;
        // First complete the character cut off at the end of the last read.
        while !self.partial.is_empty() {
            if start == bytes.len() {
                return None;
            }
            let begun = self.offset - self.partial.len() as u64 + start as u64;
            self.partial.push(bytes[start]);
            start += 1;
            match std::str::from_utf8(&self.partial) {
                Ok(_) => self.partial.clear(),
                Err(e) if e.error_len().is_some() => return Some(begun),
                Err(_) => {}
            }
        }
        match std::str::from_utf8(&bytes[start..]) {
            Ok(_) => None,
            Err(e) if e.error_len().is_none() => {
                self.partial
                    .extend_from_slice(&bytes[start + e.valid_up_to()..]);
                None
            }
            Err(e) => Some(self.offset + (start + e.valid_up_to()) as u64),
        }
    }

    /// Follows quotes through `bytes`, as the CSV parser will.
    fn quotes(&mut self, bytes: &[u8]) -> Option<Stop> {
        let delimiter = self.delimiter;
        for &b in bytes {
            if let Some(line) = self.quoted {
                self.quoted_bytes += 1;
                if self.quoted_bytes > LONG_QUOTE {
                    return Some(Stop::LongQuote { line });
                }
                if self.pending_quote {
                    self.pending_quote = false;
                    if b != b'"' {
                        self.quoted = None;
                        self.field_start = b == delimiter || b == b'\n';
                    }
                } else if b == b'"' {
                    self.pending_quote = true;
                }
            } else if b == b'"' && self.field_start {
                self.quoted = Some(self.read_line);
                self.quoted_bytes = 0;
                self.field_start = false;
            } else {
                self.field_start = b == delimiter || b == b'\n' || (self.field_start && b == b'\r');
            }
            if b == b'\n' {
                self.read_line += 1;
            }
        }
        None
    }
}

impl<R: Read> Read for Scan<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.is_some() {
            return Err(std::io::Error::other("the list cannot be read on"));
        }
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        if n == 0 {
            self.at_end = true;
            if self.verify && !self.partial.is_empty() {
                let offset = self.offset - self.partial.len() as u64;
                self.stop = Some(Stop::NotUtf8 { offset });
                return Err(std::io::Error::other("not UTF-8"));
            }
            return Ok(0);
        }
        if self.verify
            && let Some(offset) = self.utf8(bytes)
        {
            self.stop = Some(Stop::NotUtf8 { offset });
            return Err(std::io::Error::other("not UTF-8"));
        }
        if self.checking
            && let Some(stop) = self.quotes(bytes)
        {
            self.stop = Some(stop);
            return Err(std::io::Error::other("a quote is never closed"));
        }
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Who a row is, for finding the same member twice: the email, else the
/// name (case and spacing ignored). Hashed as `fingerprint::of(["email",
/// lower-cased email])` or `(["name", …])`, without a lower-cased copy
/// for an ASCII email (the check pass does this for every row).
fn member_key(signer: &Signer) -> u64 {
    use std::hash::Hasher;
    if signer.email.is_empty() {
        let name = signer
            .name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        return crate::fingerprint::of(["name", &name]);
    }
    if !signer.email.is_ascii() {
        return crate::fingerprint::of(["email", &signer.email.to_lowercase()]);
    }
    let mut h = crate::fingerprint::Fnv::default();
    h.write(b"email\0");
    for b in signer.email.bytes() {
        h.write(&[b.to_ascii_lowercase()]);
    }
    h.write(&[0]);
    h.finish()
}

/// A member's key (`member_key`) and how messages name them.
fn identity(signer: &Signer) -> (u64, String) {
    let who = if signer.email.is_empty() {
        &signer.name
    } else {
        &signer.email
    };
    (member_key(signer), who.clone())
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
/// itself when it is UTF-8, else a UTF-8 copy. Only the first 64 KiB are
/// read here; whether the rest of a UTF-8 file is UTF-8 too is seen by
/// `check`, in the pass it makes anyway (`Verify`).
fn decode(
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
fn not_utf8_error(name: &Path, line: u64, column: u64, guess: &'static Encoding) -> anyhow::Error {
    anyhow::anyhow!(
        "{}:{line}:{column}: this is not UTF-8 text (it looks like {}); \
         leave out --encoding to detect it, or pass --encoding {}",
        name.display(),
        guess.name(),
        guess.name().to_lowercase()
    )
}

/// Reads the header row: the separator, the columns and remarks on them.
fn header(name: &Path, data: &Data) -> Result<(u8, Columns, Vec<String>)> {
    let mut first = String::new();
    // A small buffer: only the first line is wanted.
    data.open_with(4096)?
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
    let (columns, notes) = columns(&headers).with_context(|| format!("{}:1", name.display()))?;
    Ok((delimiter, columns, notes))
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

    fn accept_all(_: &str) -> std::result::Result<(), String> {
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
    fn member_key_is_the_identity_hash() {
        for (name, email) in [
            ("Jo Bloggs", "Jo.Bloggs@Union.ORG"),
            ("Jo Bloggs", "jo@u.org"),
            ("Jo  BLOGGS", ""),
            ("Łukasz Żak", "Lukasz@Przykład.pl"),
        ] {
            let s = Signer::new(name, "", email, "", "").unwrap();
            // The documented hash, from lower-cased copies.
            let expected = if email.is_empty() {
                crate::fingerprint::of(["name", "jo bloggs"])
            } else {
                crate::fingerprint::of(["email", &s.email.to_lowercase()])
            };
            assert_eq!(member_key(&s), expected, "{name} <{email}>");
        }
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
        let checked = l.check(&accept_all).unwrap();
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
        let checked = l.check(&accept_all).unwrap();
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
        let checked = l.check(&accept_all).unwrap();
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
        let err = l.check(&accept_all).unwrap_err().to_string();
        assert!(err.contains("m.csv:3:"), "{err}");
        assert!(err.contains("never closed"), "{err}");
        // Closed quotes, escaped quotes and line breaks inside are fine.
        assert_eq!(open_quote(b"a,\"b \"\"c\"\"\nd\",e\n"), None);
        assert_eq!(open_quote(b"a,\"b\"\n"), None);
        assert_eq!(open_quote(b"x\na,\"b\n"), Some(2));
    }

    /// The line of a quote a checking scan finds open at the end.
    fn open_quote(bytes: &[u8]) -> Option<u64> {
        let mut scan = Scan::new(bytes, b',', true, false);
        std::io::copy(&mut scan, &mut std::io::sink()).unwrap();
        if scan.pending_quote {
            None
        } else {
            scan.quoted
        }
    }

    /// Hands out one byte per read: every character is cut somewhere.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.split_first() {
                Some((&b, rest)) if !buf.is_empty() => {
                    buf[0] = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn the_scan_checks_utf8_across_reads() {
        let text = "name\nӘйнұр 🌍 Müller\n".as_bytes();
        let mut scan = Scan::new(Trickle(text), b',', true, true);
        std::io::copy(&mut scan, &mut std::io::sink()).unwrap();
        assert!(scan.stop.is_none());
        let mut bad = text.to_vec();
        bad.insert(9, 0xfc); // a stray Latin-1 ü before `ұ`
        let mut scan = Scan::new(Trickle(&bad), b',', true, true);
        assert!(std::io::copy(&mut scan, &mut std::io::sink()).is_err());
        assert!(
            matches!(scan.stop, Some(Stop::NotUtf8 { offset: 9 })),
            "{:?}",
            scan.stop
        );
        // A character cut off by the end of the file.
        let mut scan = Scan::new(Trickle(&text[..6]), b',', true, true);
        assert!(std::io::copy(&mut scan, &mut std::io::sink()).is_err());
        assert!(
            matches!(scan.stop, Some(Stop::NotUtf8 { offset: 5 })),
            "{:?}",
            scan.stop
        );
    }

    /// A list of `n` members, padded so the start is far more than 64 KiB.
    fn long_list(n: usize, last: &[u8]) -> Vec<u8> {
        let mut bytes = b"name,email\r\n".to_vec();
        for i in 1..=n {
            bytes.extend_from_slice(format!("Member {i},m{i}@u.org\r\n").as_bytes());
        }
        bytes.extend_from_slice(last);
        bytes
    }

    #[test]
    fn a_legacy_byte_past_the_first_64k_is_found_in_the_check_pass() {
        let bytes = long_list(10_000, b"J\xfcrgen M\xfcller,j@u.org\r\n");
        assert!(bytes.len() > 2 << 16);
        let (_d, mut l) = list_bytes(&bytes);
        assert_eq!(l.encoding(), "UTF-8", "presumed from the start");
        let checked = l.check(&accept_all).unwrap();
        assert_eq!(checked.valid, 10_001);
        assert_eq!(l.encoding(), "windows-1252");
        let names = names(&l);
        assert_eq!(
            names.last().unwrap(),
            &(10_002, "Jürgen Müller".to_string())
        );
        // Said outright, it is an error at its line and column.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, &bytes).unwrap();
        let mut l = MemberList::open(&path, Some("utf-8")).unwrap();
        let err = format!("{:#}", l.check(&accept_all).unwrap_err());
        assert!(err.contains("m.csv:10002:2"), "{err}");
    }

    #[test]
    fn a_quote_left_open_in_a_long_list_stops_at_a_megabyte() {
        let mut bytes = b"name,email\n\"Ann,ann@u.org\n".to_vec();
        bytes.extend(long_list(60_000, b""));
        assert!(bytes.len() as u64 > LONG_QUOTE);
        let (_d, mut l) = list_bytes(&bytes);
        let err = l.check(&accept_all).unwrap_err().to_string();
        assert!(err.contains("m.csv:2:"), "{err}");
        assert!(err.contains("never closed"), "{err}");
    }

    #[test]
    fn check_and_rows_read_the_list_once_each() {
        let bytes = long_list(20_000, b"");
        let (_d, mut l) = list_bytes(&bytes);
        let path = match &*l.data {
            Data::File { path, .. } => path.clone(),
            Data::Temp(_) => unreachable!(),
        };
        let size = bytes.len() as u64;
        let opened = bytes_read(&path);
        // Opening reads the start: 64 KiB to tell the encoding, the header.
        assert!(opened <= (1 << 16) + 4096, "{opened}");
        let checked = l.check(&accept_all).unwrap();
        assert!(checked.same_words);
        assert_eq!(bytes_read(&path) - opened, size, "check: one pass");
        assert_eq!(l.rows().unwrap().count(), 20_000);
        assert_eq!(bytes_read(&path) - opened, 2 * size, "rows: one more");
    }

    #[test]
    fn same_words_counts_the_members_that_stay() {
        let (_d, mut l) =
            list("name,email,message\nJo,jo@u.org,Free them\nAnn,a@u.org,Free them\n");
        assert!(l.check(&accept_all).unwrap().same_words);
        let (_d, mut l) = list("name,email,message\nJo,jo@u.org,Free them\nAnn,a@u.org,My words\n");
        assert!(!l.check(&accept_all).unwrap().same_words);
        // The only other words are a repeated member's, left out.
        let (_d, mut l) = list(
            "name,email,message\nJo,jo@u.org,Free them\nAnn,a@u.org,Free them\nJo,JO@u.org,Mine\n",
        );
        let checked = l.check(&accept_all).unwrap();
        assert_eq!(checked.duplicates.len(), 1);
        assert!(checked.same_words);
    }
}
