//! What a user of any Rust CLI expects: `--rate` in any unit, `-o` onto
//! devices and pipes, completions, a man page, examples in `--help`, and
//! `-q`/`-v`.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Stdio;

use crate::support::{COMMANDS, DATE, EMAIL, NAME, Run, Runs, SIGNER, TestCampaign};

/// The court's salutation, in the letter's Russian.
const DEAR_COURT: &str = "Уважаемый Председатель Верховного Суда!";

/// `write --to supreme-court`, signed, on the built-in campaign.
fn write_court(tc: &TestCampaign) -> assert_cmd::Command {
    let mut cmd = tc.cmd();
    cmd.args(["write", "--to", "supreme-court", "--date", DATE])
        .args(["--name", NAME]);
    cmd
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.unwrap().success());
}

/// Runs `write` into the FIFO `fifo` while this test reads it; returns the
/// run and what was read.
fn through_fifo(mut write: assert_cmd::Command, fifo: &Path) -> (Run, String) {
    let reader = {
        let fifo = fifo.to_path_buf();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = write.timeout(std::time::Duration::from_secs(60)).run();
    if run.code != 0 {
        // Let the reader finish instead of waiting for a writer forever.
        drop(std::fs::OpenOptions::new().write(true).open(fifo));
    }
    (run, reader.join().unwrap())
}

/// `send --dry-run` of the signer's letters (with `flags` first).
fn dry_run(tc: &TestCampaign, flags: &[&str]) -> Run {
    let mut cmd = tc.campaign_cmd();
    cmd.args(flags).args(["--dry-run", "--journal"]);
    cmd.arg(tc.journal()).args(SIGNER).run()
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
            .exits(2);
        out.says(&format!("--rate `{rate}`")).says(says);
        assert!(!out.stderr.contains("panicked"), "{rate}: {out:?}");
    }
}

#[test]
fn rates_per_second_minute_and_hour_are_accepted() {
    let tc = TestCampaign::sendable();
    for rate in ["2/s", "30/min", "30", "500/h"] {
        let out = dry_run(&tc, &["send", "--rate", rate]);
        assert_eq!(out.code, 0, "{rate}: {out:?}");
        out.prints("Dry run: 3 would be sent");
    }
}

// ---- -o onto things that are not regular files ----

#[test]
fn output_to_dev_null_writes_and_keeps_the_device() {
    let tc = TestCampaign::new();
    assert!(is_char_device(Path::new("/dev/null")));
    write_court(&tc)
        .args(["-o", "/dev/null"])
        .succeeds()
        .no_stdout();
    assert!(is_char_device(Path::new("/dev/null")));
}

/// A character device of our own (as root: the same device as /dev/null),
/// so that a regression replaces a node in a temp folder, not /dev/null.
#[test]
fn output_to_a_character_device_is_never_replaced_even_with_force() {
    let tc = TestCampaign::new();
    let node = tc.path("null");
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
        .succeeds();
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
    let fifo = tc.path("letters.fifo");
    mkfifo(&fifo);
    for force in [false, true] {
        let mut cmd = write_court(&tc);
        if force {
            cmd.arg("--force");
        }
        cmd.arg("-o").arg(&fifo);
        let (run, got) = through_fifo(cmd, &fifo);
        assert_eq!(run.code, 0, "force={force}: {run:?}");
        assert!(got.contains(DEAR_COURT), "force={force}: {got}");
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
    let dir = tc.path("out");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("sokolova-supreme-court.txt");
    mkfifo(&fifo);
    let mut cmd = write_court(&tc);
    cmd.args(["--force", "--out-dir"]).arg(&dir);
    let (run, got) = through_fifo(cmd, &fifo);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(got.contains(DEAR_COURT), "{got}");
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo());
}

#[test]
fn output_to_dev_stdout_is_standard_output() {
    let tc = TestCampaign::new();
    write_court(&tc)
        .args(["-o", "/dev/stdout"])
        .succeeds()
        .prints(DEAR_COURT);

    // Standard output redirected to a regular file, with --force: the
    // letter lands in that file, appended, and /dev/stdout stays a link.
    let log = tc.file("log.txt", "earlier line\n");
    let file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let was_link = std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| m.is_symlink());
    let status = tc
        .std_cmd()
        .args(["write", "--to", "supreme-court", "--date", DATE])
        .args(["--name", NAME, "--force", "-o", "/dev/stdout"])
        .stdout(Stdio::from(file))
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.starts_with("earlier line\n"), "{written}");
    assert!(written.contains(DEAR_COURT), "{written}");
    if was_link {
        let stdout = std::fs::symlink_metadata("/dev/stdout").unwrap();
        assert!(stdout.is_symlink());
    }
}

#[test]
fn output_through_a_symlink_replaces_the_target_and_keeps_the_link() {
    let tc = TestCampaign::new();
    let target = tc.file("real.txt", "old\n");
    let link = tc.path("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Without --force: refused, naming the file; nothing changes.
    write_court(&tc).arg("-o").arg(&link).exits(2);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
    write_court(&tc)
        .args(["--force", "-o"])
        .arg(&link)
        .succeeds();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    let replaced = std::fs::read_to_string(&target).unwrap();
    assert!(replaced.contains(DEAR_COURT));
}

#[test]
fn output_to_a_folder_is_an_error_naming_out_dir() {
    let tc = TestCampaign::new();
    let out = write_court(&tc).arg("-o").arg(tc.root()).exits(2);
    out.says("is a folder").says("--out-dir");
}

// ---- completions, man, --help ----

#[test]
fn completions_for_every_shell() {
    let tc = TestCampaign::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = tc.cmd().args(["completions", shell]).succeeds().stdout;
        assert!(script.len() > 1000, "{shell}: {script}");
        for word in ["protest-letter", "signatories", "dry-run", "completions"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    tc.cmd().args(["completions", "tcsh"]).exits(2);
}

/// The bash script parses, and completes subcommands and flags in a real bash.
#[test]
fn bash_completion_completes() {
    let tc = TestCampaign::new();
    let out = tc.cmd().args(["completions", "bash"]).succeeds();
    let script = tc.file("protest-letter.bash", &out.stdout);
    let mut syntax = std::process::Command::new("bash");
    syntax.arg("-n").arg(&script).succeeds();
    let complete = |words: &str| {
        let program = format!(
            "source {}; f=$(complete -p protest-letter | sed 's/.*-F \\([^ ]*\\).*/\\1/'); \
             COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             $f protest-letter \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let mut bash = std::process::Command::new("bash");
        bash.arg("-c").arg(program).succeeds().stdout
    };
    let commands = complete("protest-letter ''");
    for command in COMMANDS {
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

/// The README's lines that install completions and man pages work as
/// pasted into a fresh home: each file they write lands in a folder a
/// `mkdir -p` line made first. They are run by bash (zsh and fish need
/// not be installed: the lines are plain sh).
#[test]
fn the_readmes_completion_lines_work_in_a_fresh_home() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let (_, section) = readme
        .split_once("### Shell completions and the man page")
        .expect("README has the completions section");
    let block = section
        .split("```")
        .nth(1)
        .expect("the section has a code block");
    // The lines that write files, the folders they need, and a loop around
    // them; not the lines for other shells' start-up files.
    let lines: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("mkdir -p ")
                || (l.starts_with("protest-letter ") && l.contains(" > "))
                || l.starts_with("for ")
                || *l == "done"
        })
        .collect();
    let writes: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once(" > ").map(|(_, target)| target.trim()))
        .collect();
    for shell in ["bash", "zsh", "fish"] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("completions {shell} > "))),
            "{shell}: {block}"
        );
    }
    for (i, target) in writes.iter().enumerate() {
        let folder = target.rsplit_once('/').unwrap().0;
        let made = lines
            .iter()
            .take_while(|l| !l.ends_with(target))
            .any(|l| *l == format!("mkdir -p {folder}"));
        assert!(
            made,
            "write {i}, {target}: no `mkdir -p {folder}` before it"
        );
    }
    let tc = TestCampaign::new();
    let home = tc.path("fresh-home");
    std::fs::create_dir(&home).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("protest-letter");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bash = std::process::Command::new("bash");
    bash.arg("-c")
        .arg(format!(
            "set -e
{}
",
            lines.join(
                "
"
            )
        ))
        .env("HOME", &home)
        .env("PATH", path)
        .env("PROTEST_LETTER_PROFILE", tc.path("no-profile.toml"));
    bash.succeeds();
    for file in [
        ".local/share/bash-completion/completions/protest-letter",
        ".zfunc/_protest-letter",
        ".config/fish/completions/protest-letter.fish",
        ".local/share/man/man1/protest-letter.1",
        ".local/share/man/man1/protest-letter-send.1",
    ] {
        let written = std::fs::read_to_string(home.join(file)).unwrap_or_default();
        assert!(written.contains("protest"), "{file}: {written:?}");
    }
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let tc = TestCampaign::new();
    let page = tc.cmd().arg("man").succeeds().stdout;
    assert!(page.contains(".TH protest-letter 1"), "{page}");
    for command in COMMANDS {
        assert!(
            page.contains(&format!("protest\\-letter\\-{command}(1)")),
            "{command}"
        );
    }
    let send = tc.cmd().args(["man", "send"]).succeeds();
    send.prints(".TH protest-letter-send 1")
        .prints("\\-\\-dry\\-run")
        .prints(".SH EXAMPLES\n.nf\n")
        .prints("send \\-\\-dry\\-run")
        .prints(".TH protest-letter-send 1  \"protest-letter 0.1.0\"");
    let bad = tc.cmd().args(["man", "sned"]).exits(2);
    bad.says("one of: list, check, write, send");
}

#[test]
fn every_command_has_examples_in_its_help() {
    let tc = TestCampaign::new();
    let help = |args: &[&str]| tc.cmd().args(args).arg("--help").succeeds().stdout;
    assert!(help(&[]).contains("Examples:"));
    for command in COMMANDS {
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
    let mbox = |before: &[&str], after: &[&str]| {
        tc.cmd()
            .env("SOURCE_DATE_EPOCH", "1795000000")
            .args(before)
            .args(["write", "--name", NAME, "--email", EMAIL, "--date", DATE])
            .args(["--format", "mbox"])
            .args(after)
            .succeeds()
    };
    let loud = mbox(&[], &[]);
    loud.says("note:").says("warning:");
    let quiet = mbox(&["-q"], &[]);
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    assert_eq!(quiet.stdout, loud.stdout, "-q changes nothing on stdout");
    // After the command works too.
    assert!(mbox(&[], &["--quiet"]).stderr.is_empty());

    // Errors still get through.
    let nobody = ["-q", "write", "--to", "nobody", "--name", NAME];
    tc.cmd().args(nobody).exits(2).says("error:");

    // A dry run: no preview, the summary still on stdout.
    let dry = dry_run(&TestCampaign::sendable(), &["-q", "send"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stderr.is_empty(), "{dry:?}");
    dry.prints("Dry run: 3 would be sent");
}

#[test]
fn verbose_is_global_and_conflicts_with_quiet() {
    let tc = TestCampaign::sendable();
    for args in [&["-v", "send"][..], &["send", "-v"], &["send", "--verbose"]] {
        assert_eq!(dry_run(&tc, args).code, 0, "{args:?}");
    }
    let both = tc.cmd().args(["-q", "-v", "list"]).exits(2);
    both.says("cannot be used with");
}

/// `--help`, the man page and the README name exit code 1 with one word:
/// the delivery state "refused".
#[test]
fn exit_code_one_is_refused_everywhere() {
    let tc = TestCampaign::new();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let row = "| 1 | some letters were refused (the rest were sent); see the summary |";
    assert!(readme.contains(row), "README lacks {row}");
    let help = tc.cmd().arg("--help").succeeds().stdout;
    let line = help
        .lines()
        .find(|l| l.starts_with("Exit codes:"))
        .expect("an exit-code line in --help");
    assert!(
        line.contains("1 some letters were refused (the rest were sent);"),
        "{line}"
    );
    assert!(!line.contains("failed"), "{line}");
    let page = tc.cmd().arg("man").succeeds().stdout;
    assert!(page.contains("some letters were refused"), "man page");
}

/// Completes `words` (the last is the one being typed) in a real bash
/// with the dynamic completion registered as the README says, in `dir`.
fn complete_dynamically(tc: &TestCampaign, dir: &Path, words: &[&str]) -> Vec<String> {
    let binary = assert_cmd::cargo::cargo_bin("protest-letter");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source <(PROTEST_LETTER_COMPLETE=bash '{}'); \
         COMP_WORDS=(protest-letter {}); COMP_CWORD={}; \
         COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
         _clap_complete_protest_letter protest-letter \"${{COMP_WORDS[COMP_CWORD]}}\" \
         \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        binary.display(),
        quoted.join(" "),
        words.len()
    );
    let mut bash = std::process::Command::new("bash");
    bash.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tc.path("home"))
        .current_dir(dir)
        .arg("-c")
        .arg(program);
    let out = bash.succeeds().stdout;
    out.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn to_and_letter_complete_the_campaign_s_ids_not_file_names() {
    let tc = TestCampaign::new();
    tc.work_file("notes.txt", "not a recipient");
    let work = tc.work();
    // The built-in campaign, from a folder without one.
    let to = complete_dynamically(&tc, &work, &["write", "--to", ""]);
    assert_eq!(
        to,
        [
            "supreme-court",
            "foreign-ministry",
            "presidential-administration",
            "embassy"
        ],
        "{to:?}"
    );
    let letter = complete_dynamically(&tc, &work, &["send", "ku"]);
    assert_eq!(letter, ["kuramshin"], "{letter:?}");
    // --campaign's own ids.
    tc.replace_all(
        "recipients.toml",
        "id = \"embassy\"",
        "id = \"embassy-london\"",
    );
    let dir = tc.dir().display().to_string();
    let to = complete_dynamically(&tc, &work, &["--campaign", &dir, "send", "--to", "emb"]);
    assert_eq!(to, ["embassy-london"], "{to:?}");
    // The static scripts offer no file names there either (zsh, fish;
    // bash's static script cannot say so).
    let zsh = tc.cmd().args(["completions", "zsh"]).succeeds().stdout;
    assert!(zsh.contains("own recipients]:ID:' \\"), "{zsh}");
    let fish = tc.cmd().args(["completions", "fish"]).succeeds().stdout;
    assert!(
        fish.lines()
            .any(|l| l.contains("-l to ") && l.ends_with(" -r -f"))
    );
}
