use std::io::Read;

use super::duplicates::member_key;
use super::rows::language;
use super::scan::{LONG_QUOTE, Scan, Stop};
use super::*;

fn list_bytes(bytes: &[u8]) -> (tempfile::TempDir, MemberList) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv");
    std::fs::write(&path, bytes).unwrap();
    let list = MemberList::open(&path, None, None).unwrap();
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
        // The person the journal knows (see `signers::identity`).
        let expected = if email.is_empty() {
            crate::signers::fingerprint::of(["sig:jo bloggs||"])
        } else {
            let person = format!("email:{}", crate::signers::identity::email(&s.email));
            crate::signers::fingerprint::of([person.as_str()])
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
    let err = format!("{:#}", MemberList::open(&path, None, None).unwrap_err());
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
    let (_d, mut l) = list("name,email\nJo,jo@u.org\nAnn,\nJoanne,JO@u.org\nann \nBo,bo@u.org\n");
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
    let err = format!(
        "{:#}",
        MemberList::open(&path, Some("utf-8"), None).unwrap_err()
    );
    assert!(err.contains("m.csv:3:5"), "{err}");
    assert!(err.contains("windows-1252"), "{err}");
    assert!(MemberList::open(&path, Some("latin1"), None).is_ok());
    assert!(MemberList::open(&path, Some("klingon"), None).is_err());
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
    scan.open_at_end()
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
    assert!(scan.stop().is_none());
    let mut bad = text.to_vec();
    bad.insert(9, 0xfc); // a stray Latin-1 ü before `ұ`
    let mut scan = Scan::new(Trickle(&bad), b',', true, true);
    assert!(std::io::copy(&mut scan, &mut std::io::sink()).is_err());
    assert!(
        matches!(scan.stop(), Some(Stop::NotUtf8 { offset: 9 })),
        "{:?}",
        scan.stop()
    );
    // A character cut off by the end of the file.
    let mut scan = Scan::new(Trickle(&text[..6]), b',', true, true);
    assert!(std::io::copy(&mut scan, &mut std::io::sink()).is_err());
    assert!(
        matches!(scan.stop(), Some(Stop::NotUtf8 { offset: 5 })),
        "{:?}",
        scan.stop()
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
    let mut l = MemberList::open(&path, Some("utf-8"), None).unwrap();
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

/// A closed quoted value over the limit is said to be too long, naming the
/// limit; one that a later value's quote seems to close is still a quote
/// left open.
#[test]
fn a_closed_quoted_value_over_a_megabyte_is_too_long_not_open() {
    for (end, long) in [
        (&b"\",ann@u.org\r\nBo,bo@u.org\r\n"[..], true),
        (b"\"\r\n", true),
        (b"\"", true),
        (b"\r\nBo,\"bo@u.org\"\r\n", false),
    ] {
        let mut bytes = b"name,email\r\nJo,jo@u.org\r\n\"Ann ".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 2 << 20));
        bytes.extend_from_slice(end);
        let (_d, mut l) = list_bytes(&bytes);
        let err = l.check(&accept_all).unwrap_err().to_string();
        assert!(err.contains("m.csv:3:"), "{err}");
        if long {
            assert!(err.contains("longer than 1 MiB"), "{err}");
        } else {
            assert!(err.contains("never closed"), "{err}");
        }
    }
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
    // Opening reads the start: 64 bytes to tell a workbook, 64 KiB to tell
    // the encoding, the header.
    assert!(opened <= 64 + (1 << 16) + 4096, "{opened}");
    let checked = l.check(&accept_all).unwrap();
    assert!(checked.same_words);
    assert_eq!(bytes_read(&path) - opened, size, "check: one pass");
    assert_eq!(l.rows().unwrap().count(), 20_000);
    assert_eq!(bytes_read(&path) - opened, 2 * size, "rows: one more");
}

#[test]
fn same_words_counts_the_members_that_stay() {
    let (_d, mut l) = list("name,email,message\nJo,jo@u.org,Free them\nAnn,a@u.org,Free them\n");
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

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lists")
        .join(name)
}

/// The LibreOffice workbooks (tests/fixtures/lists/README.md): the first
/// sheet, with its own row numbers (row 3 is empty), numbers as typed and
/// dates as dates; another sheet by name.
#[test]
fn spreadsheets_are_read_with_their_row_numbers_and_cells_as_shown() {
    for book in ["members.xlsx", "members.xls", "members.ods"] {
        let path = fixture(book);
        let mut l = MemberList::open(&path, None, None).unwrap();
        let checked = l.check(&accept_all).unwrap();
        assert_eq!(checked.valid, 3, "{book}");
        let bad: Vec<_> = checked.bad.iter().map(|b| b.line).collect();
        assert_eq!(bad, [5], "{book}");
        assert!(
            l.notes()[0].contains("`Members`"),
            "{book}: {:?}",
            l.notes()
        );
        let rows: Vec<_> = l
            .rows()
            .unwrap()
            .map(|r| r.unwrap())
            .filter_map(|(line, s)| s.ok().map(|s| (line, s)))
            .collect();
        let lines: Vec<_> = rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 4, 6], "{book}");
        let jo = &rows[0].1;
        assert_eq!(jo.name, "Jo Bloggs", "{book}");
        assert_eq!(jo.extra["Phone"], "447700900123", "{book}");
        assert_eq!(jo.extra["Postcode"], "12345", "{book}");
        assert_eq!(jo.extra["Joined"], "2024-03-01", "{book}");
        assert_eq!(jo.address, "1 High Street\nLeeds LS1 1AA", "{book}");
        assert_eq!(
            rows[1].1.message(),
            "I have loaded ships at this port for twenty years.",
            "{book}"
        );

        let l = MemberList::open(&path, None, Some("комитет")).unwrap();
        let got = names(&l);
        assert_eq!(
            got,
            [
                (2, "Ольга Ли".to_string()),
                (3, "Нурлан Кураманов".to_string())
            ],
            "{book}"
        );
        let err = format!(
            "{:#}",
            MemberList::open(&path, Some("utf-8"), None).unwrap_err()
        );
        assert!(
            err.contains("--encoding is for text lists"),
            "{book}: {err}"
        );
        let err = format!(
            "{:#}",
            MemberList::open(&path, None, Some("Nope")).unwrap_err()
        );
        assert!(
            err.contains("no sheet named `Nope`") && err.contains("`Members`, `Комитет`"),
            "{book}: {err}"
        );
    }
}

/// `n` Russian members in UTF-8, numbered from `from`.
fn russian_rows_from(from: usize, n: usize) -> String {
    const NAMES: [&str; 5] = ["Анна", "Пётр", "Ольга", "Нурлан", "Жанна"];
    (from..from + n)
        .map(|i| format!("{} Иванова {i},m{i}@u.org\r\n", NAMES[i % 5]))
        .collect()
}

/// `n` Russian members in UTF-8.
fn russian_rows(n: usize) -> String {
    russian_rows_from(0, n)
}

/// The bad rows' lines, and whether any name came out as CJK.
fn bad_lines_and_cjk(l: &mut MemberList) -> (Vec<u64>, bool) {
    let checked = l.check(&accept_all).unwrap();
    let cjk = names(l)
        .iter()
        .any(|(_, n)| n.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)));
    (checked.bad.iter().map(|b| b.line).collect(), cjk)
}

/// UTF-8 rows and one pasted from a Windows-1251 file (line 32): the list
/// is read as UTF-8 and that row is a bad row, whether it is in the first
/// 64 KiB or far past them; the UTF-8 rows never turn into Chinese.
#[test]
fn a_utf8_list_with_one_windows_1251_row_is_read_as_utf8() {
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Анна Сидорова,anna@u.org\r\n");
    for (before, after) in [(30, 5), (3000, 5), (3, 1)] {
        let mut bytes = format!("name,email\r\n{}", russian_rows(before)).into_bytes();
        bytes.extend_from_slice(&cp1251);
        bytes.extend_from_slice(russian_rows_from(before, after).as_bytes());
        let (_d, mut l) = list_bytes(&bytes);
        let (bad, cjk) = bad_lines_and_cjk(&mut l);
        assert_eq!(bad, [before as u64 + 2], "{before}");
        assert!(!cjk, "{before}");
        assert_eq!(l.encoding(), "UTF-8");
        assert_eq!(names(&l).len(), before + after);
        let checked = l.check(&accept_all).unwrap();
        assert!(
            checked.bad[0].reason.contains("save the list as UTF-8"),
            "{:?}",
            checked.bad
        );
    }
    // The same in Excel's "CSV UTF-8", with a byte-order mark.
    let mut bytes = format!("\u{feff}name,email\r\n{}", russian_rows(3)).into_bytes();
    bytes.extend_from_slice(&cp1251);
    let (_d, mut l) = list_bytes(&bytes);
    assert_eq!(bad_lines_and_cjk(&mut l), (vec![5], false));
    // ASCII rows and one Windows-1251 row: all of it reads as Windows-1251.
    let mut bytes = b"name,email\r\nJo Bloggs,jo@u.org\r\n".to_vec();
    bytes.extend_from_slice(&cp1251);
    let (_d, mut l) = list_bytes(&bytes);
    assert_eq!(bad_lines_and_cjk(&mut l), (vec![], false));
    assert_eq!(names(&l)[1].1, "Анна Сидорова");
}

/// A Windows-1251 list with a few UTF-8 rows is read as Windows-1251, not
/// as Chinese (chardetng took the UTF-8 bytes for GBK: `Анна` → `袗薪薪邪`).
#[test]
fn a_cyrillic_list_is_never_read_as_cjk() {
    let text = format!("ФИО,Email\r\n{}", russian_rows(6));
    let mut bytes = encoding_rs::WINDOWS_1251.encode(&text).0.into_owned();
    bytes.extend_from_slice(russian_rows_from(6, 2).as_bytes());
    let (_d, mut l) = list_bytes(&bytes);
    let (bad, cjk) = bad_lines_and_cjk(&mut l);
    assert!(!cjk);
    assert_eq!(l.encoding(), "windows-1251");
    assert_eq!(names(&l)[0].1, "Анна Иванова 0");
    // The two UTF-8 rows are bad rows, not names read as `РђРЅРЅР°`.
    assert_eq!(bad, [8, 9]);
    assert_eq!(names(&l).len(), 6);
}

/// The fallback when chardetng says CJK: Cyrillic in whichever of the
/// three encodings reads as words; Latin text as Windows-1252.
#[test]
fn not_cjk_tells_cyrillic_encodings_and_latin_apart() {
    let text = "Анна Иванова,Пётр Сидоров,Ольга Ли,Жанна Ким";
    for encoding in [
        encoding_rs::WINDOWS_1251,
        encoding_rs::KOI8_U,
        encoding_rs::IBM866,
    ] {
        let (bytes, _, _) = encoding.encode(text);
        assert_eq!(decoding::not_cjk(&bytes), encoding);
    }
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("Jürgen Müller,François Lefèvre");
    assert_eq!(decoding::not_cjk(&bytes), encoding_rs::WINDOWS_1252);
}

/// A list saved in CP866 (DOS Cyrillic) is recognised.
#[test]
fn a_cp866_list_is_recognised() {
    let text = format!("ФИО,Email\r\n{}", russian_rows(3));
    let (bytes, _, _) = encoding_rs::IBM866.encode(&text);
    let (_d, mut l) = list_bytes(&bytes);
    assert_eq!(l.encoding(), "IBM866");
    assert_eq!(bad_lines_and_cjk(&mut l), (vec![], false));
    assert_eq!(names(&l)[1].1, "Пётр Иванова 1");
}

/// A list that cannot be read is said so in plain words (a test run as
/// root cannot make a file unreadable, so the words are checked here).
#[test]
fn unreadable_lists_are_said_plainly() {
    use std::io::{Error, ErrorKind};
    let path = Path::new("members.csv");
    let said = |kind: ErrorKind| source::unreadable(path, &Error::from(kind)).to_string();
    assert_eq!(said(ErrorKind::NotFound), "no such file: members.csv");
    assert!(
        said(ErrorKind::PermissionDenied).starts_with("cannot read members.csv: permission denied")
    );
    assert!(!said(ErrorKind::Other).contains("metadata"));
}
