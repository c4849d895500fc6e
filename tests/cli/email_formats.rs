//! `write --format eml|mbox|json`: every generated message is parsed back
//! with a real mail parser (`mail-parser`), never checked by string search
//! alone: display names, To/Cc/Bcc, Date, Message-ID and decoded bodies;
//! mboxrd quoting; header injection; reproducible output; a broken pipe.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use mail_parser::mailbox::mbox::MessageIterator;
use mail_parser::{Address, Message, MessageParser};
use serde_json::Value;

use crate::support::{DATE, Run, Runs, TestCampaign, text};

const KAZAKH_NAME: &str = "Әйнұр Құрманов";
const GERMAN_NAME: &str = "Jürgen Müller-Öß";
const AINUR: &str = "ainur@example.org";
const COURT: &str = "supreme-court@placeholder.invalid";
const COURT_CC: [&str; 2] = [
    "supreme-court-copy-1@placeholder.invalid",
    "supreme-court-copy-2@placeholder.invalid",
];
const COPIES_TO: [&str; 2] = [
    "campaign-kazakhstan@placeholder.invalid",
    "campaign-kazakhstan-copies@placeholder.invalid",
];
const MINISTRY: &str = "foreign-ministry@placeholder.invalid";
const EMBASSY_GB: &str = "embassy-gb@placeholder.invalid";
const PRESIDENTIAL_PHONE: &str = "+7 7172 74 55 24";
const KNOWN_COUNTRIES: &str = "BE, DE, FR, GB, RU, SE, US";
const EPOCH: &str = "1700000000";
/// One letter, to the court, as an email.
const COURT_EML: [&str; 4] = ["--to", "supreme-court", "--format", "eml"];

// ---- helpers ----------------------------------------------------------------

/// `--name NAME --email AINUR`.
fn signer(name: &str) -> [&str; 4] {
    ["--name", name, "--email", AINUR]
}

/// The arguments of `parts`, one after another.
fn cat<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

/// `write --date DATE ARGS…` with `env` set.
fn run_write(mut cmd: assert_cmd::Command, args: &[&str], env: &[(&str, &str)]) -> Run {
    cmd.args(["write", "--date", DATE])
        .args(args)
        .envs(env.iter().copied())
        .run()
}

/// `protest-letter write --date DATE ARGS…` on the built-in campaign.
fn write(tc: &TestCampaign, args: &[&str]) -> Run {
    run_write(tc.cmd(), args, &[])
}

/// [`write`] with extra environment variables.
fn write_env(tc: &TestCampaign, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_write(tc.cmd(), args, env)
}

/// [`write`] on the test's own campaign folder.
fn write_campaign(tc: &TestCampaign, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_write(tc.campaign_cmd(), args, env)
}

/// `write --name NAME --email AINUR --to supreme-court --format eml`.
fn court_eml(tc: &TestCampaign, name: &str) -> Run {
    write(tc, &cat(&[&signer(name), &COURT_EML]))
}

#[track_caller]
fn assert_success(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
}

/// Exit code 2 (bad input), nothing on standard output, and stderr says
/// what went wrong.
#[track_caller]
fn assert_refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "{run:?}");
    run.no_stdout();
    for needle in needles {
        run.says(needle);
    }
}

/// Parses one RFC 5322 message; email output uses LF line endings only.
#[track_caller]
fn parse(bytes: &[u8]) -> Message<'_> {
    assert!(
        !bytes.contains(&b'\r'),
        "email output must use LF line endings, found a CR"
    );
    MessageParser::default()
        .parse(bytes)
        .unwrap_or_else(|| panic!("mail-parser cannot parse:\n{}", text(bytes)))
}

/// The addresses of a header (lower case), in order.
fn addrs(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .map(|addr| addr.address().unwrap_or_default().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// The display name and address of the only From mailbox.
#[track_caller]
fn from(message: &Message<'_>) -> (String, String) {
    let list = message.from().expect("a From header");
    assert_eq!(list.iter().count(), 1, "one From mailbox");
    let first = list.first().unwrap();
    (
        first.name().unwrap_or_default().to_string(),
        first.address().unwrap_or_default().to_string(),
    )
}

/// Checks that the only From mailbox is `name` at AINUR.
#[track_caller]
fn assert_from(message: &Message<'_>, name: &str) {
    assert_eq!(from(message), (name.to_string(), AINUR.to_string()));
}

fn body(message: &Message<'_>) -> String {
    message
        .body_text(0)
        .expect("a text/plain body")
        .into_owned()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Splits an mbox stream with mail-parser's reader (which undoes mboxrd
/// quoting) into the raw messages, without the blank separator line.
#[track_caller]
fn mbox_messages(stream: &str) -> Vec<Vec<u8>> {
    assert!(stream.starts_with("From "), "an mbox starts with `From `");
    MessageIterator::new(stream.as_bytes())
        .map(|m| {
            let contents = m.expect("read the mbox").contents().to_vec();
            assert!(
                contents.ends_with(b"\n\n"),
                "each mbox message ends with a blank separator line:\n{}",
                text(&contents)
            );
            contents[..contents.len() - 1].to_vec()
        })
        .collect()
}

/// Lines of `stream` that start with `From ` (mbox separators).
fn from_lines(stream: &str) -> usize {
    stream.lines().filter(|l| l.starts_with("From ")).count()
}

fn json_lines(out: &str) -> Vec<Value> {
    assert!(out.ends_with('\n'), "JSON Lines end with a newline");
    out.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

fn str_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

// ---- eml: names, copies, headers ---------------------------------------------

/// `write --name NAME --email … --to supreme-court --format eml`, parsed and
/// checked: the name survives header encoding exactly, every copy is there
/// once, and nothing is blind-copied.
fn check_supreme_court_eml(name: &str) {
    let tc = TestCampaign::new();
    let output = court_eml(&tc, name);
    assert_success(&output);
    let message = parse(output.stdout.as_bytes());

    assert_from(&message, name);
    assert_eq!(addrs(message.to()), [COURT]);
    let cc = addrs(message.cc());
    let expected = strings(&[&COURT_CC[..], &COPIES_TO].concat());
    assert_eq!(
        sorted(cc.clone()),
        sorted(expected),
        "Cc, each once: {cc:?}"
    );
    assert!(message.bcc().is_none(), "no Bcc without --bcc-me");
    assert!(
        message.subject().is_some_and(|s| !s.trim().is_empty()),
        "a Subject"
    );
    assert!(message.date().is_some(), "a Date");
    assert!(
        message.message_id().is_some_and(|id| id.contains('@')),
        "a Message-ID"
    );
    let body = body(&message);
    // The court's language is Russian: a UTF-8 body that must survive too.
    assert!(
        body.contains("Уважаемый Председатель Верховного Суда!"),
        "{body}"
    );
    assert!(body.contains(name), "the signature names {name}:\n{body}");
}

#[test]
fn eml_kazakh_name_round_trips() {
    check_supreme_court_eml(KAZAKH_NAME);
}

#[test]
fn eml_german_name_round_trips() {
    check_supreme_court_eml(GERMAN_NAME);
}

#[test]
fn eml_names_with_mail_specials_round_trip() {
    for name in [
        r#"Jo "JJ" Bloggs, Jr."#,
        "Ann <evil@example.net>",
        "=?utf-8?b?QUJD?=",
        "Jo (the organiser); Bloggs",
        // Long enough to be folded into several encoded words.
        format!("{KAZAKH_NAME} ").repeat(8).trim_end(),
        &format!("xx{}", "Ә".repeat(40)),
        &format!("{} Müller {}", "x".repeat(60), "y".repeat(60)),
    ] {
        let tc = TestCampaign::new();
        let output = court_eml(&tc, name);
        assert_success(&output);
        let message = parse(output.stdout.as_bytes());
        assert_from(&message, name);
        assert_eq!(addrs(message.to()), [COURT], "name {name:?}");
        assert_eq!(addrs(message.cc()).len(), 4, "name {name:?}");
        assert!(message.bcc().is_none(), "name {name:?}");
    }
}

// ---- header injection ---------------------------------------------------------

#[test]
fn header_injection_is_refused_everywhere() {
    let injected = "Jo\r\nBcc: victim@example.org";
    let lf_only = "Jo\nBcc: victim@example.org";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("name with CRLF", signer(injected).to_vec()),
        ("name with LF", signer(lf_only).to_vec()),
        (
            "organisation",
            cat(&[&signer("Jo"), &["--organisation", injected]]),
        ),
        (
            "email",
            vec![
                "--name",
                "Jo",
                "--email",
                "jo@example.org\r\nBcc: victim@example.org",
            ],
        ),
    ];
    for format in ["eml", "mbox", "json"] {
        for (what, args) in &cases {
            let tc = TestCampaign::new();
            let output = write(
                &tc,
                &cat(&[args, &["--to", "supreme-court", "--format", format]]),
            );
            assert_refused(&output, &["error:"]);
            let stderr = &output.stderr;
            assert!(
                stderr.contains("carriage return")
                    || stderr.contains("line break")
                    || stderr.contains("control character"),
                "{what} ({format}): stderr should explain the line break\n{output:?}"
            );
            assert!(!output.stdout.contains("Bcc"), "{what} ({format})");
        }
    }

    // The same values from the environment are refused the same way.
    let tc = TestCampaign::new();
    let env = [
        ("PROTEST_LETTER_NAME", injected),
        ("PROTEST_LETTER_EMAIL", AINUR),
    ];
    assert_refused(&write_env(&tc, &COURT_EML, &env), &["name"]);

    // And from a campaign's recipient name (a TOML escape can hold CRLF).
    let tc = TestCampaign::new();
    tc.replace(
        "recipients.toml",
        "name = \"The Chair of the Supreme Court\"",
        "name = \"The Chair\\r\\nBcc: victim@example.org\"",
    );
    let output = write_campaign(&tc, &cat(&[&signer("Jo"), &COURT_EML]), &[]);
    assert_ne!(output.code, 0, "{output:?}");
    output.no_stdout();
    assert!(!output.stderr.contains("panicked"));
}

// ---- mbox -----------------------------------------------------------------------

#[test]
fn mbox_default_recipients_gives_three_parsable_messages() {
    let tc = TestCampaign::new();
    let args = cat(&[
        &signer(KAZAKH_NAME),
        &["--country", "GB", "--format", "mbox"],
    ]);
    let output = write(&tc, &args);
    assert_success(&output);
    assert_eq!(from_lines(&output.stdout), 3, "three From_ separator lines");
    let raw = mbox_messages(&output.stdout);
    assert_eq!(raw.len(), 3, "supreme-court, foreign-ministry, embassy GB");

    let mut to = Vec::new();
    for bytes in &raw {
        let message = parse(bytes);
        assert_from(&message, KAZAKH_NAME);
        assert!(message.subject().is_some());
        assert!(message.date().is_some());
        assert!(message.message_id().is_some());
        assert!(message.bcc().is_none());
        let cc = addrs(message.cc());
        for copy in COPIES_TO {
            assert_eq!(
                cc.iter().filter(|c| *c == copy).count(),
                1,
                "{copy} once in {cc:?}"
            );
        }
        assert!(body(&message).contains(KAZAKH_NAME));
        to.extend(addrs(message.to()));
    }
    assert_eq!(to, [COURT, MINISTRY, EMBASSY_GB]);

    let note = output
        .stderr
        .lines()
        .find(|l| l.starts_with("note:") && l.contains("presidential-administration"))
        .unwrap_or_else(|| panic!("a note about presidential-administration: {output:?}"));
    assert!(note.contains(PRESIDENTIAL_PHONE), "{note}");
}

const QUOTING_RECIPIENTS: &str = r#"
[campaign]
name = "mboxrd"
copies_to = ["copies@campaign.example.org"]
default_letter = "quoting"

[[recipient]]
id = "alpha"
name = "Alpha Office"
email = "alpha@alpha.example.org"

[[recipient]]
id = "beta"
name = "Beta Office"
email = "beta@beta.example.org"
"#;

const QUOTING_LETTER: &str = "+++
subject = \"From lines\"
recipients = [\"alpha\", \"beta\"]
+++
Dear {{ recipient.name }},

From the start of a line, this would split a naive mbox.
>From a line quoted once already.
>>From a line quoted twice.
From
Fromage is no separator.
 From with a leading space.
From: not a header either.

From {{ signer.name }}
";

#[test]
fn mbox_quotes_from_lines_and_the_reader_restores_them() {
    let tc = TestCampaign::custom(QUOTING_RECIPIENTS, &[("quoting.txt", QUOTING_LETTER)]);
    let signer = ["--name", "Jo Bloggs", "--email", "jo@union.example.org"];
    let output = write_campaign(&tc, &cat(&[&signer, &["--format", "mbox"]]), &[]);
    assert_success(&output);

    let stream = &output.stdout;
    assert_eq!(from_lines(stream), 2, "only the separators:\n{stream}");
    // A body line starting with `From ` is encoded (quoted-printable
    // `=46rom`), so no reader ever shows it as `>From`; lines that already
    // start with `>From` are still quoted the mboxrd way.
    for expected in [
        "Content-Transfer-Encoding: quoted-printable\n",
        "\n=46rom the start",
        "\n>>From a line quoted once",
        "\n>>>From a line quoted twice",
        "\n=46rom Jo Bloggs\n",
        "\nFrom\n",
        "\nFromage",
        "\n From with",
    ] {
        assert!(
            stream.contains(expected),
            "mbox output should contain {expected:?}:\n{stream}"
        );
    }
    assert!(!stream.contains("\n>From the start"), "{stream}");

    let raw = mbox_messages(stream);
    assert_eq!(raw.len(), 2);
    for (bytes, id) in raw.iter().zip(["alpha", "beta"]) {
        let message = parse(bytes);
        // The letter as plain text is the reference body.
        let plain = write_campaign(&tc, &cat(&[&signer, &["--to", id]]), &[]);
        assert_success(&plain);
        assert_eq!(body(&message), plain.stdout, "body to {id}");
    }
}

// ---- json -----------------------------------------------------------------------

const DEDUP_RECIPIENTS: &str = r#"
[campaign]
name = "dedup"
copies_to = ["shared@campaign.example.org", "office@campaign.example.org", "court@court.example.org"]
default_letter = "dedup"

[[recipient]]
id = "court"
name = "The Court"
email = "court@court.example.org"
cc = ["clerk@court.example.org", "shared@campaign.example.org", "clerk@court.example.org"]

[[recipient]]
id = "ministry"
name = "The Ministry"
email = "ministry@gov.example.org"
cc = ["office@campaign.example.org"]
"#;

const DEDUP_LETTER: &str = "+++
subject = \"Dedup\"
recipients = [\"court\", \"ministry\"]
+++
Dear {{ recipient.name }},

Text.

{{ signer.name }}
";

#[test]
fn json_lines_parse_and_envelope_copies_are_deduplicated() {
    let tc = TestCampaign::custom(DEDUP_RECIPIENTS, &[("dedup.txt", DEDUP_LETTER)]);
    let epoch = [("SOURCE_DATE_EPOCH", EPOCH)];
    let output = write_campaign(
        &tc,
        &cat(&[&signer(KAZAKH_NAME), &["--format", "json"]]),
        &epoch,
    );
    assert_success(&output);
    let records = json_lines(&output.stdout);
    assert_eq!(records.len(), 2);

    let expected_cc: [(&str, [&str; 3]); 2] = [
        (
            "court",
            [
                "clerk@court.example.org",
                "shared@campaign.example.org",
                "office@campaign.example.org",
            ],
        ),
        (
            "ministry",
            [
                "office@campaign.example.org",
                "shared@campaign.example.org",
                "court@court.example.org",
            ],
        ),
    ];
    let keys = "letter recipient country signer envelope message_id subject body";
    for (record, (id, cc)) in records.iter().zip(expected_cc) {
        let object = record.as_object().unwrap();
        for key in keys.split(' ') {
            assert!(object.contains_key(key), "{key} missing in {record}");
        }
        assert_eq!(record["letter"], "dedup");
        assert_eq!(record["recipient"], id);
        assert_eq!(record["country"], Value::Null);
        assert_eq!(record["signer"], KAZAKH_NAME);
        assert_eq!(record["subject"], "Dedup");
        let envelope = &record["envelope"];
        assert_eq!(envelope["from"], AINUR);
        let to = str_list(&envelope["to"]);
        assert_eq!(to.len(), 1);
        let got = str_list(&envelope["cc"]);
        assert_eq!(got, strings(&cc), "envelope cc of {id}");
        assert!(!got.contains(&to[0]), "To is not repeated in Cc");
        assert!(str_list(&envelope["bcc"]).is_empty());
        assert!(record["body"].as_str().unwrap().contains(KAZAKH_NAME));

        // The same letter as eml: its Cc and Message-ID agree with the JSON.
        let eml_args = cat(&[&signer(KAZAKH_NAME), &["--to", id, "--format", "eml"]]);
        let eml = write_campaign(&tc, &eml_args, &epoch);
        assert_success(&eml);
        let message = parse(eml.stdout.as_bytes());
        assert_eq!(addrs(message.cc()), got, "eml Cc of {id}");
        let id_json = record["message_id"].as_str().unwrap();
        assert_eq!(
            format!("<{}>", message.message_id().unwrap()),
            id_json,
            "Message-ID of {id}"
        );
    }
}

#[test]
fn json_default_recipients_one_object_per_letter() {
    let tc = TestCampaign::new();
    let flags = ["--country", "GB", "--format", "json", "--bcc-me"];
    let output = write(&tc, &cat(&[&signer(GERMAN_NAME), &flags]));
    assert_success(&output);
    let records = json_lines(&output.stdout);
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["supreme-court", "foreign-ministry", "embassy"]);
    assert_eq!(records[2]["country"], "GB");
    for record in &records {
        assert_eq!(str_list(&record["envelope"]["bcc"]), [AINUR]);
    }
    assert!(output.stderr.contains("presidential-administration"));
}

// ---- eml targets ------------------------------------------------------------------

#[test]
fn eml_with_several_recipients_needs_out_dir() {
    let tc = TestCampaign::new();
    let signer = cat(&[&signer(KAZAKH_NAME), &["--country", "GB"]]);
    let output = write(&tc, &cat(&[&signer, &["--format", "eml"]]));
    assert_refused(&output, &["mbox", "--out-dir"]);

    let file = tc.work().join("letters.eml");
    let output = write(&tc, &cat(&[&signer, &["-o", file.to_str().unwrap()]]));
    assert_refused(&output, &["mbox"]);
    assert!(!file.exists(), "nothing written after a refusal");

    let dir = tc.work().join("out");
    let out_dir = ["--format", "eml", "--out-dir", dir.to_str().unwrap()];
    let output = write(&tc, &cat(&[&signer, &out_dir]));
    assert_success(&output);
    output.no_stdout();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "one .eml per letter: {files:?}");
    let mut to = Vec::new();
    for path in &files {
        assert_eq!(path.extension().unwrap(), "eml", "{}", path.display());
        let bytes = std::fs::read(path).unwrap();
        let message = parse(&bytes);
        assert_from(&message, KAZAKH_NAME);
        to.extend(addrs(message.to()));
        output.says(&path.file_name().unwrap().to_string_lossy());
    }
    assert_eq!(sorted(to), sorted(strings(&[COURT, MINISTRY, EMBASSY_GB])));
}

#[test]
fn output_file_extension_picks_eml() {
    let tc = TestCampaign::new();
    let file = tc.work().join("out.eml");
    let to_file = ["--to", "supreme-court", "-o", "out.eml"];
    let output = write(&tc, &cat(&[&signer(KAZAKH_NAME), &to_file]));
    assert_success(&output);
    output.no_stdout();
    let bytes = std::fs::read(&file).expect("out.eml written in the working folder");
    let message = parse(&bytes);
    assert_from(&message, KAZAKH_NAME);
    assert_eq!(addrs(message.to()), [COURT]);
    assert!(body(&message).contains("Уважаемый Председатель Верховного Суда!"));
}

// ---- --bcc-me ------------------------------------------------------------------------

#[test]
fn bcc_me_keeps_a_bcc_header_for_sendmail_t() {
    let tc = TestCampaign::new();
    let signer = cat(&[&signer(GERMAN_NAME), &["--bcc-me"]]);

    let output = write(&tc, &cat(&[&signer, &COURT_EML]));
    assert_success(&output);
    let message = parse(output.stdout.as_bytes());
    assert_eq!(addrs(message.bcc()), [AINUR]);
    assert_eq!(addrs(message.to()), [COURT]);
    assert_eq!(addrs(message.cc()).len(), 4);

    let output = write(
        &tc,
        &cat(&[&signer, &["--country", "GB", "--format", "mbox"]]),
    );
    assert_success(&output);
    let raw = mbox_messages(&output.stdout);
    assert_eq!(raw.len(), 3);
    for bytes in &raw {
        assert_eq!(addrs(parse(bytes).bcc()), [AINUR]);
    }
}

// ---- reproducible output ---------------------------------------------------------------

#[test]
fn source_date_epoch_makes_output_byte_identical() {
    let tc = TestCampaign::new();
    let signer = cat(&[&signer(KAZAKH_NAME), &["--country", "GB"]]);
    let epoch = [("SOURCE_DATE_EPOCH", EPOCH)];
    for format in ["eml", "mbox", "json"] {
        let mut args = cat(&[&signer, &["--format", format]]);
        if format == "eml" {
            args.extend(["--to", "supreme-court"]);
        }
        let first = write_env(&tc, &args, &epoch);
        let second = write_env(&tc, &args, &epoch);
        assert_success(&first);
        assert_success(&second);
        assert!(!first.stdout.is_empty());
        assert!(
            first.stdout == second.stdout,
            "{format} differs between runs:\n{}\n---\n{}",
            first.stdout,
            second.stdout
        );
    }

    let output = write_env(&tc, &cat(&[&signer, &COURT_EML]), &epoch);
    let message = parse(output.stdout.as_bytes());
    assert_eq!(message.date().unwrap().to_timestamp(), 1_700_000_000);
    // The Message-ID comes from the journal key, not the clock.
    assert!(message.message_id().unwrap().ends_with("@example.org"));

    // The mbox separator lines carry the same time and the envelope sender.
    let output = write_env(&tc, &cat(&[&signer, &["--format", "mbox"]]), &epoch);
    assert_success(&output);
    let separators: Vec<(u64, String)> = MessageIterator::new(output.stdout.as_bytes())
        .map(|m| {
            let m = m.unwrap();
            (m.internal_date(), m.from().to_string())
        })
        .collect();
    assert_eq!(separators, vec![(1_700_000_000, AINUR.to_string()); 3]);
}

/// Bug: a SOURCE_DATE_EPOCH after the year 9999 (or beyond SystemTime)
/// panics (exit 101) in lettre's Date formatting or in `UNIX_EPOCH + secs`
/// instead of being refused as bad input (src/message.rs,
/// `Clock::from_source_date_epoch`).
#[test]
fn source_date_epoch_out_of_range_is_refused_not_a_panic() {
    let tc = TestCampaign::new();
    for value in ["253402300800", "18446744073709551615"] {
        let env = [("SOURCE_DATE_EPOCH", value)];
        let output = write_env(&tc, &cat(&[&signer("Jo"), &COURT_EML]), &env);
        assert!(!output.stderr.contains("panicked"), "{value}");
        assert_refused(&output, &["SOURCE_DATE_EPOCH"]);
    }
}

#[test]
fn source_date_epoch_must_be_a_number() {
    let tc = TestCampaign::new();
    let env = [("SOURCE_DATE_EPOCH", "yesterday")];
    let output = write_env(&tc, &cat(&[&signer("Jo"), &COURT_EML]), &env);
    assert_refused(&output, &["SOURCE_DATE_EPOCH", "yesterday"]);
}

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sokolova--supreme-court.eml")
}

#[test]
fn eml_matches_golden_file() {
    let tc = TestCampaign::new();
    let args = cat(&[&["sokolova"], &signer(KAZAKH_NAME), &COURT_EML]);
    let output = write_env(&tc, &args, &[("SOURCE_DATE_EPOCH", EPOCH)]);
    assert_success(&output);
    parse(output.stdout.as_bytes());
    let path = golden_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &output.stdout).unwrap();
        return;
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_GOLDEN=1 cargo test --test cli eml_matches_golden",
            path.display()
        )
    });
    assert!(
        golden == output.stdout.as_bytes(),
        "{} differs from the output.\n--- golden\n{}\n--- actual\n{}\n\
         If the change is intended, run UPDATE_GOLDEN=1 cargo test --test cli eml_matches_golden \
         and review the diff.",
        path.display(),
        text(&golden),
        output.stdout
    );
}

// ---- the signer's address ---------------------------------------------------------------

#[test]
fn email_formats_need_the_signers_address() {
    for format in ["eml", "mbox", "json"] {
        let tc = TestCampaign::new();
        let output = write(
            &tc,
            &["--name", "Jo", "--to", "supreme-court", "--format", format],
        );
        assert_refused(&output, &["--email", "PROTEST_LETTER_EMAIL"]);
    }
    // Plain text needs none.
    let tc = TestCampaign::new();
    let output = write(&tc, &["--name", "Jo", "--to", "supreme-court"]);
    assert_success(&output);
}

#[test]
fn invalid_signer_addresses_are_refused_with_the_reason() {
    let tc = TestCampaign::new();
    let cases = [
        ("not-an-address", "no @"),
        ("jürgen@example.org", "non-ASCII"),
        ("two words@example.org", "invalid"),
    ];
    for (address, reason) in cases {
        let args = cat(&[&["--name", "Jo", "--email", address], &COURT_EML]);
        assert_refused(&write(&tc, &args), &[address, reason]);
    }
}

#[test]
fn idn_domain_is_written_as_punycode() {
    let tc = TestCampaign::new();
    let signer = ["--name", GERMAN_NAME, "--email", "info@müller.de"];
    let output = write(&tc, &cat(&[&signer, &COURT_EML]));
    assert_success(&output);
    let message = parse(output.stdout.as_bytes());
    assert_eq!(
        from(&message),
        (GERMAN_NAME.to_string(), "info@xn--mller-kva.de".to_string())
    );
    assert!(
        message.message_id().unwrap().ends_with("@xn--mller-kva.de"),
        "{:?}",
        message.message_id()
    );
    assert!(!output.stdout.contains("müller"));
}

// ---- countries ------------------------------------------------------------------------

#[test]
fn unknown_country_lists_the_known_ones() {
    let tc = TestCampaign::new();
    let args = cat(&[&signer("Jo"), &["--country", "ZZ", "--format", "mbox"]]);
    assert_refused(
        &write(&tc, &args),
        &["ZZ", KNOWN_COUNTRIES, "--embassy-email"],
    );
}

#[test]
fn embassy_email_addresses_an_unlisted_country() {
    let tc = TestCampaign::new();
    let zz = ["--country", "ZZ", "--embassy-email"];
    let args = cat(&[
        &signer(KAZAKH_NAME),
        &zz,
        &["embassy@kz-embassy.org", "--format", "mbox"],
    ]);
    let output = write(&tc, &args);
    assert_success(&output);
    let raw = mbox_messages(&output.stdout);
    let to: Vec<Vec<String>> = raw.iter().map(|b| addrs(parse(b).to())).collect();
    assert_eq!(
        to,
        [
            vec![COURT.to_string()],
            vec![MINISTRY.to_string()],
            vec!["embassy@kz-embassy.org".to_string()],
        ]
    );

    let bad = ["not-an-address", "--to", "embassy", "--format", "eml"];
    let output = write(&tc, &cat(&[&signer("Jo"), &zz, &bad]));
    assert_refused(&output, &["--embassy-email", "not-an-address"]);
}

// ---- broken pipe ---------------------------------------------------------------------------

#[test]
fn broken_pipe_is_not_a_panic() {
    const COUNT: usize = 300;
    let mut recipients = String::from(
        "[campaign]\nname = \"many\"\ncopies_to = [\"copies@campaign.example.org\"]\n\
         default_letter = \"many\"\n",
    );
    let mut ids = Vec::new();
    for i in 0..COUNT {
        let id = format!("r{i:03}");
        recipients.push_str(&format!(
            "\n[[recipient]]\nid = \"{id}\"\nname = \"Recipient {i}\"\nemail = \"{id}@recipients.example.org\"\n"
        ));
        ids.push(format!("\"{id}\""));
    }
    let letter = format!(
        "+++\nsubject = \"Many\"\nrecipients = [{}]\n+++\nDear {{{{ recipient.name }}}},\n\n{}\n{{{{ signer.name }}}}\n",
        ids.join(", "),
        "Please release the prisoners and drop every charge against them.\n".repeat(20)
    );
    let tc = TestCampaign::custom(&recipients, &[("many.txt", &letter)]);

    let mut cmd = tc.campaign_std_cmd();
    cmd.args(["write", "--date", DATE, "--name", "Jo", "--email", AINUR])
        .args(["--format", "mbox"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start protest-letter");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).expect("read 100 bytes");
    assert!(first.starts_with(b"From "));
    drop(stdout);
    let output = child.wait_with_output().expect("wait for protest-letter");
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{stderr}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "a closed pipe is the reader's choice, not a failure:\n{stderr}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
}
