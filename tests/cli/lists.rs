//! Members' lists as they really come (issue 13): the exports in
//! tests/fixtures/lists/ (Excel "CSV UTF-8", Excel "CSV" in Windows-1252
//! and Windows-1251, Excel "Unicode text", LibreOffice, First/Last name
//! layouts, duplicates, five countries), standard input and pipes, and
//! all-or-nothing batch output. Letters are checked by content: mbox and
//! SMTP messages are parsed with mail-parser.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use mail_parser::mailbox::mbox::MessageIterator;
use serde_json::Value;

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{
    ACCOUNT, COURT, DOMAIN, Mail, ORGANISATION as BRANCH, Run, Runs, TestCampaign, file_names,
    mail, serving,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lists")
        .join(name)
}

fn embassy(country: &str) -> String {
    format!("embassy-{}@{DOMAIN}", country.to_ascii_lowercase())
}

/// `write --signatories LIST` on the campaign.
fn write(l: &TestCampaign, list: &Path) -> assert_cmd::Command {
    let mut cmd = l.campaign_cmd();
    cmd.arg("write").arg("--signatories").arg(list);
    cmd
}

/// `write` of `list` as mbox on standard output, from the branch account.
fn mbox(l: &TestCampaign, list: &Path, extra: &[&str]) -> Run {
    write(l, list)
        .args(["--to", "supreme-court", "--to", "embassy"])
        .args(["--format", "mbox", "--date", "2026-11-22"])
        .args(["--email", ACCOUNT, "--organisation", BRANCH])
        .args(extra)
        .run()
}

/// `send` (`extra` says how) of `list` through `server`.
fn send(l: &TestCampaign, server: &SmtpServer, list: &Path, extra: &[&str]) -> Run {
    l.send().members(list).smtp(server).with(extra).run()
}

/// `send --yes --format json` (`extra` says what else) of `list`
/// through `server`, which must succeed.
fn send_json(l: &TestCampaign, server: &SmtpServer, list: &Path, extra: &[&str]) -> Run {
    let send = l.send().members(list).smtp(server).with(extra);
    send.json().succeeds()
}

fn mbox_mails(stream: &str) -> Vec<Mail> {
    MessageIterator::new(stream.as_bytes())
        .map(|m| mail(m.expect("read the mbox").contents()))
        .collect()
}

/// A member as a test expects them: name, email, country.
type Member<'a> = (&'a str, &'a str, Option<&'a str>);

/// The members of `spec`: `Name <email> COUNTRY; …` (the country may be
/// left out, the address left empty).
fn members(spec: &str) -> Vec<Member<'_>> {
    spec.split("; ")
        .map(|member| {
            let (name, rest) = member.split_once(" <").unwrap();
            let (email, country) = rest.split_once('>').unwrap();
            let country = Some(country.trim()).filter(|c| !c.is_empty());
            (name, email, country)
        })
        .collect()
}

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
        .map(|m| (m.member_name(), m.member.clone(), m.to.concat()))
        .collect();
    assert_eq!(got, expected, "{list}");
    assert_eq!(mails.len(), expected.len(), "{list}: each letter once");
    for m in mails {
        let member = m.member_name();
        assert_eq!(m.from_name, format!("{member} via {BRANCH}"), "{list}");
        let body = m.body.replace("\r\n", "\n");
        // The court reads Russian (its `language`), the others English.
        assert!(
            body.contains(&format!("Yours faithfully,\n\n{member}\n"))
                || body.contains(&format!("С уважением,\n\n{member}\n")),
            "{list}: the letter to {} is not signed by {member}:\n{body}",
            m.to.concat(),
        );
    }
}

/// The five members of five-countries.csv.
const FIVE_COUNTRIES: &str = "Tom Smith <tom@unite.org.uk> GB; Jürgen Müller <juergen@igmetall.de> DE; \
                              Marie Dupont <marie@cgt.fr> FR; Sam Jones <sam@afl-cio.org> US; \
                              Zoë Ågren <zoe@if-metall.se> SE";

/// Each export in tests/fixtures/lists/ and its members.
const EXPORTS: [(&str, &str); 9] = [
    (
        "excel-csv-utf8.csv",
        "Jo Bloggs <jo.bloggs@union.org> GB; Zoë Ågren <zoe.agren@if-metall.se> SE; \
         Łukasz Wójcik <lukasz@opzz.org.pl>",
    ),
    (
        "excel-csv-windows-1252.csv",
        "Jürgen Müller <j.mueller@igmetall.de> DE; François Lefèvre <f.lefevre@cgt.fr> FR; \
         José García <jgarcia@ccoo.es>",
    ),
    (
        "excel-csv-windows-1251.csv",
        "Пётр Иванов <p.ivanov@mail.ru> RU; Анна Сидорова <a.sidorova@yandex.ru> RU",
    ),
    (
        "excel-unicode-text.txt",
        "Әйнұр Құрманова <ainur@kasipodak.kz> GB; Ерлан Сәрсенбаев <erlan@kasipodak.kz> DE",
    ),
    (
        "libreoffice-semicolons.csv",
        "Ann Lee <ann.lee@unison.org>; Bo \"Red\" Ek <bo.ek@unison.org>",
    ),
    (
        "first-last-english.csv",
        "Mary O'Brien <mary.obrien@siptu.ie>; Tom Smith <tom.smith@unite.org.uk> GB",
    ),
    (
        "first-last-russian.csv",
        "Нурлан Серикович Кураманов <nurlan@kasipodak.kz>; Ольга Ли <olga.li@kasipodak.kz>",
    ),
    (
        "duplicates.csv",
        "Jo Bloggs <jo.bloggs@union.org>; Ann Lee <>; Bo Ek <bo.ek@union.org>",
    ),
    ("five-countries.csv", FIVE_COUNTRIES),
];

/// A sendable campaign and a list of members written from `csv` into its
/// working folder as m.csv.
fn with_list(csv: &str) -> (TestCampaign, PathBuf) {
    let l = TestCampaign::sendable();
    let list = l.work_file("m.csv", csv);
    (l, list)
}

/// The file names in the working folder's `out/`, sorted.
fn out_files(l: &TestCampaign) -> Vec<String> {
    file_names(&l.work().join("out"))
}

#[test]
fn lists_real_exports_produce_the_expected_letters() {
    let l = TestCampaign::sendable();
    for (list, spec) in EXPORTS {
        let out = mbox(&l, &fixture(list), &[]);
        assert_eq!(out.code, 0, "{list}: {out:?}");
        assert_letters(list, &mbox_mails(&out.stdout), &members(spec));
    }
    // The organisation with its separator, from the UTF-8 export.
    let out = l
        .campaign_cmd()
        .args(["write", "--to", "supreme-court", "--format", "json"])
        .arg("--signatories")
        .arg(fixture("excel-csv-utf8.csv"))
        .args(["--email", ACCOUNT])
        .run();
    let first: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert!(first["body"].as_str().unwrap().contains("Unite, Branch 42"));
}

#[test]
fn lists_encodings_can_be_named_and_a_wrong_one_is_named_by_line() {
    let l = TestCampaign::sendable();
    let list = fixture("excel-csv-windows-1251.csv");
    let out = mbox(&l, &list, &["--encoding", "windows-1251"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(mbox_mails(&out.stdout).len(), 4);

    // Said to be UTF-8, the Windows-1252 export fails at its first accent:
    // line 2, column 2 (`Jürgen`), and the message names the real encoding.
    let list = fixture("excel-csv-windows-1252.csv");
    let out = mbox(&l, &list, &["--encoding", "utf-8"]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("excel-csv-windows-1252.csv:2:2:")
        .says("windows-1252")
        .no_stdout();
    assert!(
        !out.stderr.contains("byte:"),
        "no csv-crate jargon: {out:?}"
    );

    let out = mbox(
        &l,
        &fixture("excel-csv-utf8.csv"),
        &["--encoding", "klingon"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("windows-1251"));
}

#[test]
fn lists_duplicates_are_reported_first_and_made_once_everywhere() {
    let l = TestCampaign::sendable();
    let list = fixture("duplicates.csv");
    // Per member: three files, not five; the warning names both lines.
    let out = write(&l, &list)
        .args(["--to", "supreme-court", "--out-dir", "out"])
        .succeeds();
    out.says("duplicates.csv:4: the same member as line 2")
        .says("duplicates.csv:6: the same member as line 3");
    assert_eq!(
        out_files(&l),
        [
            "sokolova-supreme-court-ann-lee.txt",
            "sokolova-supreme-court-bo-ek.txt",
            "sokolova-supreme-court-jo-bloggs.txt",
        ]
    );

    // A petition lists each name once.
    let petition = write(&l, &list)
        .args(["--group", "--to", "supreme-court"])
        .run()
        .stdout;
    for name in ["Jo Bloggs", "Ann Lee", "Bo Ek"] {
        assert_eq!(petition.matches(name).count(), 1, "{name} in:\n{petition}");
    }
    assert!(!petition.contains("Joanne") && !petition.contains("ann  lee"));

    // The preview, the dry run and the real run count the same letters.
    let mut server = SmtpServer::start(ServerConfig::default());
    let dry = send(&l, &server, &list, &["--to", "supreme-court", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    dry.prints("Dry run: 3 would be sent").says("1 of 3");
    let real = send_json(&l, &server, &list, &["--to", "supreme-court"]);
    real.counts(&[("sent", 3), ("already_sent", 0)]);
    server.stop();
    assert_eq!(server.received().len(), 3);
}

/// A member's `country` picks their embassy when sending too.
#[test]
fn lists_five_countries_are_sent_to_five_embassies() {
    let (l, mut server) = serving(ServerConfig::default());
    let list = fixture("five-countries.csv");
    send_json(&l, &server, &list, &["--to", "embassy"]);
    server.stop();
    let got: BTreeSet<(String, String)> = server
        .received()
        .iter()
        .map(|r| {
            let m = r.mail();
            let body = m.body.replace("\r\n", "\n");
            let signed = format!("Yours faithfully,\n\n{}\n", m.member_name());
            assert!(body.contains(&signed), "{m:?}");
            (m.member, m.to.concat())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = members(FIVE_COUNTRIES)
        .iter()
        .map(|(_, e, c)| (e.to_string(), embassy(c.unwrap())))
        .collect();
    assert_eq!(got, expected);
}

/// A country that is not an ISO code, or has no embassy address, is that
/// row's problem, reported with the other bad rows at its file line
/// (CRLF lines, as Excel writes them, counted right).
#[test]
fn lists_bad_countries_are_bad_rows_with_suggestions() {
    let (l, list) = with_list(
        "name,email,country\r\nTom,tom@u.org,GB\r\nAnn,ann@u.org,UK\r\n\r\nBo,bo@u.org,Germany\r\nCy,cy@u.org,JP\r\nDi,not-an-email,DE\r\nEd,ed@u.org,de\r\n",
    );
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.no_stdout();
    let line = |n: u32| {
        out.stderr
            .lines()
            .find(|l| l.contains(&format!("m.csv:{n}:")))
            .unwrap_or_else(|| panic!("line {n} not reported: {out:?}"))
    };
    assert!(line(3).contains("did you mean GB"), "{out:?}");
    assert!(line(5).contains("did you mean DE"), "{out:?}");
    assert!(
        line(6).contains("JP") && line(6).contains("--embassy-email"),
        "{out:?}"
    );
    assert!(line(7).contains("not-an-email"), "{out:?}");
    out.says("4 bad rows");

    let out = mbox(&l, &list, &["--skip-invalid"]);
    assert_eq!(out.code, 0, "{out:?}");
    let members = [
        ("Tom", "tom@u.org", Some("GB")),
        ("Ed", "ed@u.org", Some("DE")),
    ];
    assert_letters("m.csv", &mbox_mails(&out.stdout), &members);
}

#[test]
fn lists_headers_in_any_case_and_a_misspelt_one_gets_a_suggestion() {
    let (l, list) = with_list("Nmae,EMAIL\nJo,jo@u.org\n");
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("m.csv:1").says("did you mean `name` for `Nmae`");

    let list = l.work_file("m.csv", " NAME ,E-Mail,Emial Adress\nJo,jo@u.org,x\n");
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(mbox_mails(&out.stdout).len(), 1);
    out.says("did you mean `emailaddress`");
}

/// A `language` column picks the letter's language per member, like --lang.
#[test]
fn lists_language_column_picks_each_members_letter() {
    // The built-in letters/sokolova.ru.txt; the ministry reads English, so
    // a member without a language gets English.
    let (l, list) = with_list(
        "name,email,language\nJo,jo@u.org,en\nOlga,olga@u.org,ru\nAnn,ann@u.org,\nPyotr,p@u.org,Русский\n",
    );
    let out = write(&l, &list)
        .args(["--to", "foreign-ministry", "--format", "json"])
        .args(["--email", ACCOUNT])
        .succeeds();
    let by_signer: Vec<(String, String)> = out
        .stdout
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
    let l = TestCampaign::sendable();
    let list = fixture("five-countries.csv");
    let bytes = std::fs::read(&list).unwrap();
    for source in ["-", "/dev/stdin"] {
        let out = l
            .campaign_cmd()
            .args(["write", "--signatories", source, "--to", "supreme-court"])
            .args(["--to", "embassy", "--format", "mbox", "--email", ACCOUNT])
            .args(["--organisation", BRANCH])
            .write_stdin(bytes.clone())
            .run();
        assert_eq!(out.code, 0, "{source}: {out:?}");
        assert_eq!(mbox_mails(&out.stdout).len(), 10, "{source}");
    }
    // Bash process substitution: a pipe under /dev/fd.
    let cmd = l.campaign_std_cmd();
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
        .current_dir(l.work())
        .stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => bash.env(k, v),
            None => bash.env_remove(k),
        };
    }
    let out = bash.succeeds();
    let substituted = "<(cat five-countries.csv)";
    let five = members(FIVE_COUNTRIES);
    assert_letters(substituted, &mbox_mails(&out.stdout), &five);
}

/// An unclosed quote is reported at its line and stops, even with
/// --skip-invalid (it would swallow the rest of the file into one row).
#[test]
fn lists_unclosed_quote_stops_at_its_line() {
    let (l, list) = with_list(
        "name,email\r\nJo,jo@u.org\r\n\"Ann, Lee,ann@u.org\r\nBo,bo@u.org\r\nCy,cy@u.org\r\n",
    );
    let out = mbox(&l, &list, &["--skip-invalid"]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("m.csv:3:").says("never closed").no_stdout();
}

/// File names are readable transliterations; `line-N` (the file line) only
/// when nothing is left of the name.
#[test]
fn lists_file_names_are_transliterated() {
    let (l, list) = with_list(
        "name\r\nӘйнұр Құрманова\r\n\r\nMüller\r\n\"— … —\"\r\nИванов Пётр\r\nОльга Объедкова\r\n",
    );
    l.campaign_cmd()
        .arg("write")
        .arg("--signatories")
        .arg(&list)
        .args(["--to", "supreme-court", "--out-dir", "out"])
        .succeeds();
    assert_eq!(
        out_files(&l),
        [
            "sokolova-supreme-court-ainur-qurmanova.txt",
            "sokolova-supreme-court-ivanov-piotr.txt",
            "sokolova-supreme-court-line-5.txt",
            "sokolova-supreme-court-muller.txt",
            // The soft and hard signs vanish; they are not word breaks.
            "sokolova-supreme-court-olga-obedkova.txt",
        ]
    );
    let letter = l
        .work()
        .join("out/sokolova-supreme-court-ainur-qurmanova.txt");
    let letter = std::fs::read_to_string(letter).unwrap();
    assert!(letter.trim_end().ends_with("Әйнұр Құрманова"), "{letter}");
}

/// A template error that shows for one member only (a variable used in an
/// `if` only their row reaches) leaves nothing behind, in a new folder, an
/// existing one, a file or standard output; the error names the CSV line.
#[test]
fn lists_batch_output_is_all_or_nothing() {
    let l = TestCampaign::sendable();
    l.replace(
        "letters/sokolova.txt",
        "{% if many %}We, the undersigned, write",
        "{% if signer.extra.Group == \"7\" %}{{ signer.extra.Missing }}{% endif %}{% if many %}We, the undersigned, write",
    );
    let list = l.work_file(
        "m.csv",
        "name,email,Group\nAnn,ann@u.org,1\nBo,bo@u.org,2\n\nCy,cy@u.org,7\nDi,di@u.org,1\n",
    );
    std::fs::create_dir(l.work().join("existing")).unwrap();
    l.work_file("existing/keep.txt", "mine");
    let targets: &[&[&str]] = &[
        &["--out-dir", "new"],
        &["--out-dir", "existing"],
        &["--out-dir", "eml", "--format", "eml"],
        &["-o", "all.mbox"],
        &["--format", "mbox"],
        &[],
    ];
    for target in targets {
        let out = write(&l, &list)
            .args(["--to", "supreme-court", "--to", "foreign-ministry"])
            .args(["--email", ACCOUNT])
            .args(*target)
            .run();
        assert_eq!(out.code, 2, "{target:?}: {out:?}");
        out.says("m.csv:5 (Cy)").says("signer.extra.Missing");
        assert!(
            out.stdout.is_empty(),
            "{target:?}: something reached standard output"
        );
    }
    let mut left: Vec<String> = walk(&l.work());
    left.sort();
    assert_eq!(
        left,
        ["existing/keep.txt", "m.csv"],
        "nothing else was left"
    );
    assert_eq!(
        std::fs::read_to_string(l.work().join("existing/keep.txt")).unwrap(),
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
    let (l, list) = with_list(
        "name,email,country\n\
         Tom Smith,tom@unite.org.uk,GB\n\
         Jürgen Müller,juergen@igmetall.de,de\n\
         Anna Schmidt,anna@verdi.de,DE\n\
         Pat Nobody,pat@union.org,\n\
         Marie Dupont,marie@cgt.fr,FR\n",
    );
    let flags = ["--group", "--to", "supreme-court", "--to", "embassy"];
    let flags = [&flags[..], &["--country", "GB", "--lang", "en"]].concat();
    let mut server = SmtpServer::start(ServerConfig::default());
    let preview = send(&l, &server, &list, &[&flags[..], &["--dry-run"]].concat());
    assert_eq!(preview.code, 0, "{preview:?}");
    preview.prints("Dry run: 4 would be sent");

    send_json(&l, &server, &list, &flags).counts(&[("sent", 4)]);
    let again = send_json(&l, &server, &list, &flags);
    again.counts(&[("sent", 0), ("already_sent", 4)]);
    server.stop();

    let mut got: Vec<(String, Vec<String>)> = server
        .received()
        .iter()
        .map(|r| {
            let m = r.mail();
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
            (m.to.concat(), names)
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
    let (l, list) = with_list(
        "name,organisation,email\n\
         anna van der Berg,ver.di Bezirk Berlin,anna@verdi.de\n\
         Tom Smith,unite the union,tom@unite.org.uk\n",
    );
    let own = l
        .campaign_cmd()
        .args(["write", "--to", "supreme-court", "--lang", "en"])
        .args(["--date", "2026-11-22", "--signatories"])
        .arg(&list)
        .args(["--email", ACCOUNT])
        .succeeds()
        .stdout;
    assert!(
        own.contains("Yours faithfully,\n\nanna van der Berg\nver.di Bezirk Berlin\n"),
        "{own}"
    );
    assert!(
        own.contains("Yours faithfully,\n\nTom Smith\nunite the union\n"),
        "{own}"
    );
    let petition = l
        .campaign_cmd()
        .args(["write", "--group", "--to", "supreme-court", "--lang", "en"])
        .args(["--date", "2026-11-22"])
        .arg("--signatories")
        .arg(&list)
        .succeeds()
        .stdout;
    assert!(
        petition.contains(
            "The undersigned:\nanna van der Berg (ver.di Bezirk Berlin)\nTom Smith (unite the union)"
        ),
        "{petition}"
    );
}

/// The members of the first sheet of members.xlsx/.xls/.ods (row 5 has
/// no name).
const SHEET_MEMBERS: &str = "Jo Bloggs <jo.bloggs@union.org> GB; \
                             Zoë Ågren <zoe.agren@if-metall.se> SE; \
                             Marie Dupont <marie@cgt.fr> FR";

/// Spreadsheets are read directly, by the CSV column rules: the first
/// sheet, or the one `--sheet` names (on write and send); bad rows are
/// named by the sheet's own row (row 3 is empty, so row 5 is the CSV copy's
/// fourth line); an unknown sheet lists the sheets.
#[test]
fn lists_spreadsheets_are_read_sheet_by_sheet_with_their_row_numbers() {
    let (l, mut server) = serving(ServerConfig::default());
    for book in ["members.xlsx", "members.xls", "members.ods"] {
        let list = fixture(book);
        let out = mbox(&l, &list, &[]);
        assert_eq!(out.code, 2, "{book}: {out:?}");
        out.says(&format!("{book}:5: the first and last name are empty"))
            .no_stdout();

        let out = mbox(&l, &list, &["--skip-invalid"]);
        assert_eq!(out.code, 0, "{book}: {out:?}");
        out.says(&format!("{book}:5:"))
            .says("read its first sheet, `Members`");
        assert_letters(book, &mbox_mails(&out.stdout), &members(SHEET_MEMBERS));

        let out = mbox(&l, &list, &["--sheet", "Комитет"]);
        assert_eq!(out.code, 0, "{book}: {out:?}");
        let committee = "Ольга Ли <olga.li@kasipodak.kz>; Нурлан Кураманов <nurlan@kasipodak.kz>";
        assert_letters(book, &mbox_mails(&out.stdout), &members(committee));

        let out = mbox(&l, &list, &["--sheet", "Minutes"]);
        assert_eq!(out.code, 2, "{book}: {out:?}");
        out.says("has no sheet named `Minutes`; its sheets are: `Members`, `Комитет`")
            .no_stdout();
    }
    // send takes --sheet too.
    send_json(
        &l,
        &server,
        &fixture("members.ods"),
        &["--sheet", "Комитет", "--to", "supreme-court"],
    );
    server.stop();
    let got: BTreeSet<String> = server.received().iter().map(|r| r.mail().member).collect();
    assert_eq!(
        got,
        BTreeSet::from(["olga.li@kasipodak.kz".into(), "nurlan@kasipodak.kz".into()])
    );
    // A CSV has no sheets.
    let out = mbox(&l, &fixture("five-countries.csv"), &["--sheet", "Members"]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("--sheet is for spreadsheets");
}

/// Binary files that are not lists get one plain sentence; no byte of
/// them reaches the terminal.
#[test]
fn lists_binary_files_are_refused_without_their_bytes() {
    let l = TestCampaign::sendable();
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x1b[31m".to_vec();
    zip.extend_from_slice(&[0u8; 64]);
    let files: [(&str, Vec<u8>); 4] = [
        ("archive.zip", zip),
        ("scan.pdf", b"%PDF-1.7\n\x1b]0;owned\x07\n1 0 obj".to_vec()),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec()),
        (
            "members.csv",
            b"name,email\n\x00\x1b[2JJo,\x00jo@u.org\n".to_vec(),
        ),
    ];
    for (name, bytes) in files {
        let list = l.work_file(name, bytes);
        let out = mbox(&l, &list, &[]);
        assert_eq!(out.code, 2, "{name}: {out:?}");
        out.says(&format!(
            "this is not a CSV or spreadsheet file: {}",
            list.display()
        ))
        .no_stdout();
        assert!(
            !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{name}: {:?}",
            out.stderr
        );
    }
    // Control characters in a text list's header are shown escaped.
    let list = l.work_file("odd.csv", "\u{1b}[31mwho\u{7},mail\nJo,jo@u.org\n");
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("no name column among the headers (\\u{1b}[31mwho\\u{7}, mail)");
    // And in a row's cells.
    let list = l.work_file(
        "cells.csv",
        "name,country,language\nJo,\u{1b}[2JGB,en\nAnn,GB,\u{1b}]0;x\u{7}\n",
    );
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("country `\\u{1b}[2JGB`")
        .says("language `\\u{1b}]0;x\\u{7}`");
    assert!(!out.stderr.contains('\u{1b}'), "{out:?}");
}

/// A list that is not there, a folder, or a path through a file: said plainly.
#[test]
fn lists_missing_files_and_folders_are_said_plainly() {
    let l = TestCampaign::sendable();
    let missing = l.work().join("nowhere.csv");
    let out = mbox(&l, &missing, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says(&format!("no such file: {}", missing.display()));
    assert!(!out.stderr.contains("metadata"), "{out:?}");

    let out = mbox(&l, &l.work(), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("is a folder; --signatories takes a CSV file or a spreadsheet");

    let file = l.work_file("m.csv", "name\nJo\n");
    let out = mbox(&l, &file.join("inside.csv"), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("no such file:");
}

/// A closed quoted cell over 1 MiB is said to be too long, naming the
/// limit (it was "a quote … is never closed"); a member's `message` cell
/// over 64 KiB is a bad row named by its line.
#[test]
fn lists_long_cells_name_their_limit() {
    let cell = "x".repeat(2 << 20);
    let (l, list) = with_list(&format!(
        "name,email,address\r\nJo,jo@u.org,\r\nAnn,ann@u.org,\"{cell}\"\r\nBo,bo@u.org,\r\n"
    ));
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    out.says("m.csv:3: a quoted value that starts on this line is longer than 1 MiB")
        .no_stdout();
    assert!(!out.stderr.contains("never closed"), "{}", out.stderr);

    let words = "word ".repeat(14_000);
    let (l, list) = with_list(&format!(
        "name,email,message\r\nJo,jo@u.org,Short words.\r\nAnn,ann@u.org,{words}\r\n"
    ));
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    out.says("m.csv:3: the message is 69 KiB, over the 64 KiB a member's message may hold");
    let out = mbox(&l, &list, &["--skip-invalid"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mbox_mails(&out.stdout).len(), 1);
}

/// Thirty UTF-8 rows and one pasted from a Windows-1251 file at line 32:
/// read as UTF-8, the odd row a bad row named by its line with the advice
/// to save as UTF-8; no name comes out Chinese (it was `袗薪薪邪`). A list
/// saved in CP866 (DOS Cyrillic) reads as Russian.
#[test]
fn lists_a_utf8_list_with_one_windows_1251_row_names_that_row() {
    let rows: String = (1..=30)
        .map(|i| format!("Анна Иванова {i},anna{i}@u.org\r\n"))
        .collect();
    let mut bytes = format!("name,email\r\n{rows}").into_bytes();
    bytes.extend_from_slice(&[0xCF, 0xB8, 0xF2, 0xF0]); // Пётр in Windows-1251
    bytes.extend_from_slice(b" Petrov,petr@u.org\r\n");
    let l = TestCampaign::sendable();
    let list = l.work_file("m.csv", bytes);
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    out.says("m.csv:32: this row is not UTF-8 text")
        .says("save the list as UTF-8")
        .no_stdout();
    let out = mbox(&l, &list, &["--skip-invalid"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mails = mbox_mails(&out.stdout);
    assert_eq!(mails.len(), 30);
    assert!(
        mails
            .iter()
            .all(|m| m.member_name().starts_with("Анна Иванова"))
    );

    let text = "ФИО,Email\r\nПётр Сидоров,p@u.org\r\nОльга Ли,o@u.org\r\n";
    let cp866: Vec<u8> = text
        .chars()
        .map(|c| match c {
            'А'..='П' => (c as u32 - 'А' as u32 + 0x80) as u8,
            'Р'..='Я' => (c as u32 - 'Р' as u32 + 0x90) as u8,
            'а'..='п' => (c as u32 - 'а' as u32 + 0xA0) as u8,
            'р'..='я' => (c as u32 - 'р' as u32 + 0xE0) as u8,
            'ё' => 0xF1,
            c => c as u8,
        })
        .collect();
    let list = l.work_file("dos.csv", cp866);
    let out = mbox(&l, &list, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_letters(
        "dos.csv",
        &mbox_mails(&out.stdout),
        &members("Пётр Сидоров <p@u.org>; Ольга Ли <o@u.org>"),
    );
}
