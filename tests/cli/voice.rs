//! The signer's own voice (`--message`, `--message-file`, `--edit`, a
//! `message` column), the identical-letters warning, reflowed paragraphs,
//! and the warnings that keep letters readable and out of spam folders.

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{DATE, NAME, ORGANISATION, Run, Runs, TestCampaign};

const MINISTRY: &[&str] = &["write", "--to", "foreign-ministry", "--date", DATE];
const SAME_WORDS: &str = "every letter of this batch has the same words";
const OWN_WORDS: &str =
    "Our branch met Ms Sokolova's colleagues in 2011 and we have not forgotten her case.";
/// An editor's work: the signer becomes a nurse and adds a postscript.
const NURSE: &str = "sed -i 's/^I write about/I, a nurse, write about/' \"$1\"\n\
                     printf '\\nP.S. Written by hand.\\n' >> \"$1\"\n";

/// `write` to the ministry on the built-in campaign, with `args`.
fn to_ministry(tc: &TestCampaign, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = tc.cmd();
    cmd.args(MINISTRY).args(args);
    cmd
}

/// [`to_ministry`] signed by NAME with `args`: the letter it printed.
fn signed(tc: &TestCampaign, args: &[&str]) -> String {
    to_ministry(tc, &[&["--name", NAME][..], args].concat())
        .succeeds()
        .stdout
}

/// [`to_ministry`] with `--edit`, `editor` as EDITOR and no VISUAL.
fn edit(tc: &TestCampaign, editor: &str, args: &[&str]) -> Run {
    let mut cmd = to_ministry(tc, &[&["--name", NAME, "--edit"][..], args].concat());
    cmd.env("EDITOR", editor).env_remove("VISUAL").run()
}

/// An editor: a shell script run as `sh SCRIPT FILE` (no executable bit, so
/// no "text file busy" race with other tests' forks).
fn editor(tc: &TestCampaign, name: &str, script: &str) -> String {
    format!("sh {}", tc.file(name, script).display())
}

#[test]
fn message_is_a_paragraph_after_the_opening() {
    let tc = TestCampaign::new();
    let out = signed(
        &tc,
        &["--organisation", ORGANISATION, "--message", OWN_WORDS],
    );
    let blocks: Vec<&str> = out.split("\n\n").collect();
    let opening = blocks
        .iter()
        .position(|b| b.starts_with("I write on behalf of Unite Branch 42 about"))
        .expect("the opening, with the organisation in it");
    assert!(
        blocks[opening + 1].starts_with("Our branch met Ms Sokolova's colleagues"),
        "{out}"
    );
    assert!(
        blocks[opening + 2].starts_with("As of November 2011"),
        "{out}"
    );
}

#[test]
fn message_file_keeps_its_paragraphs_and_is_reflowed() {
    let tc = TestCampaign::new();
    let long = "word ".repeat(40);
    tc.work_file(
        "mine.txt",
        format!("First paragraph of my own, {long}end.\r\n\r\nSecond one.\n"),
    );
    let out = signed(&tc, &["--message-file", "mine.txt"]);
    assert!(out.contains("\n\nSecond one.\n\n"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 72), "{out}");
    assert!(!out.contains('\r'));
    to_ministry(&tc, &["--name", NAME, "--message-file", "missing.txt"])
        .exits(2)
        .says("missing.txt");
}

#[test]
fn a_long_organisation_leaves_no_ragged_lines() {
    let tc = TestCampaign::new();
    let org = "the Transport and General Workers' Union, London and Eastern Region, Branch 1/234";
    let out = signed(&tc, &["--organisation", org]);
    let opening = out
        .split("\n\n")
        .find(|b| b.starts_with("I write on behalf of"))
        .unwrap();
    let lines: Vec<usize> = opening.lines().map(|l| l.chars().count()).collect();
    assert!(lines.iter().all(|&n| n <= 72), "{opening}");
    // Filled: every line but the last is well used (no "…legal" / "adviser").
    assert!(
        lines[..lines.len() - 1].iter().all(|&n| n >= 55),
        "{opening}"
    );
    assert!(opening.replace('\n', " ").contains(org));
}

#[test]
fn edit_uses_what_the_editor_saved() {
    let tc = TestCampaign::new();
    let script = editor(&tc, "ed.sh", NURSE);
    let out = edit(&tc, &script, &["-o", "letter.txt"]);
    assert_eq!(out.code, 0, "{out:?}");
    let saved = std::fs::read_to_string(tc.work().join("letter.txt")).unwrap();
    assert!(
        saved.contains("I, a nurse, write about Natalia Sokolova"),
        "{saved}"
    );
    assert!(saved.ends_with("P.S. Written by hand.\n"), "{saved}");
    out.says("editing the letter to `foreign-ministry`");
}

#[test]
fn visual_comes_before_editor_and_a_failed_editor_writes_nothing() {
    let tc = TestCampaign::new();
    let good = editor(&tc, "good.sh", "echo 'Visual was here.' >> \"$1\"\n");
    let mut cmd = to_ministry(&tc, &["--name", NAME, "--edit"]);
    let out = cmd.env("VISUAL", &good).env("EDITOR", "false").succeeds();
    out.prints("Visual was here.");

    let bad = editor(&tc, "bad.sh", "exit 1\n");
    let out = edit(&tc, &bad, &["-o", "letter.txt"]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("nothing was written or sent");
    assert!(!tc.work().join("letter.txt").exists());

    let empty = editor(&tc, "empty.sh", ": > \"$1\"\n");
    let out = edit(&tc, &empty, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.no_stdout().says("saved empty");

    // No editor and no terminal to start vi on.
    let mut cmd = to_ministry(&tc, &["--name", NAME, "--edit"]);
    cmd.env_remove("VISUAL").env_remove("EDITOR");
    cmd.exits(2).says("set VISUAL or EDITOR");
}

#[test]
fn edit_before_send_sends_the_edited_letter_once_per_recipient() {
    let tc = TestCampaign::sendable();
    let script = editor(
        &tc,
        "ed.sh",
        "echo \"Edited for $(basename \"$1\").\" >> \"$1\"\n",
    );
    let mut server = SmtpServer::start(ServerConfig::default());
    let mut send = tc
        .send()
        .with(["--name", NAME, "--email", "jo@union.org", "--country", "GB"])
        .with([
            "--to",
            "foreign-ministry",
            "--to",
            "embassy",
            "--edit",
            "--yes",
        ])
        .smtp(&server);
    let out = send.env("EDITOR", &script).env_remove("VISUAL").succeeds();
    let received = server.received();
    assert_eq!(received.len(), 2, "{out:?}");
    for (r, to) in received.iter().zip(["foreign-ministry", "embassy"]) {
        let body = r.mail().body;
        assert!(
            body.contains(&format!("Edited for sokolova-to-{to}.txt.")),
            "{body}"
        );
    }
    server.stop();
}

#[test]
fn edit_is_refused_for_a_per_member_batch() {
    let tc = TestCampaign::new();
    tc.work_file("m.csv", "name\nAnn\nBo\n");
    let mut cmd = to_ministry(&tc, &["--signatories", "m.csv", "--edit"]);
    let out = cmd.env("EDITOR", "true").exits(2);
    out.no_stdout().says("`message` column");
}

/// The warnings of a batch `write` to the ministry of the list `csv`
/// (with `args`), which must succeed: standard error.
fn batch_warnings(tc: &TestCampaign, csv: &str, args: &[&str]) -> Run {
    to_ministry(tc, &[&["--signatories", csv][..], args].concat()).succeeds()
}

#[test]
fn words_of_a_repeated_member_do_not_count_as_their_own() {
    // The check pass counts rows with other words; here the only one is a
    // repeat of Ann (left out), so every letter is still the same.
    let tc = TestCampaign::new();
    let same = "name,email,message\nAnn Lee,ann@x.org,Free her.\nBo Chan,bo@x.org,Free her.\nAnn Lee,ann@x.org,My own words.\n";
    let own = "name,email,message\nAnn Lee,ann@x.org,Free her.\nBo Chan,bo@x.org,Free her.\nAnn Lee,ann@x.org,My own words.\nCy Day,cy@x.org,Mine too.\n";
    for (file, csv, warns) in [("dup.csv", same, true), ("own.csv", own, false)] {
        tc.work_file(file, csv);
        let err = batch_warnings(&tc, file, &[]).stderr;
        assert!(err.contains("repeat"), "{file}: {err}");
        assert_eq!(err.contains(SAME_WORDS), warns, "{file}: {err}");
    }
}

#[test]
fn identical_batch_letters_warn_and_a_message_column_does_not() {
    let tc = TestCampaign::new();
    tc.work_file("same.csv", "name\nAnn Lee\nBo Chan\n");
    let out = batch_warnings(&tc, "same.csv", &[]);
    out.says(SAME_WORDS).says("`message`").says("--message");

    tc.work_file(
        "own.csv",
        "name,Message\nAnn Lee,I am a nurse and a Unison steward.\nBo Chan,\"My father was a miner.\n\nHe would have written too.\"\n",
    );
    let for_empty = ["--message", "For those who left it empty."];
    let out = batch_warnings(&tc, "own.csv", &for_empty);
    assert!(!out.stderr.contains("same words"));
    out.prints("\n\nI am a nurse and a Unison steward.\n\n")
        .prints("\n\nMy father was a miner.\n\nHe would have written too.\n\n");
    assert!(
        !out.stdout.contains("For those who left it empty."),
        "{out:?}"
    );

    // A petition is one letter: no warning.
    let out = batch_warnings(&tc, "same.csv", &["--group"]);
    assert!(!out.stderr.contains("same words"));
}

#[test]
fn write_to_a_recipient_the_letter_does_not_list_warns() {
    let tc = TestCampaign::new();
    let mut cmd = tc.cmd();
    cmd.args(["write", "kuramshin", "--to", "supreme-court"])
        .args(["--name", NAME]);
    cmd.succeeds()
        .says("the letter `kuramshin` was not written for `supreme-court`");
    let out = to_ministry(&tc, &["--name", NAME]).succeeds();
    assert!(!out.stderr.contains("not written for"), "{out:?}");
}

#[test]
fn check_warns_on_salutations_spam_filters_score() {
    let tc = TestCampaign::new();
    let check = || tc.campaign_cmd().arg("check").succeeds().stderr;
    let out = check();
    assert!(
        !out.contains("DEAR_SOMETHING"),
        "the built-in campaign is clean: {out}"
    );
    tc.replace(
        "recipients.toml",
        "salutation = \"Dear Minister\"",
        "salutation = \"Dear Sir or Madam\"",
    );
    let line = tc.line_of("recipients.toml", "salutation = \"Dear Sir or Madam\"");
    let out = check();
    assert!(
        out.contains(&format!(
            "recipients.toml:{line}:14: warning: recipient `foreign-ministry`"
        )),
        "{out}"
    );
    assert!(
        out.contains("DEAR_SOMETHING") && out.contains("Dear Minister"),
        "{out}"
    );
}

/// Own words are bounded at 64 KiB, from a file, standard input (`-`) or
/// the command line, and the error names the limit; `/dev/zero` stops
/// there instead of filling the memory.
#[test]
fn own_words_are_limited_to_64_kib() {
    let tc = TestCampaign::new();
    let fits = "word ".repeat(64 * 1024 / 5);
    let over = "word ".repeat(64 * 1024 / 5 + 1);
    tc.work_file("fits.txt", &fits);
    tc.work_file("over.txt", &over);
    let out = signed(&tc, &["--message-file", "fits.txt"]);
    assert!(out.matches("word").count() >= 13_000, "the whole message");
    to_ministry(&tc, &["--name", NAME, "--message-file", "over.txt"])
        .exits(2)
        .says("over.txt holds more than the 64 KiB a message may hold");
    #[cfg(unix)]
    to_ministry(&tc, &["--name", NAME, "--message-file", "/dev/zero"])
        .exits(2)
        .says("/dev/zero holds more than the 64 KiB");
    to_ministry(&tc, &["--name", NAME, "--message", &over])
        .exits(2)
        .says("over the 64 KiB a message may hold");
    for flag in ["--message", "--message-file"] {
        let mut cmd = to_ministry(&tc, &["--name", NAME, flag, "-"]);
        cmd.write_stdin(over.clone())
            .exits(2)
            .says("standard input holds more than the 64 KiB");
        let mut cmd = to_ministry(&tc, &["--name", NAME, flag, "-"]);
        let out = cmd.write_stdin(OWN_WORDS).succeeds().stdout;
        assert!(out.replace('\n', " ").contains(OWN_WORDS), "{flag}: {out}");
    }
}

/// A FIFO (`--message-file <(…)` or a named pipe) is read until its
/// writer closes it, however it is written.
#[cfg(unix)]
#[test]
fn message_file_reads_a_fifo_until_it_closes() {
    use std::io::Write;
    let tc = TestCampaign::new();
    let fifo = tc.work().join("words.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (first, rest) = OWN_WORDS.split_at(20);
    let writer = std::thread::spawn(move || {
        // Opening blocks until protest-letter opens the other end.
        let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        pipe.write_all(first.as_bytes()).unwrap();
        pipe.flush().unwrap();
        pipe.write_all(rest.as_bytes()).unwrap();
    });
    let out = signed(&tc, &["--message-file", "words.fifo"]);
    writer.join().unwrap();
    assert!(out.replace('\n', " ").contains(OWN_WORDS), "{out}");
}

// ---- own words never vanish ----

/// A campaign of the built-in copy whose letter `kuramshin` has lost the
/// lines that print `message`.
fn without_message() -> TestCampaign {
    let tc = TestCampaign::new();
    let file = "letters/kuramshin.txt";
    let text = tc.read(file);
    let start = text
        .find("{%- if message %}")
        .expect("kuramshin prints message");
    let end = start + text[start..].find("{%- endif %}").unwrap() + "{%- endif %}".len();
    tc.write(file, &format!("{}{}", &text[..start], &text[end..]));
    tc
}

#[test]
fn own_words_for_a_letter_without_message_are_refused_naming_its_file() {
    let tc = without_message();
    let file = tc.dir().join("letters/kuramshin.txt").display().to_string();
    let kuramshin = || {
        let mut cmd = tc.campaign_cmd();
        cmd.args(["write", "kuramshin", "--to", "foreign-ministry"]);
        cmd
    };
    let write = |args: &[&str]| kuramshin().args(["--name", NAME]).args(args).exits(2);
    for out in [write(&["--message", OWN_WORDS]), {
        let words = tc.file("words.txt", OWN_WORDS);
        write(&["--message-file", words.to_str().unwrap()])
    }] {
        out.no_stdout()
            .says(&format!(
                "the letter `kuramshin` ({file}) never prints `message`"
            ))
            .says("--message or --message-file")
            .says("{%- if message %}\n\n{{ message }}\n{%- endif %}");
    }
    // A members' list with a `message` column, too.
    let list = tc.file("members.csv", format!("name,message\n{NAME},{OWN_WORDS}\n"));
    let out = kuramshin().arg("--signatories").arg(&list).exits(2);
    out.says(&format!("the `message` column of {}", list.display()))
        .says("{{ message }}");
    // Without own words the letter is written as before.
    kuramshin().args(["--name", NAME]).succeeds();
}

#[test]
fn check_warns_of_a_letter_that_never_prints_message() {
    let tc = without_message();
    let out = tc.campaign_cmd().arg("check").succeeds();
    out.says("kuramshin.txt: warning: letter `kuramshin` never prints `message`")
        .says("      {{ message }}");
    // The built-in letters all print it.
    let out = TestCampaign::new().campaign_cmd().arg("check").succeeds();
    assert!(!out.stderr.contains("never prints `message`"), "{out:?}");
}

#[test]
fn the_blank_skeleton_prints_own_words_and_says_so() {
    let tc = TestCampaign::new();
    tc.cmd().args(["init", "--blank", "blank"]).succeeds();
    let letter = std::fs::read_to_string(tc.work().join("blank/letters/letter.txt")).unwrap();
    assert!(
        letter.contains("      message    the signer's own words"),
        "{letter}"
    );
    let out = tc
        .cmd()
        .args([
            "--campaign",
            "blank",
            "write",
            "--name",
            NAME,
            "--date",
            DATE,
        ])
        .args(["--message", OWN_WORDS])
        .succeeds();
    // As the built-in letters print it: a paragraph of its own after the
    // opening one.
    out.prints("and why.\n\nOur branch met")
        .prints("forgotten her case.\n\nYours sincerely,");
}
