//! The mail providers protest-letter knows: which submission server an
//! address's domain sends through, how one logs in there, and what the
//! provider lets an account send. `settings` picks the server from it when
//! none is given; `send` plans a batch with its limits; `list --providers`
//! prints it.
//!
//! The table is a Rust `static`, not an embedded TOML file: it is checked
//! by the compiler (a missing field or a misspelt TLS mode does not
//! build), costs nothing at start-up, and needs no error path for a table
//! the user never edits. A figure a provider does not publish is `None`,
//! never a guess; each provider names where its server and its limits were
//! read, and when.

use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::TransportArgs;
use crate::settings::TransportSettings;
use crate::settings::profile::Profile;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// TLS from the first byte (smtps://, usually port 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    StartTls,
}

/// A way to log in that the provider accepts. Data for `--auth auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Login {
    /// The account's own password (PLAIN or LOGIN).
    Password,
    /// A password made for one program in the account's settings (PLAIN
    /// or LOGIN), often only with two-step verification on.
    AppPassword,
    /// SASL XOAUTH2 with an OAuth2 access token.
    Xoauth2,
    /// SASL OAUTHBEARER (RFC 7628) with an OAuth2 access token.
    Oauthbearer,
}

impl Login {
    pub fn label(self) -> &'static str {
        match self {
            Login::Password => "password",
            Login::AppPassword => "app password",
            Login::Xoauth2 => "XOAUTH2",
            Login::Oauthbearer => "OAUTHBEARER",
        }
    }
}

/// What one account may send; `None`: not published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Recipients a day (To, Cc and Bcc of every message count).
    pub recipients_per_day: Option<u32>,
    pub messages_per_day: Option<u32>,
    pub messages_per_minute: Option<u32>,
    /// Recipients in one message (To, Cc and Bcc).
    pub recipients_per_message: Option<u32>,
}

impl Limits {
    /// "500 recipients a day, 100 recipients a message", or "not published".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.recipients_per_day, "recipients a day"),
            (self.messages_per_day, "messages a day"),
            (self.messages_per_minute, "messages a minute"),
            (self.recipients_per_message, "recipients a message"),
        ]
        .iter()
        .filter_map(|(n, what)| n.map(|n| format!("{} {what}", thousands(u64::from(n)))))
        .collect();
        if parts.is_empty() {
            "not published".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// 10000 → "10,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Where a figure was read, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Source {
    pub url: &'static str,
    /// The day the page was read (YYYY-MM-DD).
    pub checked: &'static str,
}

/// One provider's submission server and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// What `--provider` and the profile's `provider` take.
    pub name: &'static str,
    pub label: &'static str,
    /// The address domains it serves; `gmx.*` matches any `gmx.` domain
    /// not listed elsewhere. Empty: the user's own domain, by name only.
    pub domains: &'static [&'static str],
    pub host: &'static str,
    pub port: u16,
    pub tls: Tls,
    /// In the order to try them.
    pub logins: &'static [Login],
    pub limits: Limits,
    pub server_source: Source,
    pub limits_source: Source,
    /// What a user must know before the first letter.
    pub note: &'static str,
}

impl Provider {
    /// Whether the provider takes only OAuth2 tokens (no password, no app
    /// password): `--auth auto` then logs in with XOAUTH2.
    pub fn oauth_only(&self) -> bool {
        self.logins
            .iter()
            .all(|l| matches!(l, Login::Xoauth2 | Login::Oauthbearer))
    }

    /// The gap between two messages at the provider's per-minute limit.
    pub fn interval(&self) -> Option<Duration> {
        self.limits
            .messages_per_minute
            .filter(|n| *n > 0)
            .map(|n| Duration::from_secs_f64(60.0 / f64::from(n)))
    }

    /// `smtps://host:465` or `smtp://host:587`, with the user if given.
    pub fn url(&self, user: Option<&str>) -> String {
        let scheme = match self.tls {
            Tls::Implicit => "smtps",
            Tls::StartTls => "smtp",
        };
        let mut url = url::Url::parse(&format!("{scheme}://{}:{}", self.host, self.port))
            .expect("the provider table holds valid host names");
        if let Some(user) = user {
            // Only fails for URLs without a host, which these are not.
            let _ = url.set_username(user);
        }
        url.to_string()
    }
}

const CHECKED: &str = "2026-12-07";

const fn source(url: &'static str) -> Source {
    Source {
        url,
        checked: CHECKED,
    }
}

const NONE: Limits = Limits {
    recipients_per_day: None,
    messages_per_day: None,
    messages_per_minute: None,
    recipients_per_message: None,
};

/// Thunderbird's provider database: the servers its mail client sets up.
const ISPDB: &str = "https://github.com/thunderbird/autoconfig/tree/master/ispdb";

const GOOGLE_LOGINS: &[Login] = &[Login::Xoauth2, Login::Oauthbearer, Login::AppPassword];

/// Every provider, in the order `list --providers` prints them.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        name: "gmail",
        label: "Gmail",
        domains: &["gmail.com", "googlemail.com"],
        host: "smtp.gmail.com",
        port: 465,
        tls: Tls::Implicit,
        logins: GOOGLE_LOGINS,
        limits: Limits {
            recipients_per_day: Some(500),
            messages_per_day: Some(500),
            messages_per_minute: None,
            recipients_per_message: Some(100),
        },
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/googlemail.com.xml",
        ),
        limits_source: source("https://support.google.com/mail/answer/22839"),
        note: "an app password needs 2-Step Verification; otherwise an OAuth2 token helper",
    },
    Provider {
        name: "google-workspace",
        label: "Google Workspace",
        domains: &[],
        host: "smtp.gmail.com",
        port: 465,
        tls: Tls::Implicit,
        logins: GOOGLE_LOGINS,
        limits: Limits {
            recipients_per_day: Some(10_000),
            messages_per_day: Some(2_000),
            messages_per_minute: None,
            recipients_per_message: Some(100),
        },
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/googlemail.com.xml",
        ),
        limits_source: source("https://support.google.com/a/answer/166852"),
        note: "trial accounts: 500 messages a day; OAuth required for third-party apps since 14 March 2025",
    },
    Provider {
        name: "outlook",
        label: "Outlook.com",
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        host: "smtp-mail.outlook.com",
        port: 587,
        tls: Tls::StartTls,
        logins: &[Login::Xoauth2],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/hotmail.com.xml",
        ),
        limits_source: source(
            "https://support.microsoft.com/en-us/office/sending-limits-in-outlook-com-279ee200-594c-40f0-9ec8-bb6af7735c2e",
        ),
        note: "OAuth2 only since 16 September 2024; 5,000 recipients a day (500 a message) for \
               Microsoft 365 subscribers, lower and unpublished for others: set --daily-limit",
    },
    Provider {
        name: "microsoft365",
        label: "Microsoft 365",
        domains: &[],
        host: "smtp.office365.com",
        port: 587,
        tls: Tls::StartTls,
        logins: &[Login::Xoauth2, Login::Password],
        limits: Limits {
            recipients_per_day: Some(10_000),
            messages_per_day: None,
            messages_per_minute: Some(30),
            recipients_per_message: Some(500),
        },
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/office365.com.xml",
        ),
        limits_source: source(
            "https://learn.microsoft.com/en-us/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits-1",
        ),
        note: "Exchange Online; SMTP AUTH must be enabled for the mailbox; passwords are off by default from the \
               end of December 2026 (MC786329)",
    },
    Provider {
        name: "yahoo",
        label: "Yahoo Mail",
        domains: &["yahoo.com", "ymail.com", "rocketmail.com"],
        host: "smtp.mail.yahoo.com",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::AppPassword, Login::Xoauth2],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/yahoo.com.xml",
        ),
        limits_source: source("https://help.yahoo.com/kb/SLN3433.html"),
        note: "an app password is needed (Account security); limits for personal accounts are not published",
    },
    Provider {
        name: "icloud",
        label: "iCloud Mail",
        domains: &["icloud.com", "me.com", "mac.com"],
        host: "smtp.mail.me.com",
        port: 587,
        tls: Tls::StartTls,
        logins: &[Login::AppPassword],
        limits: Limits {
            recipients_per_day: Some(1_000),
            messages_per_day: Some(1_000),
            messages_per_minute: None,
            recipients_per_message: Some(500),
        },
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/me.com.xml",
        ),
        limits_source: source("https://support.apple.com/en-us/102198"),
        note: "an app-specific password from account.apple.com",
    },
    Provider {
        name: "fastmail",
        label: "Fastmail",
        domains: &["fastmail.com", "fastmail.fm"],
        host: "smtp.fastmail.com",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::AppPassword],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/messagingengine.com.xml",
        ),
        limits_source: source("https://www.fastmail.com/help/account/limits.html"),
        note: "an app password (Settings, Privacy & Security); sending limits depend on the plan and are not published",
    },
    Provider {
        name: "mail-ru",
        label: "Mail.ru",
        domains: &["mail.ru", "inbox.ru", "list.ru", "bk.ru"],
        host: "smtp.mail.ru",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::AppPassword],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/mail.ru.xml",
        ),
        limits_source: source(ISPDB),
        note: "a password for external apps (пароль для внешнего приложения); limits not published",
    },
    Provider {
        name: "yandex",
        label: "Yandex Mail",
        domains: &[
            "yandex.ru",
            "yandex.com",
            "ya.ru",
            "yandex.by",
            "yandex.kz",
            "yandex.ua",
            "narod.ru",
        ],
        host: "smtp.yandex.com",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::AppPassword, Login::Xoauth2],
        limits: Limits {
            recipients_per_day: Some(500),
            messages_per_day: Some(500),
            messages_per_minute: None,
            recipients_per_message: Some(35),
        },
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/yandex.ru.xml",
        ),
        limits_source: source(
            "https://yandex.com/support/mail/web/letter/create/send-many-letters.html",
        ),
        note: "an app password (Yandex ID, Security); over the limit, sending is blocked for 24 hours",
    },
    Provider {
        name: "gmx",
        label: "GMX",
        domains: &[
            "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.eu", "gmx.org", "gmx.info", "gmx.biz",
        ],
        host: "mail.gmx.net",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::Password],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/gmx.net.xml",
        ),
        limits_source: source(ISPDB),
        note: "turn on POP3/IMAP access in the GMX settings first; limits not published",
    },
    Provider {
        name: "gmx-com",
        label: "GMX.com",
        domains: &[
            "gmx.com",
            "gmx.co.uk",
            "gmx.us",
            "gmx.fr",
            "gmx.es",
            "gmx.it",
            "gmx.*",
        ],
        host: "mail.gmx.com",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::Password],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/gmx.com.xml",
        ),
        limits_source: source(ISPDB),
        note: "turn on POP3/IMAP access in the GMX settings first; limits not published",
    },
    Provider {
        name: "web-de",
        label: "WEB.DE",
        domains: &["web.de"],
        host: "smtp.web.de",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::Password],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/web.de.xml",
        ),
        limits_source: source(ISPDB),
        note: "turn on POP3/IMAP access in the WEB.DE settings first; limits not published",
    },
    Provider {
        name: "posteo",
        label: "Posteo",
        domains: &[
            "posteo.de",
            "posteo.net",
            "posteo.eu",
            "posteo.org",
            "posteo.at",
            "posteo.ch",
        ],
        host: "posteo.de",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::Password],
        limits: NONE,
        server_source: source(
            "https://github.com/thunderbird/autoconfig/blob/master/ispdb/posteo.de.xml",
        ),
        limits_source: source(ISPDB),
        note: "limits not published",
    },
    Provider {
        name: "mailbox-org",
        label: "mailbox.org",
        domains: &["mailbox.org"],
        host: "smtp.mailbox.org",
        port: 465,
        tls: Tls::Implicit,
        logins: &[Login::Password, Login::AppPassword],
        limits: NONE,
        server_source: source("https://kb.mailbox.org/en/business/e-mail/e-mail-configuration/"),
        limits_source: source("https://kb.mailbox.org/en/private/e-mail/sending-limits-for-emails"),
        note: "an application password with two-factor authentication on; the daily limit depends \
               on the account's history and is not published",
    },
    Provider {
        name: "proton",
        label: "Proton Mail Bridge",
        domains: &["proton.me", "protonmail.com", "protonmail.ch", "pm.me"],
        host: "127.0.0.1",
        port: 1025,
        tls: Tls::StartTls,
        logins: &[Login::Password],
        limits: Limits {
            recipients_per_day: None,
            messages_per_day: None,
            messages_per_minute: None,
            recipients_per_message: Some(100),
        },
        server_source: source("https://proton.me/mail/bridge"),
        limits_source: source("https://proton.me/support/email-sending-limits"),
        note: "SMTP only through Proton Mail Bridge running on this machine (paid plans), with the \
               password Bridge shows, and its certificate (--ca-cert); the free plan's 150 a day \
               does not apply to Bridge, and paid plans' limits are not published",
    },
];

/// The provider serving addresses at `domain`, if the table has one.
pub fn by_domain(domain: &str) -> Option<&'static Provider> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|p| p.domains.contains(&domain.as_str()))
        .or_else(|| {
            PROVIDERS.iter().find(|p| {
                p.domains.iter().any(|d| {
                    d.strip_suffix('*')
                        .is_some_and(|stem| domain.starts_with(stem) && domain.len() > stem.len())
                })
            })
        })
}

/// The provider called `name` (`--provider`), or an error listing them.
pub fn by_name(name: &str, what: &str) -> Result<&'static Provider> {
    let wanted = name.trim().to_ascii_lowercase();
    if let Some(p) = PROVIDERS.iter().find(|p| p.name == wanted) {
        return Ok(p);
    }
    let hint = crate::campaign::diagnostic::unknown_hint(&wanted, PROVIDERS.iter().map(|p| p.name));
    bail!(
        "{what} `{name}` is not a provider protest-letter knows: {hint}. \
         `protest-letter list --providers` shows them; for another server, give --smtp URL"
    )
}

/// Which provider a run uses, and why.
#[derive(Debug, Clone)]
pub struct Choice {
    pub provider: &'static Provider,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The sender's address is at one of its domains.
    Domain(String),
    /// `--provider NAME`.
    Flag,
    /// `provider = "NAME"` in the profile.
    Profile,
}

impl Choice {
    /// "from the address's domain gmail.com", "--provider microsoft365".
    pub fn reason(&self) -> String {
        match &self.why {
            Why::Domain(domain) => format!("from the address's domain {domain}"),
            Why::Flag => format!("--provider {}", self.provider.name),
            Why::Profile => format!("provider = \"{}\" in the profile", self.provider.name),
        }
    }
}

/// `--provider`, else the profile's, else the one serving the sender's
/// address (`None` when the table has none).
pub fn choose(
    flag: Option<&str>,
    profile: Option<&str>,
    email: Option<&str>,
) -> Result<Option<Choice>> {
    if let Some(name) = flag {
        return Ok(Some(Choice {
            provider: by_name(name, "--provider")?,
            why: Why::Flag,
        }));
    }
    if let Some(name) = profile {
        return Ok(Some(Choice {
            provider: by_name(name, "the profile's provider")?,
            why: Why::Profile,
        }));
    }
    let Some((_, domain)) = email.and_then(|e| e.trim().rsplit_once('@')) else {
        return Ok(None);
    };
    Ok(by_domain(domain).map(|provider| Choice {
        provider,
        why: Why::Domain(domain.to_ascii_lowercase()),
    }))
}

/// The provider and the daily limit, for the plan shown before sending.
#[derive(Debug, Clone, Default)]
pub struct Pacing {
    /// The provider whose server and limits apply, and why.
    pub provider: Option<Choice>,
    /// `--daily-limit` (or the profile's `daily_limit`): recipients a day,
    /// in place of the provider's.
    pub daily_limit: Option<u32>,
    /// `interval` is the provider's per-minute limit: no `--rate` was given.
    pub rate_from_provider: bool,
}

impl Pacing {
    /// A provider found from the sender's address applies only when the
    /// letters go through its own server; one named applies to any.
    pub fn resolve(
        known: Option<Choice>,
        t: &TransportArgs,
        profile: &Profile,
        transport: Option<&TransportSettings>,
    ) -> Result<Pacing> {
        let provider = known.filter(|c| match (&c.why, transport) {
            (Why::Domain(_), Some(TransportSettings::Smtp(smtp))) => {
                smtp.host.eq_ignore_ascii_case(c.provider.host)
            }
            (Why::Domain(_), Some(TransportSettings::Sendmail { .. })) => false,
            _ => true,
        });
        let daily_limit = match (t.daily_limit, profile.smtp.daily_limit) {
            (Some(n), _) => Some(n),
            (None, Some(0)) => bail!(
                "daily_limit = 0 in the profile would send nothing: give a number of recipients a day, \
                 or remove the key"
            ),
            (None, n) => n,
        };
        let rate_from_provider = t.rate.is_none()
            && provider
                .as_ref()
                .is_some_and(|c| c.provider.interval().is_some());
        Ok(Pacing {
            provider,
            daily_limit,
            rate_from_provider,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_domains_have_a_provider() {
        for (domain, name) in [
            ("gmail.com", "gmail"),
            ("googlemail.com", "gmail"),
            ("outlook.com", "outlook"),
            ("hotmail.com", "outlook"),
            ("live.com", "outlook"),
            ("yahoo.com", "yahoo"),
            ("icloud.com", "icloud"),
            ("me.com", "icloud"),
            ("mac.com", "icloud"),
            ("fastmail.com", "fastmail"),
            ("mail.ru", "mail-ru"),
            ("yandex.ru", "yandex"),
            ("gmx.de", "gmx"),
            ("gmx.net", "gmx"),
            ("gmx.com", "gmx-com"),
            ("gmx.pt", "gmx-com"),
            ("web.de", "web-de"),
            ("posteo.de", "posteo"),
            ("mailbox.org", "mailbox-org"),
            ("proton.me", "proton"),
            ("protonmail.com", "proton"),
            ("GMail.COM.", "gmail"),
        ] {
            assert_eq!(by_domain(domain).map(|p| p.name), Some(name), "{domain}");
        }
        for domain in [
            "example.org",
            "gmx",
            "gmx.",
            "notgmail.com",
            "mail.gmail.com",
        ] {
            assert_eq!(by_domain(domain).map(|p| p.name), None, "{domain}");
        }
    }

    #[test]
    fn the_table_is_consistent() {
        let mut names: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PROVIDERS.len(), "names are unique");
        let mut domains: Vec<&str> = PROVIDERS
            .iter()
            .flat_map(|p| p.domains.iter().copied())
            .collect();
        let count = domains.len();
        domains.sort_unstable();
        domains.dedup();
        assert_eq!(domains.len(), count, "each domain has one provider");
        for p in PROVIDERS {
            assert!(!p.logins.is_empty(), "{}", p.name);
            for s in [p.server_source, p.limits_source] {
                assert!(s.url.starts_with("https://"), "{}", p.name);
                assert!(s.checked.parse::<jiff::civil::Date>().is_ok(), "{}", p.name);
            }
            let url = url::Url::parse(&p.url(Some("jo@example.org"))).unwrap();
            assert_eq!(url.host_str(), Some(p.host));
            assert_eq!(url.port(), Some(p.port));
            assert_eq!(url.username(), "jo%40example.org");
        }
    }

    #[test]
    fn the_issues_figures() {
        let gmail = by_name("gmail", "--provider").unwrap().limits;
        assert_eq!(gmail.recipients_per_day, Some(500));
        assert_eq!(gmail.recipients_per_message, Some(100));
        let workspace = by_name("google-workspace", "--provider").unwrap().limits;
        assert_eq!(workspace.messages_per_day, Some(2_000));
        let m365 = by_name("microsoft365", "--provider").unwrap();
        assert_eq!(m365.limits.messages_per_minute, Some(30));
        assert_eq!(m365.limits.recipients_per_day, Some(10_000));
        assert_eq!(m365.interval(), Some(Duration::from_secs(2)));
        let proton = by_domain("proton.me").unwrap();
        assert_eq!(
            (proton.host, proton.port, proton.tls),
            ("127.0.0.1", 1025, Tls::StartTls)
        );
    }

    #[test]
    fn limits_in_words() {
        assert_eq!(
            by_name("microsoft365", "").unwrap().limits.describe(),
            "10,000 recipients a day, 30 messages a minute, 500 recipients a message"
        );
        assert_eq!(NONE.describe(), "not published");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn unknown_names_are_errors_with_a_guess() {
        let err = by_name("microsoft356", "--provider")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `microsoft365`?"), "{err}");
        assert!(err.contains("gmail, google-workspace"), "{err}");
        assert_eq!(
            by_name(" Microsoft365 ", "--provider").unwrap().name,
            "microsoft365"
        );
    }

    #[test]
    fn the_choice_and_its_reason() {
        let c = choose(None, None, Some("Jo@GMail.com")).unwrap().unwrap();
        assert_eq!(c.reason(), "from the address's domain gmail.com");
        let c = choose(Some("microsoft365"), Some("gmail"), Some("jo@union.org"))
            .unwrap()
            .unwrap();
        assert_eq!(c.reason(), "--provider microsoft365");
        let c = choose(None, Some("google-workspace"), None)
            .unwrap()
            .unwrap();
        assert_eq!(c.reason(), "provider = \"google-workspace\" in the profile");
        assert!(choose(None, None, Some("jo@union.org")).unwrap().is_none());
        assert!(choose(None, None, None).unwrap().is_none());
    }
}
