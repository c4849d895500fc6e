//! The header row: the separator it uses, and which column holds which
//! signer field (with a did-you-mean for a misspelt header).

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::printable;
use super::source::Data;

/// Which column holds which signer field.
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    pub(super) name: Option<usize>,
    pub(super) first: Option<usize>,
    pub(super) middle: Option<usize>,
    pub(super) last: Option<usize>,
    pub(super) organisation: Option<usize>,
    pub(super) email: Option<usize>,
    pub(super) address: Option<usize>,
    pub(super) country: Option<usize>,
    pub(super) language: Option<usize>,
    /// Other columns, by header, for templates (`signer.extra.<header>`).
    pub(super) extra: Vec<(usize, String)>,
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

/// Reads the header row (line `line` of the file, or row of the sheet):
/// the separator, the columns and remarks on them, each remark with its
/// place (`members.csv:1: …`).
pub(super) fn header(name: &Path, data: &Data, line: u64) -> Result<(u8, Columns, Vec<String>)> {
    let mut first = Vec::new();
    // A small buffer: only the first line is wanted.
    data.open_with(4096)?
        .read_until(b'\n', &mut first)
        .with_context(|| format!("cannot read {}", name.display()))?;
    let Ok(first) = String::from_utf8(first) else {
        bail!(
            "{}:{line}: the header row is not UTF-8 text; save the list from your spreadsheet \
             as \"CSV UTF-8\", or name its encoding with --encoding",
            name.display()
        );
    };
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
        columns(&headers).with_context(|| format!("{}:{line}", name.display()))?;
    let notes = notes
        .into_iter()
        .map(|note| format!("{}:{line}: {note}", name.display()))
        .collect();
    Ok((delimiter, columns, notes))
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
            unknown.push((printable(header.trim()), key));
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
            printable(&headers.iter().collect::<Vec<_>>().join(", ")),
            name_hint.unwrap_or_default()
        );
    }
    Ok((found, notes))
}
