//! Every example in `--help` (the tool's and each command's) runs as
//! written, in bash, with a home folder of its own. The examples that
//! would really send get `--dry-run` added (a dry run never opens a
//! connection, so no test reaches the network); `msmtp` and `man` are
//! stand-ins that keep what they are given.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{COMMANDS, Runs, TestCampaign};

/// The examples of one help text: each command (a `\` at the end of a line
/// continues it) in the block after `Examples:`, as typed; comment lines
/// left out. Checks that every line of the block is a comment, a command
/// or a continuation: a line the help wrapped would be neither.
fn examples(help: &str) -> Vec<String> {
    let block = help
        .split_once("Examples:\n")
        .map_or("", |(_, rest)| rest.split("\n\n").next().unwrap_or(""));
    let mut out: Vec<String> = Vec::new();
    let mut continued = false;
    for line in block.lines() {
        let text = line.trim();
        if continued {
            let last = out.last_mut().unwrap();
            last.push('\n');
            last.push_str(text);
        } else if text.starts_with('#') {
            continue;
        } else {
            assert!(
                ["protest-letter ", "cd ", "mkdir ", "source "]
                    .iter()
                    .any(|start| text.starts_with(start)),
                "not a command (wrapped by --help?): {line:?} in\n{help}"
            );
            out.push(text.to_string());
        }
        continued = text.ends_with('\\');
    }
    out
}

/// `example` as run by the test: a real send becomes a dry run.
fn as_run(example: &str) -> String {
    if example.contains("send") && !example.contains("--dry-run") {
        example.replace("protest-letter send", "protest-letter send --dry-run")
    } else {
        example.to_string()
    }
}

/// A folder on PATH with `protest-letter` and the stand-ins for `msmtp`
/// and `man`, which keep their input in `$HOME/<name>.in`.
fn bin_dir(tc: &TestCampaign) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = tc.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ours = assert_cmd::cargo::cargo_bin("protest-letter");
    std::os::unix::fs::symlink(ours, bin.join("protest-letter")).unwrap();
    for name in ["msmtp", "man"] {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\ncat > \"$HOME/{name}.in\"\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// bash running `script` in `dir`, with nothing of the caller's
/// environment but PATH (ours first).
fn bash(tc: &TestCampaign, bin: &Path, dir: &Path, script: &str) -> Command {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", tc.path("home"))
        .env("XDG_CONFIG_HOME", tc.path("config"))
        .env("XDG_DATA_HOME", tc.path("data"))
        .env("LC_ALL", "C.UTF-8")
        .env("PROTEST_LETTER_PROFILE", tc.path("no-profile.toml"))
        .args(["-o", "pipefail", "-c", script])
        .current_dir(dir);
    cmd
}

#[test]
fn every_example_in_help_runs_as_written() {
    let tc = TestCampaign::new();
    let bin = bin_dir(&tc);
    let members = "name,email,country\nJo Bloggs,jo@union.org,GB\nAnn Lee,ann@union.org,GB\n";
    let mut helps = vec![(
        "protest-letter".to_string(),
        tc.cmd().arg("--help").succeeds().stdout,
    )];
    for command in COMMANDS {
        let help = tc.cmd().args([command, "--help"]).succeeds().stdout;
        helps.push((format!("protest-letter {command}"), help));
    }
    let mut ran = 0;
    for (n, (whose, help)) in helps.iter().enumerate() {
        let examples = examples(help);
        assert!(!examples.is_empty(), "{whose} --help has no examples");
        for (i, example) in examples.iter().enumerate() {
            // A fresh folder with a members' list and a campaign of one's
            // own, as the examples assume (unless they make it).
            let dir = tc.root().join(format!("run-{n}-{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("members.csv"), members).unwrap();
            if !example.contains(" init ") {
                bash(&tc, &bin, &dir, "protest-letter init my-campaign").succeeds();
            }
            let script = as_run(example);
            let out = bash(&tc, &bin, &dir, &script).run();
            assert_eq!(out.code, 0, "{whose} --help: {script}\n{out:?}");
            if script != *example {
                out.says("dry run: nothing was sent");
            }
            ran += 1;
        }
    }
    assert!(ran >= 20, "only {ran} examples");
    // What went through a pipe reached the program at its end.
    for (name, starts) in [("msmtp", "From: "), ("man", ".TH protest-letter")] {
        let got = std::fs::read_to_string(tc.path("home").join(format!("{name}.in"))).unwrap();
        assert!(got.contains(starts), "{name} got: {got}");
    }
    // Completions and man pages landed where the examples put them.
    for file in [
        ".local/share/bash-completion/completions/protest-letter",
        ".zfunc/_protest-letter",
        ".config/fish/completions/protest-letter.fish",
        ".local/share/man/man1/protest-letter-send.1",
    ] {
        let path = tc.path("home").join(file);
        assert!(path.metadata().is_ok_and(|m| m.len() > 0), "{file}");
    }
}

#[test]
fn a_dry_run_to_placeholder_addresses_warns_and_a_real_send_refuses() {
    let tc = TestCampaign::new();
    let args = ["send", "--name", "Jo Bloggs", "--email", "jo@example.org"];
    let dry = tc.cmd().args(args).arg("--dry-run").succeeds();
    dry.says("warning: a real send refuses these placeholder addresses:")
        .says(" <supreme-court@placeholder.invalid>")
        .says("dry run: nothing was sent");
    let real = tc
        .cmd()
        .args(args)
        .args(["--after-deadline", "--sendmail", "/bin/false", "--yes"])
        .exits(2);
    real.says("refusing to send to placeholder addresses:");
}
