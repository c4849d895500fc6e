//! Call sheets on paper: an office that only takes phone calls gets a call
//! sheet where a letter would be printed (`write --format pdf`, `send
//! --print-dir`), read back with lopdf; and `time_zone` in recipients.toml.

use crate::support::{DATE, NAME, ORGANISATION, Runs, TestCampaign, file_names};

/// The PDF `write --format pdf` makes for the Presidential Administration
/// (phone only), for a caller in London, with `extra`; and its stderr.
fn call_sheet(tc: &TestCampaign, extra: &[&str]) -> (String, String) {
    let out = tc.path("call.pdf");
    let run = tc
        .cmd()
        .env("TZ", "Europe/London")
        .args(["write", "--to", "presidential-administration"])
        .args(["--name", NAME, "--organisation", ORGANISATION])
        .args(["--date", DATE, "--force", "-o", out.to_str().unwrap()])
        .args(extra)
        .succeeds();
    let doc = lopdf::Document::load(&out).expect("the PDF parses");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("the text extracts");
    (text, run.stderr)
}

/// `text` with its white space made single spaces: lines break anywhere.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_phone_only_office_gets_a_call_sheet_with_the_time_there_and_both_languages() {
    let tc = TestCampaign::new();
    let (text, stderr) = call_sheet(&tc, &[]);
    assert!(
        stderr.contains("`presidential-administration` (The Head of the Presidential Administration) takes phone calls only: its PDF is a call sheet"),
        "{stderr}"
    );
    let text = flat(&text);
    for want in [
        "Call sheet",
        "The Head of the Presidential Administration",
        "+7 7172 74 55 24",
        "Jo Bloggs, Unite Branch 42",
        // 22 November 2026: Astana is five hours ahead of London.
        "There: Asia/Almaty, UTC+05:00",
        "Your time: Europe/London, UTC+00:00",
        "09:00 04:00",
        "18:00 13:00",
        "the times as on 22 November 2026",
        "English",
        "Русский",
        "Spoke to someone; their name:",
        "Left a message",
        "No answer",
        "Date and time of the call:",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // Every word of the talking points, in each language, from the files.
    for (file, first) in [
        ("letters/sokolova.txt", "I am calling"),
        ("letters/sokolova.ru.txt", "Я звоню"),
    ] {
        let source = tc.read(file);
        let points: Vec<&str> = source
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('"') && l.ends_with("\","))
            .map(|l| &l[1..l.len() - 2])
            .collect();
        assert_eq!(points.len(), 3, "{file}");
        assert!(points[0].starts_with(first));
        for (n, point) in points.iter().enumerate() {
            // Two columns interleave their lines: compare word by word.
            crate::support::words_in_order(&format!("{}. {point}", n + 1), &text);
        }
    }
}

#[test]
fn in_the_offices_own_language_the_sheet_has_one_column_and_russian_labels() {
    let tc = TestCampaign::new();
    let (text, _) = call_sheet(&tc, &["--lang", "ru"]);
    let text = flat(&text);
    for want in [
        "Лист звонка",
        "Администрация Президента Республики Казахстан",
        "Там: Asia/Almaty, UTC+05:00",
        "У вас: Europe/London, UTC+00:00",
        "1. Я звоню по поводу Натальи Соколовой",
        "Никто не ответил",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(
        !text.contains("English") && !text.contains("I am calling"),
        "{text}"
    );
}

#[test]
fn a_caller_in_new_york_sees_the_day_before() {
    let tc = TestCampaign::new();
    let out = tc.path("ny.pdf");
    tc.cmd()
        .env("TZ", "America/New_York")
        .args([
            "write",
            "--to",
            "presidential-administration",
            "--name",
            NAME,
        ])
        .args(["--date", DATE, "-o", out.to_str().unwrap()])
        .succeeds();
    let doc = lopdf::Document::load(&out).unwrap();
    let text = flat(&doc.extract_text(&[1]).unwrap());
    assert!(text.contains("America/New_York, UTC−05:00"), "{text}");
    assert!(text.contains("09:00 23:00 (the day before)"), "{text}");
    assert!(text.contains("10:00 00:00"), "{text}");
}

#[test]
fn out_dir_names_the_call_sheet_beside_the_letters() {
    let tc = TestCampaign::new();
    let dir = tc.path("print");
    tc.cmd()
        .args([
            "write",
            "--to",
            "presidential-administration",
            "--to",
            "supreme-court",
        ])
        .args(["--name", NAME, "--date", DATE, "--format", "pdf"])
        .args(["--out-dir", dir.to_str().unwrap()])
        .succeeds();
    let mut names = file_names(&dir);
    names.sort();
    assert_eq!(
        names,
        [
            "sokolova-presidential-administration-call-sheet.pdf",
            "sokolova-supreme-court.pdf"
        ]
    );
    let letter = lopdf::Document::load(dir.join(&names[1])).unwrap();
    let text = letter.extract_text(&[1]).unwrap();
    assert!(
        !text.contains("Call sheet"),
        "a letter to the court: {text}"
    );
}

#[test]
fn send_prints_a_call_sheet_for_each_call_into_print_dir() {
    let (f, server) = crate::support::serving(crate::smtp_server::ServerConfig::default());
    std::fs::create_dir(f.work().join("print")).unwrap();
    let run = f
        .send()
        .signer()
        .smtp(&server)
        .with([
            "--to",
            "supreme-court",
            "--to",
            "presidential-administration",
        ])
        .with(["--print-dir", "print", "--yes"])
        .succeeds();
    assert_eq!(server.received().len(), 1, "the court's email");
    // On the terminal, the call sheet stays as it was.
    run.prints("Call sheet (no email for these; please phone):");
    run.prints("Phone: +7 7172 74 55 24");
    run.prints("Call sheet for printing written to ");
    run.prints("/print/sokolova-presidential-administration-call-sheet.pdf\n");
    let printed = file_names(&f.work().join("print"));
    assert_eq!(
        printed,
        ["sokolova-presidential-administration-call-sheet.pdf"]
    );
    let doc = lopdf::Document::load(f.work().join("print").join(&printed[0])).unwrap();
    let text = flat(&doc.extract_text(&[1]).unwrap());
    assert!(
        text.contains("+7 7172 74 55 24") && text.contains("No answer"),
        "{text}"
    );
    // A dry run prints nothing.
    std::fs::remove_file(f.work().join("print").join(&printed[0])).unwrap();
    f.send()
        .signer()
        .smtp(&server)
        .with([
            "--to",
            "presidential-administration",
            "--print-dir",
            "print",
        ])
        .with(["--dry-run"])
        .succeeds();
    assert!(file_names(&f.work().join("print")).is_empty());
}

const ZONES: &str = "[campaign]\nname = \"Zones\"\n\n\
    [[recipient]]\nid = \"ministry\"\nname = \"The Ministry\"\nphone = \"+44 20 7946 0000\"\n\
    time_zone = \"Europe/Atlantis\"\n\n\
    [[recipient]]\nid = \"office\"\nname = \"The Office\"\nphone = \"+44 20 7946 0001\"\n";

const LETTER: &str = "+++\nsubject = \"S\"\nrecipients = [\"ministry\", \"office\"]\n+++\n\
    Dear Sir or Madam,\n\nText.\n{%- if message %}\n\n{{ message }}\n{%- endif %}\n\nJo\n";

#[test]
fn check_finds_an_unknown_time_zone_and_a_phone_without_one() {
    let tc = TestCampaign::custom(ZONES, &[("one.txt", LETTER)]);
    let run = tc.campaign_cmd().arg("check").exits(2);
    run.says("unknown time zone `Europe/Atlantis` (recipient `ministry`)");
    run.says(&format!(
        "recipients.toml:{}:13",
        tc.line_of("recipients.toml", "Europe/Atlantis")
    ));
    run.says("e.g. time_zone = \"Asia/Almaty\"");
    run.says("`office` has a phone number but no time_zone");
    // A name that cannot be a zone stops every command, with its place.
    tc.replace("recipients.toml", "Europe/Atlantis", "five hours ahead");
    let run = tc
        .campaign_cmd()
        .args(["write", "--to", "ministry", "--name", NAME])
        .exits(2);
    run.says("`five hours ahead` is not a time zone name");
}
