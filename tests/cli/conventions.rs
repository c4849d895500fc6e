//! What a user of any Rust CLI expects: `--rate` in any unit, `-o` onto
//! devices and pipes, completions, a man page, examples in `--help`, and
//! `-q`/`-v`.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Stdio;

use crate::support::{DATE, NAME, TestCampaign, text};

/// `write --to supreme-court`, signed, on the built-in campaign.
fn write_court(tc: &TestCampaign) -> assert_cmd::Command {
    let mut cmd = tc.cmd();
    cmd.args([
        "write",
        "--to",
        "supreme-court",
        "--date",
        DATE,
        "--name",
        NAME,
    ]);
    cmd
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

// ---- --rate ----

#[test]
fn absurd_rates_are_clear_errors_even_in_a_dry_run() {
    let tc = TestCampaign::new();
    for (rate, says) in [
        ("1e-18", "slower than one message a day"),
        ("1e18/s", "faster than 100000 messages a second"),
        ("0", "not a positive number"),
        ("-3/min", "not a positive number"),
        ("NaN", "not a positive number"),
        ("30/week", "unknown unit `/week`"),
    ] {
        let out = tc
            .cmd()
            .args(["send", "--dry-run", "--name", NAME])
            .arg(format!("--rate={rate}"))
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("--rate `{rate}`")) && stderr.contains(says),
            "{rate}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{rate}: {stderr}");
    }
}

#[test]
fn rates_per_second_minute_and_hour_are_accepted() {
    let tc = TestCampaign::with_real_addresses("kz-gov.org");
    for rate in ["2/s", "30/min", "30", "500/h"] {
        let out = tc
            .campaign_cmd()
            .args(["send", "--dry-run", "--name", NAME, "--country", "GB"])
            .args(["--email", "jo@solidarity-union.org", "--rate", rate])
            .arg("--journal")
            .arg(tc.root().join("journal.jsonl"))
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(
            text(&out.stdout).contains("Dry run: 3 would be sent"),
            "{rate}: {}",
            text(&out.stderr)
        );
    }
}

// ---- -o onto things that are not regular files ----

#[test]
fn output_to_dev_null_writes_and_keeps_the_device() {
    let tc = TestCampaign::new();
    assert!(is_char_device(Path::new("/dev/null")));
    let out = write_court(&tc)
        .args(["-o", "/dev/null"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    assert!(is_char_device(Path::new("/dev/null")));
}

/// A character device of our own (as root: the same device as /dev/null),
/// so that a regression replaces a node in a temp folder, not /dev/null.
#[test]
fn output_to_a_character_device_is_never_replaced_even_with_force() {
    let tc = TestCampaign::new();
    let node = tc.root().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&node)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("mknod needs root; checking with /dev/null itself without --force only");
        return;
    }
    write_court(&tc)
        .args(["--force", "-o"])
        .arg(&node)
        .assert()
        .success();
    assert!(is_char_device(&node), "the device node was replaced");
    // Nothing was left beside it either (no temporary file).
    let names: Vec<_> = std::fs::read_dir(tc.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".protest-letter"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn output_to_a_fifo_streams_into_it_and_keeps_it() {
    let tc = TestCampaign::new();
    let fifo = tc.root().join("letters.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    for force in [false, true] {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let mut cmd = write_court(&tc);
        if force {
            cmd.arg("--force");
        }
        let run = cmd
            .arg("-o")
            .arg(&fifo)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        if !run.status.success() {
            // Let the reader finish instead of waiting for a writer forever.
            drop(std::fs::OpenOptions::new().write(true).open(&fifo));
        }
        let got = reader.join().unwrap();
        assert!(run.status.success(), "force={force}: {}", text(&run.stderr));
        assert!(
            got.contains("Уважаемый Председатель Верховного Суда!"),
            "force={force}: {got}"
        );
        assert!(got.contains(NAME), "force={force}: {got}");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "force={force}: the FIFO was replaced");
    }
}

/// The same for every file written atomically: a FIFO where `--out-dir
/// --force` would put a letter is written into, and stays a FIFO.
#[test]
fn out_dir_with_force_writes_into_a_fifo_and_keeps_it() {
    let tc = TestCampaign::new();
    let dir = tc.root().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("sokolova-supreme-court.txt");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = write_court(&tc)
        .args(["--force", "--out-dir"])
        .arg(&dir)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    if !run.status.success() {
        drop(std::fs::OpenOptions::new().write(true).open(&fifo));
    }
    let got = reader.join().unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        got.contains("Уважаемый Председатель Верховного Суда!"),
        "{got}"
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn output_to_dev_stdout_is_standard_output() {
    let tc = TestCampaign::new();
    let out = write_court(&tc)
        .args(["-o", "/dev/stdout"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(text(&out.stdout).contains("Уважаемый Председатель Верховного Суда!"));

    // Standard output redirected to a regular file, with --force: the
    // letter lands in that file, appended, and /dev/stdout stays a link.
    let log = tc.root().join("log.txt");
    std::fs::write(&log, "earlier line\n").unwrap();
    let file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let was_link = std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| m.is_symlink());
    let status = tc
        .std_cmd()
        .args([
            "write",
            "--to",
            "supreme-court",
            "--date",
            DATE,
            "--name",
            NAME,
        ])
        .args(["--force", "-o", "/dev/stdout"])
        .stdout(Stdio::from(file))
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.starts_with("earlier line\n"), "{written}");
    assert!(
        written.contains("Уважаемый Председатель Верховного Суда!"),
        "{written}"
    );
    if was_link {
        assert!(
            std::fs::symlink_metadata("/dev/stdout")
                .unwrap()
                .is_symlink()
        );
    }
}

#[test]
fn output_through_a_symlink_replaces_the_target_and_keeps_the_link() {
    let tc = TestCampaign::new();
    let target = tc.root().join("real.txt");
    let link = tc.root().join("link.txt");
    std::fs::write(&target, "old\n").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Without --force: refused, naming the file; nothing changes.
    write_court(&tc).arg("-o").arg(&link).assert().code(2);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
    write_court(&tc)
        .args(["--force", "-o"])
        .arg(&link)
        .assert()
        .success();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("Уважаемый Председатель Верховного Суда!")
    );
}

#[test]
fn output_to_a_folder_is_an_error_naming_out_dir() {
    let tc = TestCampaign::new();
    let out = write_court(&tc)
        .arg("-o")
        .arg(tc.root())
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is a folder") && stderr.contains("--out-dir"),
        "{stderr}"
    );
}

// ---- completions, man, --help ----

#[test]
fn completions_for_every_shell() {
    let tc = TestCampaign::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = tc
            .cmd()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .clone();
        let script = text(&out.stdout);
        assert!(script.len() > 1000, "{shell}: {script}");
        for word in ["protest-letter", "signatories", "dry-run", "completions"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    tc.cmd().args(["completions", "tcsh"]).assert().code(2);
}

/// The bash script parses, and completes subcommands and flags in a real bash.
#[test]
fn bash_completion_completes() {
    let tc = TestCampaign::new();
    let out = tc
        .cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        .get_output()
        .clone();
    let script = tc.root().join("protest-letter.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", text(&syntax.stderr));
    let complete = |words: &str| {
        let program = format!(
            "source {}; f=$(complete -p protest-letter | sed 's/.*-F \\([^ ]*\\).*/\\1/'); \
             COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             $f protest-letter \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(program)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let commands = complete("protest-letter ''");
    for command in [
        "list",
        "check",
        "write",
        "send",
        "init",
        "completions",
        "man",
    ] {
        assert!(
            commands.lines().any(|l| l == command),
            "{command}: {commands}"
        );
    }
    let flags = complete("protest-letter send --dry");
    assert_eq!(flags.trim(), "--dry-run");
    let shells = complete("protest-letter completions ''");
    assert!(shells.lines().any(|l| l == "fish"), "{shells}");
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let tc = TestCampaign::new();
    let out = tc.cmd().arg("man").assert().success().get_output().clone();
    let page = text(&out.stdout);
    assert!(page.contains(".TH protest-letter 1"), "{page}");
    for command in [
        "list",
        "check",
        "write",
        "send",
        "init",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("protest\\-letter\\-{command}(1)")),
            "{command}"
        );
    }
    let send = tc
        .cmd()
        .args(["man", "send"])
        .assert()
        .success()
        .get_output()
        .clone();
    let send = text(&send.stdout);
    assert!(send.contains(".TH protest-letter-send 1"), "{send}");
    assert!(send.contains("\\-\\-dry\\-run"), "{send}");
    assert!(send.contains(".SH EXAMPLES\n.nf\n"), "{send}");
    assert!(send.contains("send \\-\\-dry\\-run"), "{send}");
    assert!(
        send.contains(".TH protest-letter-send 1  \"protest-letter 0.1.0\""),
        "{send}"
    );
    let bad = tc
        .cmd()
        .args(["man", "sned"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(text(&bad.stderr).contains("one of: list, check, write, send"));
}

#[test]
fn every_command_has_examples_in_its_help() {
    let tc = TestCampaign::new();
    let help = |args: &[&str]| {
        text(
            &tc.cmd()
                .args(args)
                .arg("--help")
                .assert()
                .success()
                .get_output()
                .stdout,
        )
    };
    assert!(help(&[]).contains("Examples:"));
    for command in [
        "list",
        "check",
        "write",
        "send",
        "init",
        "completions",
        "man",
    ] {
        let text = help(&[command]);
        assert!(text.contains("Examples:\n  "), "{command}: {text}");
        assert!(text.contains("  protest-letter "), "{command}: {text}");
    }
    let write = help(&["write"]);
    for case in [
        "--to supreme-court",
        "-o letter.txt",
        "--format eml | msmtp -t",
        "--out-dir",
        "--group",
    ] {
        assert!(write.contains(case), "write --help lacks {case}");
    }
    assert!(help(&["send"]).contains("send --dry-run"));
}

// ---- -q and -v ----

#[test]
fn quiet_silences_notes_warnings_and_previews_but_not_errors() {
    let tc = TestCampaign::new();
    // eml to everyone: a note for the phone-only office, a placeholder warning.
    let eml = [
        "write",
        "--name",
        NAME,
        "--email",
        "jo@solidarity-union.org",
        "--date",
        DATE,
        "--format",
        "mbox",
    ];
    let loud = tc
        .cmd()
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .args(eml)
        .assert()
        .success()
        .get_output()
        .clone();
    let loud_err = text(&loud.stderr);
    assert!(
        loud_err.contains("note:") && loud_err.contains("warning:"),
        "{loud_err}"
    );
    let quiet = tc
        .cmd()
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .arg("-q")
        .args(eml)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(quiet.stderr.is_empty(), "{}", text(&quiet.stderr));
    assert_eq!(quiet.stdout, loud.stdout, "-q changes nothing on stdout");
    // After the command works too.
    let after = tc
        .cmd()
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .args(eml)
        .arg("--quiet")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(after.stderr.is_empty());

    // A dry run: no preview, the summary still on stdout.
    let real = TestCampaign::with_real_addresses("kz-gov.org");
    let dry = real
        .campaign_cmd()
        .args(["-q", "send", "--dry-run", "--name", NAME, "--country", "GB"])
        .args(["--email", "jo@solidarity-union.org", "--journal"])
        .arg(real.root().join("journal.jsonl"))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(dry.stderr.is_empty(), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("Dry run: 3 would be sent"));

    // Errors still get through.
    let err = tc
        .cmd()
        .args(["-q", "write", "--to", "nobody", "--name", NAME])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        text(&err.stderr).contains("error:"),
        "{}",
        text(&err.stderr)
    );
}

#[test]
fn verbose_is_global_and_conflicts_with_quiet() {
    let tc = TestCampaign::with_real_addresses("kz-gov.org");
    for args in [&["-v", "send"][..], &["send", "-v"], &["send", "--verbose"]] {
        tc.campaign_cmd()
            .args(args)
            .args(["--dry-run", "--name", NAME, "--country", "GB"])
            .args(["--email", "jo@solidarity-union.org", "--journal"])
            .arg(tc.root().join("journal.jsonl"))
            .assert()
            .success();
    }
    let both = tc
        .cmd()
        .args(["-q", "-v", "list"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        text(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both.stderr)
    );
}
