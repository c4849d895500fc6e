//! The built-in mail providers: `list --providers`, the server picked from
//! the sender's address or `--provider`, and the plan shown before the
//! first letter (recipients, days at the daily limit, time at the rate).
//! Nothing here reaches a provider: runs are dry, or go to 127.0.0.1.

use serde_json::Value;

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{NAME, Run, Runs, TestCampaign, array, members_csv, serving};

/// `send --dry-run` as [`NAME`] in Britain from `email`, plus `extra`.
fn dry_run(tc: &TestCampaign, email: &str, extra: &[&str]) -> Run {
    tc.send().with(dry_run_as(email)).with(extra).succeeds()
}

/// The plan's line starting with `start` (after its indent).
/// A dry run of one signer's letters through a local server.
fn local_dry_run(tc: &TestCampaign, server: &SmtpServer) -> Run {
    tc.send()
        .signer()
        .smtp(server)
        .with(["--dry-run"])
        .succeeds()
}

/// A dry run's words for one signer writing from `email`.
fn dry_run_as(email: &str) -> [&str; 7] {
    [
        "--dry-run",
        "--name",
        NAME,
        "--country",
        "GB",
        "--email",
        email,
    ]
}

/// Asserts that the plan's line starting `start` is `expected`.
fn expect_plan(run: &Run, start: &str, expected: &str) {
    assert_eq!(plan_line(run, start), expected);
}

fn plan_line<'a>(run: &'a Run, start: &str) -> &'a str {
    run.stderr
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?}: {run:?}"))
}

#[test]
fn list_providers_covers_every_required_domain() {
    let tc = TestCampaign::new();
    let json = tc
        .cmd()
        .args(["list", "--providers", "--format", "json"])
        .succeeds()
        .json();
    let providers = array(&json["providers"]);
    let serving_domain = |domain: &str| -> &Value {
        providers
            .iter()
            .find(|p| array(&p["domains"]).iter().any(|d| d == domain))
            .unwrap_or_else(|| panic!("no provider for {domain}: {json}"))
    };
    for (domain, host) in [
        ("gmail.com", "smtp.gmail.com"),
        ("googlemail.com", "smtp.gmail.com"),
        ("outlook.com", "smtp-mail.outlook.com"),
        ("hotmail.com", "smtp-mail.outlook.com"),
        ("live.com", "smtp-mail.outlook.com"),
        ("yahoo.com", "smtp.mail.yahoo.com"),
        ("icloud.com", "smtp.mail.me.com"),
        ("me.com", "smtp.mail.me.com"),
        ("mac.com", "smtp.mail.me.com"),
        ("fastmail.com", "smtp.fastmail.com"),
        ("mail.ru", "smtp.mail.ru"),
        ("yandex.ru", "smtp.yandex.com"),
        ("gmx.de", "mail.gmx.net"),
        ("gmx.net", "mail.gmx.net"),
        ("gmx.com", "mail.gmx.com"),
        ("gmx.*", "mail.gmx.com"),
        ("web.de", "smtp.web.de"),
        ("posteo.de", "posteo.de"),
        ("mailbox.org", "smtp.mailbox.org"),
        ("proton.me", "127.0.0.1"),
        ("protonmail.com", "127.0.0.1"),
    ] {
        let p = serving_domain(domain);
        assert_eq!(p["host"], host, "{domain}: {p}");
        assert!(p["port"].as_u64().is_some(), "{p}");
        assert!(
            ["implicit", "starttls"].contains(&p["tls"].as_str().unwrap()),
            "{p}"
        );
        assert!(!array(&p["logins"]).is_empty(), "{p}");
        for source in [&p["server_source"], &p["limits_source"]] {
            assert!(
                source["url"].as_str().unwrap().starts_with("https://"),
                "{p}"
            );
            assert!(source["checked"].as_str().unwrap().len() == 10, "{p}");
        }
    }
    // The figures, and Bridge on this machine.
    let gmail = serving_domain("gmail.com");
    assert_eq!(gmail["limits"]["recipients_per_day"], 500);
    assert_eq!(gmail["limits"]["recipients_per_message"], 100);
    let proton = serving_domain("proton.me");
    assert_eq!(
        (proton["port"].as_u64(), proton["tls"].as_str()),
        (Some(1025), Some("starttls"))
    );
    let by_name = |name: &str| providers.iter().find(|p| p["name"] == name).unwrap();
    assert_eq!(
        by_name("google-workspace")["limits"]["messages_per_day"],
        2000
    );
    let m365 = &by_name("microsoft365")["limits"];
    assert_eq!(
        (
            m365["messages_per_minute"].as_u64(),
            m365["recipients_per_day"].as_u64()
        ),
        (Some(30), Some(10_000))
    );
    // Not published: unknown, not a guess.
    assert_eq!(
        serving_domain("web.de")["limits"]["recipients_per_day"],
        Value::Null
    );

    // For people: every provider by name, its server, and its sources.
    let text = tc.cmd().args(["list", "--providers"]).succeeds();
    for needle in [
        "gmail  Gmail",
        "addresses: gmail.com, googlemail.com",
        "server:    smtp.gmail.com:465 (TLS)",
        "limits:    500 recipients a day",
        "https://support.google.com/mail/answer/22839 (read 2026-12-07)",
        "addresses: your own domain: --provider microsoft365",
        "server:    127.0.0.1:1025 (STARTTLS)",
        "limits:    not published",
    ] {
        text.prints(needle);
    }
}

#[test]
fn a_gmail_address_sends_through_gmail_and_plans_with_its_limits() {
    let tc = TestCampaign::sendable();
    let out = dry_run(&tc, "jo@gmail.com", &[]);
    // The default letter: three emails, to 5 + 3 + 3 addresses.
    expect_plan(
        &out,
        "plan:",
        "plan: 3 letters to 11 recipients in all (To, Cc and Bcc)",
    );
    expect_plan(
        &out,
        "server:",
        "server: smtps://jo%40gmail.com@smtp.gmail.com:465, Gmail (from the address's domain gmail.com)",
    );
    plan_line(&out, "Gmail's limits: 500 recipients a day");
    expect_plan(
        &out,
        "days:",
        "days: 1 at 500 recipients a day (Gmail's limit)",
    );
    out.prints("Dry run: 3 would be sent");

    // The example: 150 members, five recipients a letter, take two
    // days of a Gmail account's limit.
    let list = tc.work_file("members.csv", members_csv(150));
    let out = tc
        .send()
        .with([
            "--dry-run",
            "--to",
            "supreme-court",
            "--email",
            "branch@gmail.com",
        ])
        .with([std::ffi::OsStr::new("--signatories"), list.as_os_str()])
        .succeeds();
    expect_plan(
        &out,
        "plan:",
        "plan: 150 letters to 750 recipients in all (To, Cc and Bcc)",
    );
    expect_plan(
        &out,
        "days:",
        "days: 2 at 500 recipients a day (Gmail's limit)",
    );
}

#[test]
fn the_plans_count_is_what_the_server_receives() {
    let (tc, server) = serving(ServerConfig::default());
    let planned = |extra: &[&str]| -> u64 {
        let out = tc
            .send()
            .signer()
            .smtp(&server)
            .with(["--dry-run"])
            .with(extra)
            .succeeds();
        let line = plan_line(&out, "plan:").to_string();
        line.split(" to ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(planned(&[]), 11);
    // A blind copy to the signer is one more recipient a letter.
    assert_eq!(planned(&["--bcc-me"]), 14);
    server.assert_untouched();

    tc.send()
        .signer()
        .smtp(&server)
        .with(["--yes", "--bcc-me"])
        .succeeds();
    let received: usize = server.received().iter().map(|r| r.rcpt_to.len()).sum();
    assert_eq!(received, 14);
    // Sent letters are no longer in the plan.
    let out = local_dry_run(&tc, &server);
    assert!(!out.stderr.contains("plan:"), "{out:?}");
}

#[test]
fn provider_names_the_server_for_an_address_on_ones_own_domain() {
    let tc = TestCampaign::sendable();
    let out = dry_run(&tc, "jo@union.org", &["--provider", "microsoft365"]);
    expect_plan(
        &out,
        "server:",
        "server: smtp://jo%40union.org@smtp.office365.com:587, Microsoft 365 (--provider microsoft365)",
    );
    plan_line(
        &out,
        "Microsoft 365's limits: 10,000 recipients a day, 30 messages a minute",
    );
    // The default rate is the provider's per-minute limit.
    expect_plan(
        &out,
        "time:",
        "time: 4 seconds of sending at 30 messages a minute (Microsoft 365's limit)",
    );
    let out = dry_run(
        &tc,
        "jo@union.org",
        &["--provider", "microsoft365", "--rate", "2/s"],
    );
    expect_plan(
        &out,
        "time:",
        "time: 1 second of sending at 120 messages a minute (--rate)",
    );

    // The same from the profile.
    let profile = tc.file("profile.toml", "[smtp]\nprovider = \"google-workspace\"\n");
    let out = tc
        .send()
        .with(dry_run_as("jo@union.org"))
        .env("PROTEST_LETTER_PROFILE", profile)
        .succeeds();
    expect_plan(
        &out,
        "server:",
        "server: smtps://jo%40union.org@smtp.gmail.com:465, Google Workspace (provider = \"google-workspace\" in the profile)",
    );
    expect_plan(
        &out,
        "time:",
        "time: no --rate, so as fast as the server takes them",
    );
}

#[test]
fn unknown_provider_is_an_error_that_lists_them() {
    let tc = TestCampaign::sendable();
    let out = tc
        .send()
        .with([
            "--dry-run",
            "--name",
            NAME,
            "--email",
            "jo@union.org",
            "--provider",
            "microsoft356",
        ])
        .exits(2);
    out.says("--provider `microsoft356` is not a provider protest-letter knows");
    out.says("did you mean `microsoft365`?");
    out.says("gmail, google-workspace, outlook, microsoft365");
    out.says("list --providers");
    out.no_stdout();

    let profile = tc.file("profile.toml", "[smtp]\nprovider = \"gmial\"\n");
    let out = tc
        .send()
        .with(["--dry-run", "--name", NAME, "--email", "jo@union.org"])
        .env("PROTEST_LETTER_PROFILE", profile)
        .exits(2);
    out.says("the profile's provider `gmial`");
    out.says("did you mean `gmail`?");
}

#[test]
fn daily_limit_is_in_the_plan_for_any_server() {
    let (tc, server) = serving(ServerConfig::default());
    // A local server: no provider, so no daily limit is known…
    let out = local_dry_run(&tc, &server);
    expect_plan(
        &out,
        "days:",
        "days: unknown, no daily limit is known for this server; --daily-limit N sets one",
    );
    // …until --daily-limit gives one: 11 recipients at 4 a day.
    let out = tc
        .send()
        .signer()
        .smtp(&server)
        .with(["--dry-run", "--daily-limit", "4"])
        .succeeds();
    expect_plan(
        &out,
        "days:",
        "days: 3 at 4 recipients a day (your daily limit)",
    );
    assert!(
        plan_line(&out, "warning:")
            .contains("a letter goes to 5 recipients, more than the 4 a day")
    );
    // It replaces the provider's own, and the profile can hold it.
    let profile = tc.file("profile.toml", "[smtp]\ndaily_limit = 10\n");
    let out = tc
        .send()
        .with(dry_run_as("jo@gmail.com"))
        .env("PROTEST_LETTER_PROFILE", &profile)
        .succeeds();
    expect_plan(
        &out,
        "days:",
        "days: 2 at 10 recipients a day (your daily limit)",
    );
    server.assert_untouched();

    tc.send()
        .signer()
        .with(["--dry-run", "--daily-limit", "0"])
        .exits(2);
    let zero = tc.file("zero.toml", "[smtp]\ndaily_limit = 0\n");
    tc.send()
        .signer()
        .with(["--dry-run"])
        .env("PROTEST_LETTER_PROFILE", zero)
        .exits(2)
        .says("daily_limit = 0 in the profile would send nothing");
}

#[test]
fn an_address_provider_does_not_describe_another_server() {
    // A Gmail address sent through a server of one's own: Gmail's limits
    // are not that server's.
    let (tc, server) = serving(ServerConfig::default());
    let out = tc
        .send()
        .with(dry_run_as("jo@gmail.com"))
        .smtp(&server)
        .succeeds();
    let line = plan_line(&out, "server:");
    assert!(line.starts_with("server: smtp://127.0.0.1:"), "{line}");
    assert!(!out.stderr.contains("Gmail"), "{out:?}");
    server.assert_untouched();
}
