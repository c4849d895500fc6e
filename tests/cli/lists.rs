//! Members' lists as they really come (issue 13): the exports in
//! tests/fixtures/lists/ (Excel "CSV UTF-8", Excel "CSV" in Windows-1252
//! and Windows-1251, Excel "Unicode text", LibreOffice, First/Last name
//! layouts, duplicates, five countries), standard input and pipes, and
//! all-or-nothing batch output. Letters are checked by content: mbox and
//! SMTP messages are parsed with mail-parser.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mail_parser::MessageParser;
use mail_parser::mailbox::mbox::MessageIterator;
use serde_json::Value;

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{TestCampaign, text};

const DOMAIN: &str = "kz-gov.org";
const ACCOUNT: &str = "sec@union.org";
const BRANCH: &str = "Unite Branch 42";
const COURT: &str = "supreme-court@kz-gov.org";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lists")
        .join(name)
}

fn embassy(country: &str) -> String {
    format!("embassy-{}@{DOMAIN}", country.to_ascii_lowercase())
}

/// A temp campaign with real-looking addresses, run in its `work/` folder.
struct Lists {
    campaign: TestCampaign,
}

impl Lists {
    fn new() -> Self {
        Lists {
            campaign: TestCampaign::with_real_addresses(DOMAIN),
        }
    }

    fn work(&self, name: &str) -> PathBuf {
        self.campaign.work().join(name)
    }

    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.work(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn std_cmd(&self) -> std::process::Command {
        let mut cmd = self.campaign.std_cmd();
        cmd.env("PROTEST_LETTER_RETRY_DELAY_MS", "10")
            .arg("--campaign")
            .arg(self.campaign.dir());
        cmd
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd());
        cmd.timeout(Duration::from_secs(120));
        cmd
    }

    /// `write` of `list` as mbox on standard output, from the branch account.
    fn mbox(&self, list: &Path, extra: &[&str]) -> std::process::Output {
        self.cmd()
            .arg("write")
            .arg("--signatories")
            .arg(list)
            .args(["--to", "supreme-court", "--to", "embassy"])
            .args(["--format", "mbox", "--date", "2026-11-22"])
            .args(["--email", ACCOUNT, "--organisation", BRANCH])
            .args(extra)
            .output()
            .unwrap()
    }

    /// `send --yes` (or with `extra` flags) of `list` through `server`.
    fn send(&self, server: &SmtpServer, list: &Path, extra: &[&str]) -> std::process::Output {
        self.cmd()
            .arg("send")
            .arg("--signatories")
            .arg(list)
            .args(["--email", ACCOUNT, "--organisation", BRANCH])
            .args(["--smtp", &format!("smtp://127.0.0.1:{}", server.port())])
            .args(["--date", "2026-11-22", "--journal"])
            .arg(self.work("journal.jsonl"))
            .args(extra)
            .output()
            .unwrap()
    }
}

/// One email as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Mail {
    /// The member (Reply-To): name and address.
    member: String,
    member_email: String,
    to: String,
    from_name: String,
    subject: String,
    body: String,
}

fn mail(bytes: &[u8]) -> Mail {
    let m = MessageParser::default()
        .parse(bytes)
        .unwrap_or_else(|| panic!("mail-parser cannot parse:\n{}", text(bytes)));
    let first = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first()).map_or_else(
            || (String::new(), String::new()),
            |a| {
                (
                    a.name().unwrap_or_default().to_string(),
                    a.address().unwrap_or_default().to_ascii_lowercase(),
                )
            },
        )
    };
    let (from_name, _) = first(m.from());
    let (mut member, mut member_email) = first(m.reply_to());
    let body = m.body_text(0).unwrap_or_default().into_owned();
    if member_email.is_empty() {
        // No Reply-To (the default): the member's address is the line under
        // the signature.
        let last = body.lines().rev().find(|l| !l.trim().is_empty());
        if let Some(last) = last
            .map(str::trim)
            .filter(|l| l.contains('@') && !l.contains(' '))
        {
            member_email = last.to_ascii_lowercase();
        }
    }
    if member.is_empty() {
        // A member without an address: only in the display name.
        member = from_name
            .strip_suffix(&format!(" via {BRANCH}"))
            .unwrap_or_default()
            .to_string();
    }
    let (_, to) = first(m.to());
    Mail {
        member,
        member_email,
        to,
        from_name,
        subject: m.subject().unwrap_or_default().to_string(),
        body,
    }
}

fn mbox_mails(stream: &[u8]) -> Vec<Mail> {
    MessageIterator::new(stream)
        .map(|m| mail(m.expect("read the mbox").contents()))
        .collect()
}

/// A member as a test expects them: name, email, country.
type Member<'a> = (&'a str, &'a str, Option<&'a str>);

/// Checks that `mails` are exactly one letter to the Supreme Court per
/// member, plus one to their own country's embassy for members with a
/// country, each signed by the member.
#[track_caller]
fn assert_letters(list: &str, mails: &[Mail], members: &[Member<'_>]) {
    let mut expected = BTreeSet::new();
    for (name, email, country) in members {
        expected.insert((name.to_string(), email.to_lowercase(), COURT.to_string()));
        if let Some(c) = country {
            expected.insert((name.to_string(), email.to_lowercase(), embassy(c)));
        }
    }
    let got: BTreeSet<_> = mails
        .iter()
        .map(|m| (m.member.clone(), m.member_email.clone(), m.to.clone()))
        .collect();
    assert_eq!(got, expected, "{list}");
    assert_eq!(mails.len(), expected.len(), "{list}: each letter once");
    for m in mails {
        assert_eq!(m.from_name, format!("{} via {BRANCH}", m.member), "{list}");
        let body = m.body.replace("\r\n", "\n");
        // The court reads Russian (its `language`), the others English.
        assert!(
            body.contains(&format!("Yours faithfully,\n\n{}\n", m.member))
                || body.contains(&format!("С уважением,\n\n{}\n", m.member)),
            "{list}: the letter to {} is not signed by {}:\n{body}",
            m.to,
            m.member
        );
    }
}

#[test]
fn lists_real_exports_produce_the_expected_letters() {
    let cases: &[(&str, &[Member<'_>])] = &[
        (
            "excel-csv-utf8.csv",
            &[
                ("Jo Bloggs", "jo.bloggs@union.org", Some("GB")),
                ("Zoë Ågren", "zoe.agren@if-metall.se", Some("SE")),
                ("Łukasz Wójcik", "lukasz@opzz.org.pl", None),
            ],
        ),
        (
            "excel-csv-windows-1252.csv",
            &[
                ("Jürgen Müller", "j.mueller@igmetall.de", Some("DE")),
                ("François Lefèvre", "f.lefevre@cgt.fr", Some("FR")),
                ("José García", "jgarcia@ccoo.es", None),
            ],
        ),
        (
            "excel-csv-windows-1251.csv",
            &[
                ("Пётр Иванов", "p.ivanov@mail.ru", Some("RU")),
                ("Анна Сидорова", "a.sidorova@yandex.ru", Some("RU")),
            ],
        ),
        (
            "excel-unicode-text.txt",
            &[
                ("Әйнұр Құрманова", "ainur@kasipodak.kz", Some("GB")),
                ("Ерлан Сәрсенбаев", "erlan@kasipodak.kz", Some("DE")),
            ],
        ),
        (
            "libreoffice-semicolons.csv",
            &[
                ("Ann Lee", "ann.lee@unison.org", None),
                ("Bo \"Red\" Ek", "bo.ek@unison.org", None),
            ],
        ),
        (
            "first-last-english.csv",
            &[
                ("Mary O'Brien", "mary.obrien@siptu.ie", None),
                ("Tom Smith", "tom.smith@unite.org.uk", Some("GB")),
            ],
        ),
        (
            "first-last-russian.csv",
            &[
                ("Нурлан Серикович Кураманов", "nurlan@kasipodak.kz", None),
                ("Ольга Ли", "olga.li@kasipodak.kz", None),
            ],
        ),
        (
            "duplicates.csv",
            &[
                ("Jo Bloggs", "jo.bloggs@union.org", None),
                ("Ann Lee", "", None),
                ("Bo Ek", "bo.ek@union.org", None),
            ],
        ),
        (
            "five-countries.csv",
            &[
                ("Tom Smith", "tom@unite.org.uk", Some("GB")),
                ("Jürgen Müller", "juergen@igmetall.de", Some("DE")),
                ("Marie Dupont", "marie@cgt.fr", Some("FR")),
                ("Sam Jones", "sam@afl-cio.org", Some("US")),
                ("Zoë Ågren", "zoe@if-metall.se", Some("SE")),
            ],
        ),
    ];
    let l = Lists::new();
    for (list, members) in cases {
        let output = l.mbox(&fixture(list), &[]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{list}:\n{stderr}");
        assert_letters(list, &mbox_mails(&output.stdout), members);
    }
    // The organisation with its separator, from the UTF-8 export.
    let output = l
        .cmd()
        .args(["write", "--to", "supreme-court", "--format", "json"])
        .arg("--signatories")
        .arg(fixture("excel-csv-utf8.csv"))
        .args(["--email", ACCOUNT])
        .output()
        .unwrap();
    let first: Value = serde_json::from_str(text(&output.stdout).lines().next().unwrap()).unwrap();
    assert!(first["body"].as_str().unwrap().contains("Unite, Branch 42"));
}

#[test]
fn lists_encodings_can_be_named_and_a_wrong_one_is_named_by_line() {
    let l = Lists::new();
    let output = l.mbox(
        &fixture("excel-csv-windows-1251.csv"),
        &["--encoding", "windows-1251"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(mbox_mails(&output.stdout).len(), 4);

    // Said to be UTF-8, the Windows-1252 export fails at its first accent:
    // line 2, column 2 (`Jürgen`), and the message names the real encoding.
    let output = l.mbox(
        &fixture("excel-csv-windows-1252.csv"),
        &["--encoding", "utf-8"],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("excel-csv-windows-1252.csv:2:2:"),
        "{stderr}"
    );
    assert!(stderr.contains("windows-1252"), "{stderr}");
    assert!(!stderr.contains("byte:"), "no csv-crate jargon: {stderr}");
    assert!(output.stdout.is_empty());

    let output = l.mbox(&fixture("excel-csv-utf8.csv"), &["--encoding", "klingon"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("windows-1251"));
}

#[test]
fn lists_duplicates_are_reported_first_and_made_once_everywhere() {
    let l = Lists::new();
    let list = fixture("duplicates.csv");
    // Per member: three files, not five; the warning names both lines.
    let output = l
        .cmd()
        .arg("write")
        .arg("--signatories")
        .arg(&list)
        .args(["--to", "supreme-court", "--out-dir", "out"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("duplicates.csv:4: the same member as line 2")
            && stderr.contains("duplicates.csv:6: the same member as line 3"),
        "{stderr}"
    );
    let files: BTreeSet<String> = std::fs::read_dir(l.work("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "sokolova-supreme-court-ann-lee.txt",
            "sokolova-supreme-court-bo-ek.txt",
            "sokolova-supreme-court-jo-bloggs.txt",
        ]
        .map(String::from)
        .into()
    );

    // A petition lists each name once.
    let output = l
        .cmd()
        .arg("write")
        .arg("--signatories")
        .arg(&list)
        .args(["--group", "--to", "supreme-court"])
        .output()
        .unwrap();
    let petition = text(&output.stdout);
    for name in ["Jo Bloggs", "Ann Lee", "Bo Ek"] {
        assert_eq!(petition.matches(name).count(), 1, "{name} in:\n{petition}");
    }
    assert!(!petition.contains("Joanne") && !petition.contains("ann  lee"));

    // The preview, the dry run and the real run count the same letters.
    let mut server = SmtpServer::start(ServerConfig::default());
    let dry = l.send(&server, &list, &["--to", "supreme-court", "--dry-run"]);
    let (dry_out, dry_err) = (text(&dry.stdout), text(&dry.stderr));
    assert_eq!(dry.status.code(), Some(0), "{dry_err}");
    assert!(dry_out.contains("Dry run: 3 would be sent"), "{dry_out}");
    assert!(dry_err.contains("1 of 3"), "{dry_err}");
    let real = l.send(
        &server,
        &list,
        &["--to", "supreme-court", "--yes", "--format", "json"],
    );
    assert_eq!(real.status.code(), Some(0), "{}", text(&real.stderr));
    let summary: Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(summary["sent"], 3, "{summary}");
    assert_eq!(summary["already_sent"], 0, "{summary}");
    server.stop();
    assert_eq!(server.received().len(), 3);
}

/// A member's `country` picks their embassy when sending too.
#[test]
fn lists_five_countries_are_sent_to_five_embassies() {
    let l = Lists::new();
    let mut server = SmtpServer::start(ServerConfig::default());
    let output = l.send(
        &server,
        &fixture("five-countries.csv"),
        &["--to", "embassy", "--yes", "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    server.stop();
    let got: BTreeSet<(String, String)> = server
        .received()
        .iter()
        .map(|r| {
            let m = mail(&r.data);
            let body = m.body.replace("\r\n", "\n");
            assert!(
                body.contains(&format!("Yours faithfully,\n\n{}\n", m.member)),
                "{m:?}"
            );
            (m.member_email, m.to)
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("tom@unite.org.uk", "GB"),
        ("juergen@igmetall.de", "DE"),
        ("marie@cgt.fr", "FR"),
        ("sam@afl-cio.org", "US"),
        ("zoe@if-metall.se", "SE"),
    ]
    .iter()
    .map(|(e, c)| (e.to_string(), embassy(c)))
    .collect();
    assert_eq!(got, expected);
}

/// A country that is not an ISO code, or has no embassy address, is that
/// row's problem, reported with the other bad rows at its file line
/// (CRLF lines, as Excel writes them, counted right).
#[test]
fn lists_bad_countries_are_bad_rows_with_suggestions() {
    let l = Lists::new();
    let list = l.file(
        "m.csv",
        "name,email,country\r\nTom,tom@u.org,GB\r\nAnn,ann@u.org,UK\r\n\r\nBo,bo@u.org,Germany\r\nCy,cy@u.org,JP\r\nDi,not-an-email,DE\r\nEd,ed@u.org,de\r\n",
    );
    let output = l.mbox(&list, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    let line = |n: u32| {
        stderr
            .lines()
            .find(|l| l.contains(&format!("m.csv:{n}:")))
            .unwrap_or_else(|| panic!("line {n} not reported:\n{stderr}"))
    };
    assert!(line(3).contains("did you mean GB"), "{stderr}");
    assert!(line(5).contains("did you mean DE"), "{stderr}");
    assert!(
        line(6).contains("JP") && line(6).contains("--embassy-email"),
        "{stderr}"
    );
    assert!(line(7).contains("not-an-email"), "{stderr}");
    assert!(stderr.contains("4 bad rows"), "{stderr}");

    let output = l.mbox(&list, &["--skip-invalid"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_letters(
        "m.csv",
        &mbox_mails(&output.stdout),
        &[
            ("Tom", "tom@u.org", Some("GB")),
            ("Ed", "ed@u.org", Some("DE")),
        ],
    );
}

#[test]
fn lists_headers_in_any_case_and_a_misspelt_one_gets_a_suggestion() {
    let l = Lists::new();
    let list = l.file("m.csv", "Nmae,EMAIL\nJo,jo@u.org\n");
    let output = l.mbox(&list, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("m.csv:1"), "{stderr}");
    assert!(
        stderr.contains("did you mean `name` for `Nmae`"),
        "{stderr}"
    );

    let list = l.file("m.csv", " NAME ,E-Mail,Emial Adress\nJo,jo@u.org,x\n");
    let output = l.mbox(&list, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(mbox_mails(&output.stdout).len(), 1);
    assert!(stderr.contains("did you mean `emailaddress`"), "{stderr}");
}

/// A `language` column picks the letter's language per member, like --lang.
#[test]
fn lists_language_column_picks_each_members_letter() {
    // The built-in letters/sokolova.ru.txt; the ministry reads English, so
    // a member without a language gets English.
    let l = Lists::new();
    let list = l.file(
        "m.csv",
        "name,email,language\nJo,jo@u.org,en\nOlga,olga@u.org,ru\nAnn,ann@u.org,\nPyotr,p@u.org,Русский\n",
    );
    let output = l
        .cmd()
        .arg("write")
        .arg("--signatories")
        .arg(&list)
        .args([
            "--to",
            "foreign-ministry",
            "--format",
            "json",
            "--email",
            ACCOUNT,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let by_signer: Vec<(String, String)> = text(&output.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["signer"].as_str().unwrap().into(),
                v["subject"].as_str().unwrap().into(),
            )
        })
        .collect();
    let ru = "Наталья Соколова, юрист профсоюза нефтяников Мангистау: о пересмотре приговора";
    let en =
        "Natalia Sokolova, lawyer of the Mangystau oil workers' union: a review of her conviction";
    assert_eq!(
        by_signer,
        [("Jo", en), ("Olga", ru), ("Ann", en), ("Pyotr", ru)]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

/// `--signatories -`, `/dev/stdin` and `<(…)`: the list is read once and
/// kept, so every letter is made (they once gave 0 letters and exit 0).
#[test]
fn lists_from_stdin_dev_stdin_and_process_substitution() {
    let l = Lists::new();
    let list = fixture("five-countries.csv");
    let bytes = std::fs::read(&list).unwrap();
    for source in ["-", "/dev/stdin"] {
        let output = l
            .cmd()
            .args(["write", "--signatories", source, "--to", "supreme-court"])
            .args(["--to", "embassy", "--format", "mbox", "--email", ACCOUNT])
            .args(["--organisation", BRANCH])
            .write_stdin(bytes.clone())
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{source}: {}",
            text(&output.stderr)
        );
        assert_eq!(mbox_mails(&output.stdout).len(), 10, "{source}");
    }
    // Bash process substitution: a pipe under /dev/fd.
    let cmd = l.std_cmd();
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut bash = std::process::Command::new("bash");
    bash.arg("-c")
        .arg(
            r#"exec "$@" write --signatories <(cat "$LIST") --to supreme-court --to embassy --format mbox --email sec@union.org --organisation "Unite Branch 42""#,
        )
        .arg("bash")
        .arg(program)
        .args(args)
        .env("LIST", &list)
        .current_dir(l.campaign.work())
        .stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => bash.env(k, v),
            None => bash.env_remove(k),
        };
    }
    let output = bash.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_letters(
        "<(cat five-countries.csv)",
        &mbox_mails(&output.stdout),
        &[
            ("Tom Smith", "tom@unite.org.uk", Some("GB")),
            ("Jürgen Müller", "juergen@igmetall.de", Some("DE")),
            ("Marie Dupont", "marie@cgt.fr", Some("FR")),
            ("Sam Jones", "sam@afl-cio.org", Some("US")),
            ("Zoë Ågren", "zoe@if-metall.se", Some("SE")),
        ],
    );
}

/// An unclosed quote is reported at its line and stops, even with
/// --skip-invalid (it would swallow the rest of the file into one row).
#[test]
fn lists_unclosed_quote_stops_at_its_line() {
    let l = Lists::new();
    let list = l.file(
        "m.csv",
        "name,email\r\nJo,jo@u.org\r\n\"Ann, Lee,ann@u.org\r\nBo,bo@u.org\r\nCy,cy@u.org\r\n",
    );
    let output = l.mbox(&list, &["--skip-invalid"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("m.csv:3:"), "{stderr}");
    assert!(stderr.contains("never closed"), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// File names are readable transliterations; `line-N` (the file line) only
/// when nothing is left of the name.
#[test]
fn lists_file_names_are_transliterated() {
    let l = Lists::new();
    let list = l.file(
        "m.csv",
        "name\r\nӘйнұр Құрманова\r\n\r\nMüller\r\n\"— … —\"\r\nИванов Пётр\r\n",
    );
    let output = l
        .cmd()
        .arg("write")
        .arg("--signatories")
        .arg(&list)
        .args(["--to", "supreme-court", "--out-dir", "out"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let files: BTreeSet<String> = std::fs::read_dir(l.work("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "sokolova-supreme-court-ainur-qurmanova.txt",
            "sokolova-supreme-court-ivanov-piotr.txt",
            "sokolova-supreme-court-line-5.txt",
            "sokolova-supreme-court-muller.txt",
        ]
        .map(String::from)
        .into()
    );
    let letter =
        std::fs::read_to_string(l.work("out/sokolova-supreme-court-ainur-qurmanova.txt")).unwrap();
    assert!(letter.trim_end().ends_with("Әйнұр Құрманова"), "{letter}");
}

/// A template error that shows for one member only (a variable used in an
/// `if` only their row reaches) leaves nothing behind, in a new folder, an
/// existing one, a file or standard output; the error names the CSV line.
#[test]
fn lists_batch_output_is_all_or_nothing() {
    let l = Lists::new();
    l.campaign.replace(
        "letters/sokolova.txt",
        "{% if many %}We, the undersigned, write",
        "{% if signer.extra.Group == \"7\" %}{{ signer.extra.Missing }}{% endif %}{% if many %}We, the undersigned, write",
    );
    let list = l.file(
        "m.csv",
        "name,email,Group\nAnn,ann@u.org,1\nBo,bo@u.org,2\n\nCy,cy@u.org,7\nDi,di@u.org,1\n",
    );
    std::fs::create_dir(l.work("existing")).unwrap();
    std::fs::write(l.work("existing/keep.txt"), "mine").unwrap();
    let targets: &[&[&str]] = &[
        &["--out-dir", "new"],
        &["--out-dir", "existing"],
        &["--out-dir", "eml", "--format", "eml"],
        &["-o", "all.mbox"],
        &["--format", "mbox"],
        &[],
    ];
    for target in targets {
        let output = l
            .cmd()
            .arg("write")
            .arg("--signatories")
            .arg(&list)
            .args(["--to", "supreme-court", "--to", "foreign-ministry"])
            .args(["--email", ACCOUNT])
            .args(*target)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{target:?}: {stderr}");
        assert!(stderr.contains("m.csv:5 (Cy)"), "{target:?}: {stderr}");
        assert!(
            stderr.contains("signer.extra.Missing"),
            "{target:?}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{target:?}: something reached standard output"
        );
    }
    let mut left: Vec<String> = walk(&l.campaign.work());
    left.sort();
    assert_eq!(
        left,
        ["existing/keep.txt", "m.csv"],
        "nothing else was left"
    );
    assert_eq!(
        std::fs::read_to_string(l.work("existing/keep.txt")).unwrap(),
        "mine"
    );
}

/// Every file under `dir`, relative, hidden ones included.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            let name = entry.file_name().into_string().unwrap();
            out.extend(walk(&path).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(entry.file_name().into_string().unwrap());
        }
    }
    out
}

/// A `--group` petition follows the members' countries too: each embassy
/// gets one petition signed by the members writing from its country
/// (members without a country of their own write from --country), and a
/// recipient that does not depend on the country one signed by everyone.
/// The preview counts those letters, and a second run sends none again.
#[test]
fn a_petition_goes_to_each_members_embassy() {
    let l = Lists::new();
    let list = l.file(
        "members.csv",
        "name,email,country\n\
         Tom Smith,tom@unite.org.uk,GB\n\
         Jürgen Müller,juergen@igmetall.de,de\n\
         Anna Schmidt,anna@verdi.de,DE\n\
         Pat Nobody,pat@union.org,\n\
         Marie Dupont,marie@cgt.fr,FR\n",
    );
    let flags = [
        "--group",
        "--to",
        "supreme-court",
        "--to",
        "embassy",
        "--country",
        "GB",
        "--lang",
        "en",
    ];
    let mut server = SmtpServer::start(ServerConfig::default());
    let preview = l.send(&server, &list, &[&flags[..], &["--dry-run"]].concat());
    assert_eq!(preview.status.code(), Some(0), "{}", text(&preview.stderr));
    let preview = text(&preview.stdout);
    assert!(preview.contains("Dry run: 4 would be sent"), "{preview}");

    let output = l.send(
        &server,
        &list,
        &[&flags[..], &["--yes", "--format", "json"]].concat(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["sent"], 4, "{summary}");
    let again = l.send(
        &server,
        &list,
        &[&flags[..], &["--yes", "--format", "json"]].concat(),
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (again["sent"].clone(), again["already_sent"].clone()),
        (0.into(), 4.into()),
        "{again}"
    );
    server.stop();

    let mut got: Vec<(String, Vec<String>)> = server
        .received()
        .iter()
        .map(|r| {
            let m = mail(&r.data);
            let body = m.body.replace("\r\n", "\n");
            let signature = body
                .split("Yours faithfully,\n\n")
                .nth(1)
                .unwrap_or_else(|| panic!("{body}"));
            let names: Vec<String> = signature
                .lines()
                .filter(|l| !l.is_empty() && *l != "The undersigned:")
                .map(str::to_string)
                .collect();
            (m.to, names)
        })
        .collect();
    got.sort();
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            (embassy("DE"), names(&["Jürgen Müller", "Anna Schmidt"])),
            (embassy("FR"), names(&["Marie Dupont"])),
            (embassy("GB"), names(&["Tom Smith", "Pat Nobody"])),
            (
                COURT.to_string(),
                names(&[
                    "Tom Smith",
                    "Jürgen Müller",
                    "Anna Schmidt",
                    "Pat Nobody",
                    "Marie Dupont"
                ])
            ),
        ]
    );
}

/// Names and unions that start in lower case ("van der Berg", "ver.di")
/// keep their lines in the signature, in a member's own letter and in a
/// petition (the paragraph filling once ran them into one line).
#[test]
fn signatures_keep_their_lines_whatever_the_case() {
    let l = Lists::new();
    let list = l.file(
        "members.csv",
        "name,organisation,email\n\
         anna van der Berg,ver.di Bezirk Berlin,anna@verdi.de\n\
         Tom Smith,unite the union,tom@unite.org.uk\n",
    );
    let own = l
        .cmd()
        .args([
            "write",
            "--to",
            "supreme-court",
            "--lang",
            "en",
            "--date",
            "2026-11-22",
        ])
        .arg("--signatories")
        .arg(&list)
        .args(["--email", ACCOUNT])
        .output()
        .unwrap();
    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stderr));
    let own = text(&own.stdout);
    assert!(
        own.contains("Yours faithfully,\n\nanna van der Berg\nver.di Bezirk Berlin\n"),
        "{own}"
    );
    assert!(
        own.contains("Yours faithfully,\n\nTom Smith\nunite the union\n"),
        "{own}"
    );
    let petition = l
        .cmd()
        .args(["write", "--group", "--to", "supreme-court", "--lang", "en"])
        .args(["--date", "2026-11-22"])
        .arg("--signatories")
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(
        petition.status.code(),
        Some(0),
        "{}",
        text(&petition.stderr)
    );
    let petition = text(&petition.stdout);
    assert!(
        petition.contains(
            "The undersigned:\nanna van der Berg (ver.di Bezirk Berlin)\nTom Smith (unite the union)"
        ),
        "{petition}"
    );
}
