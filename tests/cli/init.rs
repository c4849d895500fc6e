//! `init`: a campaign of one's own from the binary alone. The copy is the
//! built-in campaign byte for byte; the blank skeleton explains every key
//! and passes `check`; nothing is ever overwritten.

use std::path::Path;

use crate::support::{DATE, NAME, TestCampaign, all_output, text};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// File names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn init_copies_the_built_in_campaign_and_says_what_next() {
    let tc = TestCampaign::new();
    let out = tc
        .cmd()
        .args(["init", "mine"])
        .assert()
        .success()
        .get_output()
        .clone();
    let dir = tc.work().join("mine");
    assert_eq!(
        std::fs::read(dir.join("recipients.toml")).unwrap(),
        std::fs::read(repo().join("recipients.toml")).unwrap(),
        "recipients.toml with its comments"
    );
    let letters = names(&repo().join("letters"));
    assert_eq!(names(&dir.join("letters")), letters);
    assert!(letters.iter().any(|l| l.starts_with('_')), "partials too");
    for name in &letters {
        assert_eq!(
            std::fs::read(dir.join("letters").join(name)).unwrap(),
            std::fs::read(repo().join("letters").join(name)).unwrap(),
            "{name}"
        );
    }
    let stdout = text(&out.stdout);
    for step in [
        "recipients.toml",
        "placeholder",
        "protest-letter --campaign mine check",
        "protest-letter --campaign mine write",
        "protest-letter --campaign mine send --dry-run",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }

    // The copy is a working campaign that renders what the built-in one does.
    tc.cmd()
        .args(["--campaign", "mine", "check"])
        .assert()
        .success();
    let letter = |cmd: &mut assert_cmd::Command| {
        text(
            &cmd.args([
                "write",
                "--to",
                "supreme-court",
                "--date",
                DATE,
                "--name",
                NAME,
            ])
            .assert()
            .success()
            .get_output()
            .stdout,
        )
    };
    let from_copy = letter(tc.cmd().args(["--campaign", "mine"]));
    let built_in = letter(&mut tc.cmd());
    assert_eq!(from_copy, built_in);
    // Run inside the folder, it is that folder's campaign.
    let mut inside = tc.cmd();
    inside.current_dir(&dir).arg("list");
    let listing = text(&inside.assert().success().get_output().stdout);
    assert!(listing.contains(&dir.display().to_string()), "{listing}");
}

#[test]
fn init_blank_is_a_minimal_campaign_that_passes_check() {
    let tc = TestCampaign::new();
    let out = tc
        .cmd()
        .args(["init", "--blank", "blank"])
        .assert()
        .success()
        .get_output()
        .clone();
    let dir = tc.work().join("blank");
    assert_eq!(names(&dir), ["letters", "recipients.toml"]);
    assert_eq!(names(&dir.join("letters")), ["letter.txt"]);
    assert!(text(&out.stdout).contains("protest-letter --campaign blank check"));

    // check: success; its only complaint is the placeholder addresses.
    let check = tc
        .cmd()
        .args(["--campaign", "blank", "check"])
        .assert()
        .success()
        .get_output()
        .clone();
    let report = all_output(&check);
    assert!(report.contains("1 letters, 1 recipients"), "{report}");
    assert!(!report.contains("error"), "{report}");
    for line in report.lines().filter(|l| l.contains("warning:")) {
        assert!(line.contains("placeholder"), "{line}");
    }

    // It renders, for one signer and for a petition.
    let one = tc
        .cmd()
        .args([
            "--campaign",
            "blank",
            "write",
            "--date",
            DATE,
            "--name",
            NAME,
        ])
        .args(["--organisation", "Unite Branch 42"])
        .assert()
        .success()
        .get_output()
        .clone();
    let one = text(&one.stdout);
    assert!(
        one.starts_with("The Minister of Labour\nMinistry of Labour\n"),
        "{one}"
    );
    assert!(one.contains("Dear Minister,"), "{one}");
    assert!(
        one.contains("I write on behalf of Unite Branch 42."),
        "{one}"
    );
    assert!(
        one.trim_end().ends_with("Jo Bloggs\nUnite Branch 42"),
        "{one}"
    );
    std::fs::write(
        tc.work().join("members.csv"),
        "name,organisation\nAi Tanaka,GMB\nBo Berg,\n",
    )
    .unwrap();
    let petition = tc
        .cmd()
        .args([
            "--campaign",
            "blank",
            "write",
            "--date",
            DATE,
            "--name",
            NAME,
        ])
        .args(["--signatories", "members.csv", "--group"])
        .assert()
        .success()
        .get_output()
        .clone();
    let petition = text(&petition.stdout);
    assert!(petition.contains("We write to ask"), "{petition}");
    assert!(
        petition.trim_end().ends_with("Ai Tanaka (GMB)\nBo Berg"),
        "{petition}"
    );
}

/// Every key the campaign format has is explained by a comment in the
/// blank skeleton (`# key:`), so an organiser needs no manual to start.
#[test]
fn init_blank_explains_every_key() {
    let tc = TestCampaign::new();
    tc.cmd().args(["init", "--blank", "b"]).assert().success();
    let recipients = std::fs::read_to_string(tc.work().join("b/recipients.toml")).unwrap();
    for key in [
        "name",
        "description",
        "copies_to",
        "default_letter",
        "deadline",
        "id",
        "title",
        "salutation",
        "email",
        "cc",
        "phone",
        "address",
        "language",
        "countries",
    ] {
        assert!(
            recipients.contains(&format!("# {key}:")),
            "recipients.toml: {key}"
        );
    }
    let letter = std::fs::read_to_string(tc.work().join("b/letters/letter.txt")).unwrap();
    for key in ["subject", "description", "recipients", "talking_points"] {
        assert!(letter.contains(&format!("# {key}:")), "letter.txt: {key}");
    }
    for variable in [
        "recipient",
        "signer",
        "signatories",
        "campaign",
        "letter",
        "date",
    ] {
        assert!(
            letter.contains(&format!("\n      {variable} ")),
            "letter.txt: {variable}"
        );
    }
}

#[test]
fn init_refuses_before_writing_anything_and_names_the_file() {
    let tc = TestCampaign::new();
    let dir = tc.work().join("half");
    std::fs::create_dir_all(dir.join("letters")).unwrap();
    std::fs::write(dir.join("letters/letter.txt"), "my own letter\n").unwrap();
    let out = tc
        .cmd()
        .args(["init", "--blank", "half"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("half/letters/letter.txt already exists"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        !dir.join("recipients.toml").exists(),
        "nothing may be written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("letters/letter.txt")).unwrap(),
        "my own letter\n"
    );

    // The full copy into an existing campaign: refused, all files intact.
    tc.cmd().args(["init", "full"]).assert().success();
    let recipients = tc.work().join("full/recipients.toml");
    std::fs::write(&recipients, "# mine\n").unwrap();
    let out = tc
        .cmd()
        .args(["init", "full"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        text(&out.stderr).contains("full/recipients.toml and"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&recipients).unwrap(), "# mine\n");
    // A symbolic link counts as an existing file, even a dangling one.
    let linked = tc.work().join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink("nowhere.toml", linked.join("recipients.toml")).unwrap();
    tc.cmd()
        .args(["init", "--blank", "linked"])
        .assert()
        .code(2);
    assert!(!linked.join("letters").exists());
}

#[test]
fn init_defaults_to_campaign_flag_then_here_and_is_quiet_with_q() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args(["--campaign", "flagged", "init", "--blank"])
        .assert()
        .success();
    assert!(tc.work().join("flagged/recipients.toml").is_file());

    let here = tc.work().join("here");
    std::fs::create_dir_all(&here).unwrap();
    let mut cmd = tc.cmd();
    let out = cmd
        .current_dir(&here)
        .args(["-q", "init"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        all_output(&out)
    );
    assert!(here.join("letters/sokolova.txt").is_file());
    // Without -q, in the folder itself: commands without --campaign.
    let other = tc.work().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut cmd = tc.cmd();
    let out = cmd
        .current_dir(&other)
        .args(["init", "--blank"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  2. Check the campaign:      protest-letter check"),
        "{stdout}"
    );
}

/// A broken profile must not stop commands that do not use it.
#[test]
fn init_completions_and_man_ignore_a_broken_profile() {
    let tc = TestCampaign::new();
    let profile = tc.root().join("broken.toml");
    std::fs::write(&profile, "name = [unclosed\n").unwrap();
    for args in [
        &["init", "--blank", "x"][..],
        &["completions", "bash"],
        &["man"],
    ] {
        tc.cmd()
            .env("PROTEST_LETTER_PROFILE", &profile)
            .args(args)
            .assert()
            .success();
    }
    // …while the commands that do use it still report it.
    tc.cmd()
        .env("PROTEST_LETTER_PROFILE", &profile)
        .args(["write", "--name", NAME])
        .assert()
        .code(2);
}
