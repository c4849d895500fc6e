//! `init`: a campaign of one's own from the binary alone. The copy is the
//! built-in campaign byte for byte; the blank skeleton explains every key
//! and passes `check`; nothing is ever overwritten.

use std::path::Path;

use crate::support::{DATE, NAME, Run, Runs, TestCampaign, file_names};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary in the working folder with `args`, run to its end.
fn run(tc: &TestCampaign, args: &[&str]) -> Run {
    tc.cmd().args(args).run()
}

/// `write --date DATE --name NAME` on the campaign in `work/CAMPAIGN`, with
/// `more` flags: the letter it printed.
fn letter(tc: &TestCampaign, campaign: &[&str], more: &[&str]) -> String {
    let mut cmd = tc.cmd();
    cmd.args(campaign)
        .args(["write", "--date", DATE, "--name", NAME]);
    cmd.args(more).succeeds().stdout
}

#[test]
fn init_copies_the_built_in_campaign_and_says_what_next() {
    let tc = TestCampaign::new();
    let out = tc.cmd().args(["init", "mine"]).succeeds();
    let dir = tc.work().join("mine");
    assert_eq!(
        std::fs::read(dir.join("recipients.toml")).unwrap(),
        std::fs::read(repo().join("recipients.toml")).unwrap(),
        "recipients.toml with its comments"
    );
    let letters = file_names(&repo().join("letters"));
    assert_eq!(file_names(&dir.join("letters")), letters);
    assert!(letters.iter().any(|l| l.starts_with('_')), "partials too");
    for name in &letters {
        let copy = std::fs::read(dir.join("letters").join(name)).unwrap();
        assert_eq!(
            copy,
            std::fs::read(repo().join("letters").join(name)).unwrap(),
            "{name}"
        );
    }
    for step in [
        "recipients.toml",
        "placeholder",
        "protest-letter --campaign mine check",
        "protest-letter --campaign mine write",
        "protest-letter --campaign mine send --dry-run",
    ] {
        out.prints(step);
    }

    // The copy is a working campaign that renders what the built-in one does.
    tc.cmd().args(["--campaign", "mine", "check"]).succeeds();
    let court = ["--to", "supreme-court"];
    let from_copy = letter(&tc, &["--campaign", "mine"], &court);
    assert_eq!(from_copy, letter(&tc, &[], &court));
    // Run inside the folder, it is that folder's campaign.
    let mut inside = tc.cmd();
    let listing = inside.current_dir(&dir).arg("list").succeeds();
    listing.prints(&dir.display().to_string());
}

#[test]
fn init_blank_is_a_minimal_campaign_that_passes_check() {
    let tc = TestCampaign::new();
    let out = tc.cmd().args(["init", "--blank", "blank"]).succeeds();
    let dir = tc.work().join("blank");
    assert_eq!(file_names(&dir), ["letters", "recipients.toml"]);
    assert_eq!(file_names(&dir.join("letters")), ["letter.txt"]);
    out.prints("protest-letter --campaign blank check");

    // check: success; its only complaint is the placeholder addresses.
    let report = tc.cmd().args(["--campaign", "blank", "check"]).succeeds();
    let report = format!("{}{}", report.stdout, report.stderr);
    assert!(report.contains("1 letter, 1 recipient,"), "{report}");
    assert!(!report.contains("error"), "{report}");
    for line in report.lines().filter(|l| l.contains("warning:")) {
        assert!(line.contains("placeholder"), "{line}");
    }

    // It renders, for one signer and for a petition.
    let blank = ["--campaign", "blank"];
    let one = letter(&tc, &blank, &["--organisation", "Unite Branch 42"]);
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
    let members = "name,organisation\nAi Tanaka,GMB\nBo Berg,\n";
    tc.work_file("members.csv", members);
    let petition = letter(&tc, &blank, &["--signatories", "members.csv", "--group"]);
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
    tc.cmd().args(["init", "--blank", "b"]).succeeds();
    let read = |file: &str| std::fs::read_to_string(tc.work().join(file)).unwrap();
    let recipients = read("b/recipients.toml");
    let keys = "name description copies_to default_letter deadline id title \
                salutation email cc phone address language countries";
    for key in keys.split_whitespace() {
        assert!(
            recipients.contains(&format!("# {key}:")),
            "recipients.toml: {key}"
        );
    }
    let letter = read("b/letters/letter.txt");
    for key in ["subject", "description", "recipients", "talking_points"] {
        assert!(letter.contains(&format!("# {key}:")), "letter.txt: {key}");
    }
    for variable in "recipient signer signatories campaign letter date".split(' ') {
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
    tc.work_file("half/letters/letter.txt", "my own letter\n");
    let out = run(&tc, &["init", "--blank", "half"]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("half/letters/letter.txt already exists")
        .says("nothing was written");
    assert!(
        !dir.join("recipients.toml").exists(),
        "nothing may be written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("letters/letter.txt")).unwrap(),
        "my own letter\n"
    );

    // The full copy into an existing campaign: refused, all files intact.
    tc.cmd().args(["init", "full"]).succeeds();
    let recipients = tc.work_file("full/recipients.toml", "# mine\n");
    let out = run(&tc, &["init", "full"]);
    assert_eq!(out.code, 2, "{out:?}");
    out.says("full/recipients.toml and");
    assert_eq!(std::fs::read_to_string(&recipients).unwrap(), "# mine\n");
    // A symbolic link counts as an existing file, even a dangling one.
    let linked = tc.work().join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink("nowhere.toml", linked.join("recipients.toml")).unwrap();
    assert_eq!(run(&tc, &["init", "--blank", "linked"]).code, 2);
    assert!(!linked.join("letters").exists());
}

#[test]
fn init_defaults_to_campaign_flag_then_here_and_is_quiet_with_q() {
    let tc = TestCampaign::new();
    let flagged = ["--campaign", "flagged", "init", "--blank"];
    tc.cmd().args(flagged).succeeds();
    assert!(tc.work().join("flagged/recipients.toml").is_file());

    let here = tc.work().join("here");
    std::fs::create_dir_all(&here).unwrap();
    let mut cmd = tc.cmd();
    let out = cmd.current_dir(&here).args(["-q", "init"]).succeeds();
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert!(here.join("letters/sokolova.txt").is_file());
    // Without -q, in the folder itself: commands without --campaign.
    let other = tc.work().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut cmd = tc.cmd();
    let out = cmd.current_dir(&other).args(["init", "--blank"]).succeeds();
    out.prints("  2. Check the campaign:      protest-letter check");
}

/// A broken profile must not stop commands that do not use it.
#[test]
fn init_completions_and_man_ignore_a_broken_profile() {
    let tc = TestCampaign::new();
    let profile = tc.file("broken.toml", "name = [unclosed\n");
    let with_profile = |args: &[&str]| {
        let mut cmd = tc.cmd();
        cmd.env("PROTEST_LETTER_PROFILE", &profile).args(args).run()
    };
    for args in [
        &["init", "--blank", "x"][..],
        &["completions", "bash"],
        &["man"],
    ] {
        assert_eq!(with_profile(args).code, 0, "{args:?}");
    }
    // …while the commands that do use it still report it.
    assert_eq!(with_profile(&["write", "--name", NAME]).code, 2);
}

#[test]
fn init_next_steps_say_to_move_the_copy_s_2011_deadline() {
    let tc = TestCampaign::new();
    let out = tc.cmd().args(["init", "mine"]).succeeds();
    out.prints("set `deadline` in [campaign]")
        .prints("`send` refuses after the copy's 2011-12-31");
    // The blank skeleton has no deadline set, so nothing to move.
    let blank = tc.cmd().args(["init", "--blank", "blank"]).succeeds();
    assert!(!blank.stdout.contains("deadline"), "{blank:?}");
}

#[test]
fn the_blank_skeleton_documents_the_real_default_salutation() {
    let tc = TestCampaign::new();
    tc.cmd().args(["init", "--blank", "blank"]).succeeds();
    let path = tc.work().join("blank/recipients.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let comment = text
        .lines()
        .find(|l| l.starts_with("# salutation:"))
        .expect("the salutation's comment");
    let documented = comment
        .split("default \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a documented default");
    // Without a salutation, the letter greets with what the comment says.
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("salutation = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    let letter = letter(&tc, &["--campaign", "blank"], &[]);
    assert!(letter.contains(&format!("\n{documented},\n")), "{letter}");
}
