//! Where settings come from: an error about a value names where it was
//! given (the flag, or the profile's file and key), `organisation` is
//! taken in both spellings everywhere, and `--campaign` is a folder.

use std::path::PathBuf;

use crate::support::{DATE, NAME, Run, Runs, TestCampaign};

/// `send --dry-run` of a sendable campaign signed by one person, with
/// `profile` as the profile (and its path).
fn send_with_profile(tc: &TestCampaign, profile: &str, extra: &[&str]) -> (Run, PathBuf) {
    let path = tc.file("profile.toml", profile);
    let mut cmd = tc.send().signer().with(["--yes"]).with(extra);
    cmd.env("PROTEST_LETTER_PROFILE", &path);
    (cmd.run(), path)
}

#[test]
fn a_profile_value_is_blamed_on_the_profile_not_a_flag() {
    let tc = TestCampaign::sendable();
    let not_a_cert = tc.file("notes.txt", "my server's certificate\n");
    let missing = tc.path("nowhere/ca.pem");
    let cases = [
        (
            "[smtp]\nurl = \"smtp://jo:S3cret@127.0.0.1:1\"\n".to_string(),
            "[smtp] url: the URL contains a password",
        ),
        (
            "[smtp]\nurl = \"ftp://127.0.0.1:1\"\n".to_string(),
            "[smtp] url: unknown scheme `ftp`",
        ),
        (
            "[smtp]\nurl = \"smtp://\"\n".to_string(),
            "[smtp] url: the URL has no host",
        ),
        (
            format!(
                "[smtp]\nurl = \"smtp://127.0.0.1:1\"\nca_cert = \"{}\"\n",
                missing.display()
            ),
            "[smtp] ca_cert: cannot read the certificate file",
        ),
        (
            format!(
                "[smtp]\nurl = \"smtp://127.0.0.1:1\"\nca_cert = \"{}\"\n",
                not_a_cert.display()
            ),
            "[smtp] ca_cert: ",
        ),
        (
            "lang = \"Russian!\"\n[smtp]\nurl = \"smtp://127.0.0.1:1\"\n".to_string(),
            "lang `Russian!` is not a language tag",
        ),
    ];
    for (profile, says) in cases {
        let (out, path) = send_with_profile(&tc, &profile, &[]);
        assert_eq!(out.code, 2, "{profile}: {out:?}");
        out.says(&format!("profile {}, {says}", path.display()));
        for flag in ["--smtp:", "--ca-cert", "--lang `"] {
            assert!(!out.stderr.contains(flag), "{profile}: {out:?}");
        }
        assert!(!out.all().contains("S3cret"), "{out:?}");
    }
    // A flag's value is still blamed on the flag, and beats the profile.
    let (out, _) = send_with_profile(
        &tc,
        "[smtp]\nurl = \"smtp://127.0.0.1:1\"\n",
        &["--smtp", "smtp://jo:S3cret@127.0.0.1:1"],
    );
    out.says("--smtp: the URL contains a password");
    assert!(!out.all().contains("S3cret"), "{out:?}");
    let mut cmd = tc.send().signer().with(["--smtp", "smtp://127.0.0.1:1"]);
    cmd.arg("--ca-cert").arg(&not_a_cert);
    let out = cmd.exits(2);
    out.says(&format!(
        "--ca-cert: {} is not a certificate",
        not_a_cert.display()
    ));
}

/// `write` to the court in English, signed by [`NAME`], with `profile`.
fn write_with_profile(tc: &TestCampaign, profile: &str) -> assert_cmd::Command {
    let path = tc.file("profile.toml", profile);
    let mut cmd = tc.cmd();
    cmd.args([
        "write",
        "--to",
        "supreme-court",
        "--lang",
        "en",
        "--date",
        DATE,
    ])
    .args(["--name", NAME])
    .env("PROTEST_LETTER_PROFILE", path);
    cmd
}

#[test]
fn organisation_is_taken_in_both_spellings_and_both_at_once_is_an_error() {
    let tc = TestCampaign::new();
    let signed_for = |out: &Run| out.stdout.lines().last().unwrap_or("").to_string();
    // The profile.
    let out = write_with_profile(&tc, "organization = \"Branch Z\"\n").succeeds();
    assert_eq!(signed_for(&out), "Branch Z");
    let both = "organisation = \"Branch S\"\norganization = \"Branch Z\"\n";
    let out = write_with_profile(&tc, both).exits(2);
    out.says("both `organisation` and `organization` are set")
        .says("profile.toml:2:16");
    // The environment.
    let mut cmd = write_with_profile(&tc, "");
    cmd.env("PROTEST_LETTER_ORGANIZATION", "Env Z");
    assert_eq!(signed_for(&cmd.succeeds()), "Env Z");
    let mut cmd = write_with_profile(&tc, "");
    cmd.env("PROTEST_LETTER_ORGANIZATION", "Env Z")
        .env("PROTEST_LETTER_ORGANISATION", "Env S");
    cmd.exits(2)
        .says("both PROTEST_LETTER_ORGANISATION and PROTEST_LETTER_ORGANIZATION are set");
    // The flags.
    let mut cmd = write_with_profile(&tc, "");
    cmd.args(["--organization", "Flag Z"]);
    assert_eq!(signed_for(&cmd.succeeds()), "Flag Z");
    let mut cmd = write_with_profile(&tc, "");
    cmd.args(["--organisation", "Flag S", "--organization", "Flag Z"]);
    cmd.exits(2).says("--organisation").says("--organization");
}

#[test]
fn a_file_given_as_the_campaign_folder_is_named_a_file_with_its_folder() {
    let tc = TestCampaign::new();
    std::fs::create_dir_all(tc.work().join("mine")).unwrap();
    tc.work_file("mine/recipients.toml", tc.read("recipients.toml"));
    let out = tc
        .cmd()
        .args(["--campaign", "mine/recipients.toml", "list"])
        .exits(2);
    out.says("--campaign mine/recipients.toml: that is a file")
        .says("--campaign mine");
    assert!(!out.stderr.contains("does not exist"), "{out:?}");
    let out = tc
        .cmd()
        .args(["--campaign", "mine/recipients.toml", "completions", "bash"])
        .succeeds();
    assert!(out.stdout.contains("protest-letter"));
}
