//! `write --format eml|mbox|json`: every generated message is parsed back
//! with a real mail parser (`mail-parser`), never checked by string search
//! alone: display names, To/Cc/Bcc, Date, Message-ID and decoded bodies;
//! mboxrd quoting; header injection; reproducible output; a broken pipe.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use mail_parser::mailbox::mbox::MessageIterator;
use mail_parser::{Address, Message, MessageParser};
use serde_json::Value;

use crate::support::{DATE, TestCampaign, text};

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

// ---- helpers ----------------------------------------------------------------

/// `protest-letter write --date DATE ARGS…` on the built-in campaign.
fn write(tc: &TestCampaign, args: &[&str]) -> Output {
    write_env(tc, args, &[])
}

/// `write --name NAME --email AINUR --to supreme-court --format eml`.
fn court_eml(tc: &TestCampaign, name: &str) -> Output {
    write(
        tc,
        &[
            "--name",
            name,
            "--email",
            AINUR,
            "--to",
            "supreme-court",
            "--format",
            "eml",
        ],
    )
}

/// [`write`] with extra environment variables.
fn write_env(tc: &TestCampaign, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tc.cmd();
    cmd.args(["write", "--date", DATE]).args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("run protest-letter")
}

/// [`write`] on the test's own campaign folder.
fn write_campaign(tc: &TestCampaign, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tc.campaign_cmd();
    cmd.args(["write", "--date", DATE]).args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("run protest-letter")
}

fn describe(output: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

#[track_caller]
fn assert_success(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{}", describe(output));
}

/// Exit code 2 (bad input), nothing on standard output, and stderr says
/// what went wrong.
#[track_caller]
fn assert_refused(output: &Output, needles: &[&str]) {
    assert_eq!(output.status.code(), Some(2), "{}", describe(output));
    assert!(
        output.stdout.is_empty(),
        "stdout must be empty\n{}",
        describe(output)
    );
    let stderr = text(&output.stderr);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr should mention {needle:?}\n{}",
            describe(output)
        );
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
fn mbox_messages(stream: &[u8]) -> Vec<Vec<u8>> {
    assert!(stream.starts_with(b"From "), "an mbox starts with `From `");
    MessageIterator::new(stream)
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

/// Lines of `bytes` that start with `From ` (mbox separators).
fn from_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"From "))
        .count()
}

/// A temporary campaign with only this recipients.toml and these letters.
fn custom_campaign(recipients: &str, letters: &[(&str, &str)]) -> TestCampaign {
    let tc = TestCampaign::new();
    for entry in std::fs::read_dir(tc.dir().join("letters")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    tc.write("recipients.toml", recipients);
    for (file, content) in letters {
        tc.write(&format!("letters/{file}"), content);
    }
    tc
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    let out = text(stdout);
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
    let message = parse(&output.stdout);

    assert_eq!(from(&message), (name.to_string(), AINUR.to_string()));
    assert_eq!(addrs(message.to()), [COURT]);
    let cc = addrs(message.cc());
    let mut expected: Vec<String> = strings(&COURT_CC);
    expected.extend(strings(&COPIES_TO));
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
        let message = parse(&output.stdout);
        assert_eq!(from(&message), (name.to_string(), AINUR.to_string()));
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
        ("name with CRLF", vec!["--name", injected, "--email", AINUR]),
        ("name with LF", vec!["--name", lf_only, "--email", AINUR]),
        (
            "organisation",
            vec!["--name", "Jo", "--organisation", injected, "--email", AINUR],
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
            let mut args = args.clone();
            args.extend(["--to", "supreme-court", "--format", format]);
            let output = write(&tc, &args);
            assert_refused(&output, &["error:"]);
            let stderr = text(&output.stderr);
            assert!(
                stderr.contains("carriage return")
                    || stderr.contains("line break")
                    || stderr.contains("control character"),
                "{what} ({format}): stderr should explain the line break\n{}",
                describe(&output)
            );
            assert!(!text(&output.stdout).contains("Bcc"), "{what} ({format})");
        }
    }

    // The same values from the environment are refused the same way.
    let tc = TestCampaign::new();
    let output = write_env(
        &tc,
        &["--to", "supreme-court", "--format", "eml"],
        &[
            ("PROTEST_LETTER_NAME", injected),
            ("PROTEST_LETTER_EMAIL", AINUR),
        ],
    );
    assert_refused(&output, &["name"]);

    // And from a campaign's recipient name (a TOML escape can hold CRLF).
    let tc = TestCampaign::new();
    tc.replace(
        "recipients.toml",
        "name = \"The Chair of the Supreme Court\"",
        "name = \"The Chair\\r\\nBcc: victim@example.org\"",
    );
    let output = write_campaign(
        &tc,
        &[
            "--name",
            "Jo",
            "--email",
            AINUR,
            "--to",
            "supreme-court",
            "--format",
            "eml",
        ],
        &[],
    );
    assert_ne!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(output.stdout.is_empty(), "{}", describe(&output));
    assert!(!text(&output.stderr).contains("panicked"));
}

// ---- mbox -----------------------------------------------------------------------

#[test]
fn mbox_default_recipients_gives_three_parsable_messages() {
    let tc = TestCampaign::new();
    let output = write(
        &tc,
        &[
            "--name",
            KAZAKH_NAME,
            "--email",
            AINUR,
            "--country",
            "GB",
            "--format",
            "mbox",
        ],
    );
    assert_success(&output);
    assert_eq!(from_lines(&output.stdout), 3, "three From_ separator lines");
    let raw = mbox_messages(&output.stdout);
    assert_eq!(raw.len(), 3, "supreme-court, foreign-ministry, embassy GB");

    let mut to = Vec::new();
    for bytes in &raw {
        let message = parse(bytes);
        assert_eq!(from(&message), (KAZAKH_NAME.to_string(), AINUR.to_string()));
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

    let stderr = text(&output.stderr);
    let note = stderr
        .lines()
        .find(|l| l.starts_with("note:") && l.contains("presidential-administration"))
        .unwrap_or_else(|| panic!("a note about presidential-administration:\n{stderr}"));
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
    let tc = custom_campaign(QUOTING_RECIPIENTS, &[("quoting.txt", QUOTING_LETTER)]);
    let signer = ["--name", "Jo Bloggs", "--email", "jo@union.example.org"];
    let output = write_campaign(&tc, &[&signer[..], &["--format", "mbox"]].concat(), &[]);
    assert_success(&output);

    let stream = text(&output.stdout);
    assert_eq!(
        from_lines(&output.stdout),
        2,
        "only the separators:\n{stream}"
    );
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

    let raw = mbox_messages(&output.stdout);
    assert_eq!(raw.len(), 2);
    for (bytes, id) in raw.iter().zip(["alpha", "beta"]) {
        let message = parse(bytes);
        // The letter as plain text is the reference body.
        let plain = write_campaign(&tc, &[&signer[..], &["--to", id]].concat(), &[]);
        assert_success(&plain);
        assert_eq!(body(&message), text(&plain.stdout), "body to {id}");
    }
}

// ---- json -----------------------------------------------------------------------

#[test]
fn json_lines_parse_and_envelope_copies_are_deduplicated() {
    let recipients = r#"
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
    let letter = "+++
subject = \"Dedup\"
recipients = [\"court\", \"ministry\"]
+++
Dear {{ recipient.name }},

Text.

{{ signer.name }}
";
    let tc = custom_campaign(recipients, &[("dedup.txt", letter)]);
    let args = ["--name", KAZAKH_NAME, "--email", AINUR, "--format", "json"];
    let output = write_campaign(&tc, &args, &[("SOURCE_DATE_EPOCH", EPOCH)]);
    assert_success(&output);
    let records = json_lines(&output.stdout);
    assert_eq!(records.len(), 2);

    let expected_cc = [
        (
            "court",
            vec![
                "clerk@court.example.org",
                "shared@campaign.example.org",
                "office@campaign.example.org",
            ],
        ),
        (
            "ministry",
            vec![
                "office@campaign.example.org",
                "shared@campaign.example.org",
                "court@court.example.org",
            ],
        ),
    ];
    for (record, (id, cc)) in records.iter().zip(expected_cc) {
        let object = record.as_object().unwrap();
        for key in [
            "letter",
            "recipient",
            "country",
            "signer",
            "envelope",
            "message_id",
            "subject",
            "body",
        ] {
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
        let eml = write_campaign(
            &tc,
            &[&args[..4], &["--to", id, "--format", "eml"]].concat(),
            &[("SOURCE_DATE_EPOCH", EPOCH)],
        );
        assert_success(&eml);
        let message = parse(&eml.stdout);
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
    let output = write(
        &tc,
        &[
            "--name",
            GERMAN_NAME,
            "--email",
            AINUR,
            "--country",
            "GB",
            "--format",
            "json",
            "--bcc-me",
        ],
    );
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
    assert!(text(&output.stderr).contains("presidential-administration"));
}

// ---- eml targets ------------------------------------------------------------------

#[test]
fn eml_with_several_recipients_needs_out_dir() {
    let tc = TestCampaign::new();
    let signer = ["--name", KAZAKH_NAME, "--email", AINUR, "--country", "GB"];
    let output = write(&tc, &[&signer[..], &["--format", "eml"]].concat());
    assert_refused(&output, &["mbox", "--out-dir"]);

    let file = tc.work().join("letters.eml");
    let output = write(
        &tc,
        &[&signer[..], &["-o", file.to_str().unwrap()]].concat(),
    );
    assert_refused(&output, &["mbox"]);
    assert!(!file.exists(), "nothing written after a refusal");

    let dir = tc.work().join("out");
    let output = write(
        &tc,
        &[
            &signer[..],
            &["--format", "eml", "--out-dir", dir.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_success(&output);
    assert!(output.stdout.is_empty());
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
        assert_eq!(from(&message), (KAZAKH_NAME.to_string(), AINUR.to_string()));
        to.extend(addrs(message.to()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            text(&output.stderr).contains(&name),
            "stderr names {name}:\n{}",
            text(&output.stderr)
        );
    }
    assert_eq!(sorted(to), sorted(strings(&[COURT, MINISTRY, EMBASSY_GB])));
}

#[test]
fn output_file_extension_picks_eml() {
    let tc = TestCampaign::new();
    let file = tc.work().join("out.eml");
    let output = write(
        &tc,
        &[
            "--name",
            KAZAKH_NAME,
            "--email",
            AINUR,
            "--to",
            "supreme-court",
            "-o",
            "out.eml",
        ],
    );
    assert_success(&output);
    assert!(output.stdout.is_empty());
    let bytes = std::fs::read(&file).expect("out.eml written in the working folder");
    let message = parse(&bytes);
    assert_eq!(from(&message), (KAZAKH_NAME.to_string(), AINUR.to_string()));
    assert_eq!(addrs(message.to()), [COURT]);
    assert!(body(&message).contains("Уважаемый Председатель Верховного Суда!"));
}

// ---- --bcc-me ------------------------------------------------------------------------

#[test]
fn bcc_me_keeps_a_bcc_header_for_sendmail_t() {
    let tc = TestCampaign::new();
    let signer = ["--name", GERMAN_NAME, "--email", AINUR, "--bcc-me"];

    let output = write(
        &tc,
        &[&signer[..], &["--to", "supreme-court", "--format", "eml"]].concat(),
    );
    assert_success(&output);
    let message = parse(&output.stdout);
    assert_eq!(addrs(message.bcc()), [AINUR]);
    assert_eq!(addrs(message.to()), [COURT]);
    assert_eq!(addrs(message.cc()).len(), 4);

    let output = write(
        &tc,
        &[&signer[..], &["--country", "GB", "--format", "mbox"]].concat(),
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
    let signer = ["--name", KAZAKH_NAME, "--email", AINUR, "--country", "GB"];
    let epoch = [("SOURCE_DATE_EPOCH", EPOCH)];
    for format in ["eml", "mbox", "json"] {
        let mut args = signer.to_vec();
        args.extend(["--format", format]);
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
            text(&first.stdout),
            text(&second.stdout)
        );
    }

    let output = write_env(
        &tc,
        &[&signer[..], &["--to", "supreme-court", "--format", "eml"]].concat(),
        &epoch,
    );
    let message = parse(&output.stdout);
    assert_eq!(message.date().unwrap().to_timestamp(), 1_700_000_000);
    // The Message-ID comes from the journal key, not the clock.
    assert!(message.message_id().unwrap().ends_with("@example.org"));

    // The mbox separator lines carry the same time and the envelope sender.
    let output = write_env(&tc, &[&signer[..], &["--format", "mbox"]].concat(), &epoch);
    assert_success(&output);
    let separators: Vec<(u64, String)> = MessageIterator::new(&output.stdout[..])
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
        let output = write_env(
            &tc,
            &[
                "--name",
                "Jo",
                "--email",
                AINUR,
                "--to",
                "supreme-court",
                "--format",
                "eml",
            ],
            &[("SOURCE_DATE_EPOCH", value)],
        );
        assert!(!text(&output.stderr).contains("panicked"), "{value}");
        assert_refused(&output, &["SOURCE_DATE_EPOCH"]);
    }
}

#[test]
fn source_date_epoch_must_be_a_number() {
    let tc = TestCampaign::new();
    let output = write_env(
        &tc,
        &[
            "--name",
            "Jo",
            "--email",
            AINUR,
            "--to",
            "supreme-court",
            "--format",
            "eml",
        ],
        &[("SOURCE_DATE_EPOCH", "yesterday")],
    );
    assert_refused(&output, &["SOURCE_DATE_EPOCH", "yesterday"]);
}

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sokolova--supreme-court.eml")
}

#[test]
fn eml_matches_golden_file() {
    let tc = TestCampaign::new();
    let output = write_env(
        &tc,
        &[
            "sokolova",
            "--name",
            KAZAKH_NAME,
            "--email",
            AINUR,
            "--to",
            "supreme-court",
            "--format",
            "eml",
        ],
        &[("SOURCE_DATE_EPOCH", EPOCH)],
    );
    assert_success(&output);
    parse(&output.stdout);
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
        golden == output.stdout,
        "{} differs from the output.\n--- golden\n{}\n--- actual\n{}\n\
         If the change is intended, run UPDATE_GOLDEN=1 cargo test --test cli eml_matches_golden \
         and review the diff.",
        path.display(),
        text(&golden),
        text(&output.stdout)
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
        let output = write(
            &tc,
            &[
                "--name",
                "Jo",
                "--email",
                address,
                "--to",
                "supreme-court",
                "--format",
                "eml",
            ],
        );
        assert_refused(&output, &[address, reason]);
    }
}

#[test]
fn idn_domain_is_written_as_punycode() {
    let tc = TestCampaign::new();
    let output = write(
        &tc,
        &[
            "--name",
            GERMAN_NAME,
            "--email",
            "info@müller.de",
            "--to",
            "supreme-court",
            "--format",
            "eml",
        ],
    );
    assert_success(&output);
    let message = parse(&output.stdout);
    assert_eq!(
        from(&message),
        (GERMAN_NAME.to_string(), "info@xn--mller-kva.de".to_string())
    );
    assert!(
        message.message_id().unwrap().ends_with("@xn--mller-kva.de"),
        "{:?}",
        message.message_id()
    );
    assert!(!text(&output.stdout).contains("müller"));
}

// ---- countries ------------------------------------------------------------------------

#[test]
fn unknown_country_lists_the_known_ones() {
    let tc = TestCampaign::new();
    let output = write(
        &tc,
        &[
            "--name",
            "Jo",
            "--email",
            AINUR,
            "--country",
            "ZZ",
            "--format",
            "mbox",
        ],
    );
    assert_refused(&output, &["ZZ", KNOWN_COUNTRIES, "--embassy-email"]);
}

#[test]
fn embassy_email_addresses_an_unlisted_country() {
    let tc = TestCampaign::new();
    let output = write(
        &tc,
        &[
            "--name",
            KAZAKH_NAME,
            "--email",
            AINUR,
            "--country",
            "ZZ",
            "--embassy-email",
            "embassy@kz-embassy.org",
            "--format",
            "mbox",
        ],
    );
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

    let output = write(
        &tc,
        &[
            "--name",
            "Jo",
            "--email",
            AINUR,
            "--country",
            "ZZ",
            "--embassy-email",
            "not-an-address",
            "--to",
            "embassy",
            "--format",
            "eml",
        ],
    );
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
    let tc = custom_campaign(&recipients, &[("many.txt", &letter)]);

    let mut cmd = tc.std_cmd();
    cmd.arg("--campaign")
        .arg(tc.dir())
        .args(["write", "--date", DATE, "--name", "Jo", "--email", AINUR])
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
