//! The plan shown before the first letter (in the preview and the dry
//! run): the server and why it was picked, the provider's limits, how many
//! recipients the batch needs, how many days that takes at the daily limit
//! and how long at the rate. Arithmetic and wording only; `send` counts
//! and prints.

use std::io::Write;
use std::time::Duration;

use crate::settings::providers::{Pacing, Provider, thousands};
use crate::settings::{SendSettings, TransportSettings};

/// What the letters to send need, counted from their envelopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub letters: u64,
    /// To, Cc and Bcc of every letter.
    pub recipients: u64,
    /// The most recipients one letter has.
    pub largest: u64,
    /// Each addressee's count, by address: a batch asks once per letter,
    /// and the few addressees live as long as the run.
    known: Vec<(usize, usize)>,
}

impl Tally {
    /// One more letter to `addressee`, whose envelope's size `count`
    /// finds (once per addressee).
    pub fn add_to<T>(
        &mut self,
        addressee: &T,
        count: impl FnOnce() -> anyhow::Result<usize>,
    ) -> anyhow::Result<()> {
        let key = std::ptr::from_ref(addressee) as usize;
        let n = match self.known.iter().find(|(k, _)| *k == key) {
            Some(&(_, n)) => n,
            None => {
                let n = count()?;
                self.known.push((key, n));
                n
            }
        };
        self.add(n);
        Ok(())
    }

    /// One more letter, to `recipients` addresses.
    pub fn add(&mut self, recipients: usize) {
        let n = recipients as u64;
        self.letters += 1;
        self.recipients += n;
        self.largest = self.largest.max(n);
    }
}

/// Days needed for `items` at `per_day` a day: ceil(items / per_day).
pub fn days(items: u64, per_day: u32) -> u64 {
    items.div_ceil(u64::from(per_day.max(1)))
}

/// Time to hand over `letters` messages one `interval` apart (the first
/// goes at once).
pub fn sending_time(letters: u64, interval: Duration) -> Duration {
    let gaps = u32::try_from(letters.saturating_sub(1)).unwrap_or(u32::MAX);
    interval.saturating_mul(gaps)
}

/// "40 seconds", "about 5 minutes", "about 2 hours 5 minutes".
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64().ceil() as u64;
    match secs {
        0..60 => format!("{secs} second{}", plural(secs)),
        60..3600 => {
            let m = secs.div_ceil(60);
            format!("about {m} minute{}", plural(m))
        }
        _ => {
            let (h, m) = (secs / 3600, (secs % 3600).div_ceil(60));
            let hours = format!("about {} hour{}", thousands(h), plural(h));
            if m == 0 {
                hours
            } else {
                format!("{hours} {m} minute{}", plural(m))
            }
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "30 messages a minute", "one message every 2.5 seconds".
fn rate(interval: Duration) -> String {
    let secs = interval.as_secs_f64();
    let per_minute = 60.0 / secs;
    if per_minute >= 1.0 && (per_minute - per_minute.round()).abs() < 1e-6 {
        let n = per_minute.round() as u64;
        format!("{} message{} a minute", thousands(n), plural(n))
    } else {
        format!("one message every {}", human_precise(secs))
    }
}

/// 2.5 → "2.5 seconds", 120 → "2 minutes", 5400 → "1.5 hours".
fn human_precise(secs: f64) -> String {
    let (n, unit) = match secs {
        s if s < 60.0 => (s, "second"),
        s if s < 3600.0 => (s / 60.0, "minute"),
        s => (s / 3600.0, "hour"),
    };
    let n = (n * 100.0).round() / 100.0;
    format!("{n} {unit}{}", if n == 1.0 { "" } else { "s" })
}

/// The plan's lines, without a trailing newline.
pub fn lines(
    tally: &Tally,
    server: &str,
    pacing: &Pacing,
    interval: Option<Duration>,
) -> Vec<String> {
    let provider: Option<&Provider> = pacing.provider.as_ref().map(|c| c.provider);
    let mut out = vec![format!(
        "plan: {} letter{} to {} recipient{} in all (To, Cc and Bcc)",
        thousands(tally.letters),
        plural(tally.letters),
        thousands(tally.recipients),
        plural(tally.recipients),
    )];
    out.push(match &pacing.provider {
        Some(c) => format!("  server: {server}, {} ({})", c.provider.label, c.reason()),
        None => format!("  server: {server}"),
    });
    if let Some(p) = provider {
        out.push(format!(
            "  {}'s limits: {} ({}, read {})",
            p.label,
            p.limits.describe(),
            p.limits_source.url,
            p.limits_source.checked
        ));
    }

    // Days at the daily limit: yours, else the provider's.
    let (per_day_recipients, per_day_messages, whose) = match (pacing.daily_limit, provider) {
        (Some(n), _) => (Some(n), None, "your daily limit".to_string()),
        (None, Some(p)) => (
            p.limits.recipients_per_day,
            p.limits.messages_per_day,
            format!("{}'s limit", p.label),
        ),
        (None, None) => (None, None, String::new()),
    };
    let by_recipients = per_day_recipients.map(|n| (days(tally.recipients, n), n, "recipients"));
    let by_messages = per_day_messages.map(|n| (days(tally.letters, n), n, "messages"));
    // The limit that takes longer binds; recipients on a tie.
    let binding = match (by_recipients, by_messages) {
        (Some(r), Some(m)) if m.0 > r.0 => Some(m),
        (Some(r), _) => Some(r),
        (None, m) => m,
    };
    match binding {
        Some((d, n, what)) => out.push(format!(
            "  days: {} at {} {what} a day ({whose})",
            thousands(d),
            thousands(u64::from(n)),
        )),
        None => out.push(match provider {
            Some(p) => format!(
                "  days: unknown, {} publishes no daily limit; --daily-limit N plans with one",
                p.label
            ),
            None => {
                "  days: unknown, no daily limit is known for this server; --daily-limit N sets one"
                    .to_string()
            }
        }),
    }
    if let Some(n) = per_day_recipients.filter(|n| u64::from(*n) < tally.largest) {
        out.push(format!(
            "  warning: a letter goes to {} recipients, more than the {} a day allowed: it cannot be sent",
            tally.largest,
            thousands(u64::from(n))
        ));
    }
    if let Some((p, n)) = provider.and_then(|p| {
        p.limits
            .recipients_per_message
            .filter(|n| u64::from(*n) < tally.largest)
            .map(|n| (p, n))
    }) {
        out.push(format!(
            "  warning: a letter goes to {} recipients, more than the {n} a message {} accepts: \
             the server may refuse it",
            tally.largest, p.label
        ));
    }

    // Time at the rate.
    out.push(match interval {
        Some(gap) => {
            let why = match provider {
                Some(p) if pacing.rate_from_provider => format!("{}'s limit", p.label),
                _ => "--rate".to_string(),
            };
            format!(
                "  time: {} of sending at {} ({why})",
                human(sending_time(tally.letters, gap)),
                rate(gap)
            )
        }
        None => "  time: no --rate, so as fast as the server takes them".to_string(),
    });
    out
}

/// The server as shown in the plan (never a secret: URLs hold none).
fn server(s: &SendSettings) -> String {
    match &s.transport {
        Some(TransportSettings::Smtp(smtp)) => smtp.display(),
        Some(TransportSettings::Sendmail { program, .. }) => {
            format!("the sendmail program {}", program.display())
        }
        None => "none configured (--smtp URL, --sendmail or --provider NAME to send)".to_string(),
    }
}

/// Prints the plan for the letters counted in `tally`.
pub fn show(s: &SendSettings, tally: &Tally, out: &mut dyn Write) -> std::io::Result<()> {
    if tally.letters == 0 {
        return Ok(());
    }
    for line in lines(tally, &server(s), &s.pacing, s.interval) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::providers::{Choice, Why, by_name};

    fn pacing(name: Option<&str>, why: Why, daily_limit: Option<u32>) -> Pacing {
        Pacing {
            provider: name.map(|n| Choice {
                provider: by_name(n, "").unwrap(),
                why: why.clone(),
            }),
            daily_limit,
            rate_from_provider: false,
        }
    }

    fn tally(letters: usize, each: usize) -> Tally {
        let mut t = Tally::default();
        for _ in 0..letters {
            t.add(each);
        }
        t
    }

    #[test]
    fn recipients_are_counted_per_letter() {
        let mut t = Tally::default();
        for n in [5, 3, 7, 1] {
            t.add(n);
        }
        assert_eq!((t.letters, t.recipients, t.largest), (4, 16, 7));
        // Counted once per addressee.
        let (a, b) = (String::from("a"), String::from("b"));
        let mut t = Tally::default();
        let mut asked = 0;
        for (who, n) in [(&a, 5), (&b, 3), (&a, 5), (&a, 5)] {
            t.add_to(who, || {
                asked += 1;
                Ok(n)
            })
            .unwrap();
        }
        assert_eq!((t.letters, t.recipients, t.largest, asked), (4, 18, 5, 2));
    }

    #[test]
    fn days_round_up() {
        assert_eq!(days(750, 500), 2);
        assert_eq!(days(500, 500), 1);
        assert_eq!(days(501, 500), 2);
        assert_eq!(days(0, 500), 0);
        assert_eq!(days(10, 0), 10, "a zero limit never divides by zero");
    }

    #[test]
    fn time_at_the_rate() {
        let gap = Duration::from_secs(2);
        assert_eq!(sending_time(150, gap), Duration::from_secs(298));
        assert_eq!(sending_time(1, gap), Duration::ZERO);
        assert_eq!(sending_time(0, gap), Duration::ZERO);
        assert_eq!(human(Duration::from_secs(298)), "about 5 minutes");
        assert_eq!(human(Duration::from_secs(40)), "40 seconds");
        assert_eq!(human(Duration::from_secs(1)), "1 second");
        assert_eq!(human(Duration::from_secs(7200)), "about 2 hours");
        assert_eq!(human(Duration::from_secs(7201)), "about 2 hours 1 minute");
        assert_eq!(rate(gap), "30 messages a minute");
        assert_eq!(rate(Duration::from_millis(2500)), "24 messages a minute");
        assert_eq!(rate(Duration::from_secs(7)), "one message every 7 seconds");
        assert_eq!(rate(Duration::from_secs(60)), "1 message a minute");
        assert_eq!(
            rate(Duration::from_secs(120)),
            "one message every 2 minutes"
        );
        assert_eq!(
            rate(Duration::from_secs(5400)),
            "one message every 1.5 hours"
        );
    }

    #[test]
    fn the_issues_example_takes_two_gmail_days() {
        // 150 members, five recipients a letter: 750 recipients.
        let p = pacing(Some("gmail"), Why::Domain("gmail.com".into()), None);
        let text = lines(&tally(150, 5), "smtps://smtp.gmail.com:465", &p, None).join("\n");
        assert!(
            text.contains("plan: 150 letters to 750 recipients in all"),
            "{text}"
        );
        assert!(
            text.contains(
                "server: smtps://smtp.gmail.com:465, Gmail (from the address's domain gmail.com)"
            ),
            "{text}"
        );
        assert!(
            text.contains("Gmail's limits: 500 recipients a day"),
            "{text}"
        );
        assert!(
            text.contains("days: 2 at 500 recipients a day (Gmail's limit)"),
            "{text}"
        );
        assert!(text.contains("time: no --rate"), "{text}");
    }

    #[test]
    fn messages_a_day_can_bind_first() {
        // Workspace: 2,000 messages but 10,000 recipients a day.
        let p = pacing(Some("google-workspace"), Why::Flag, None);
        let text = lines(&tally(4_001, 1), "x", &p, None).join("\n");
        assert!(text.contains("days: 3 at 2,000 messages a day"), "{text}");
        // A tie names the recipients.
        let p = pacing(Some("gmail"), Why::Flag, None);
        let text = lines(&tally(3, 4), "x", &p, None).join("\n");
        assert!(text.contains("days: 1 at 500 recipients a day"), "{text}");
    }

    #[test]
    fn your_daily_limit_replaces_the_providers() {
        let p = pacing(Some("gmail"), Why::Flag, Some(40));
        let text = lines(&tally(30, 5), "x", &p, None).join("\n");
        assert!(
            text.contains("days: 4 at 40 recipients a day (your daily limit)"),
            "{text}"
        );
        let p = pacing(None, Why::Flag, Some(3));
        let text = lines(&tally(2, 5), "x", &p, None).join("\n");
        assert!(text.contains("more than the 3 a day allowed"), "{text}");
    }

    #[test]
    fn unknown_limits_say_so() {
        let p = pacing(Some("gmx"), Why::Flag, None);
        let text = lines(&tally(3, 2), "x", &p, None).join("\n");
        assert!(text.contains("GMX's limits: not published"), "{text}");
        assert!(
            text.contains("publishes no daily limit; --daily-limit N"),
            "{text}"
        );
        let none = pacing(None, Why::Flag, None);
        let text = lines(&tally(3, 2), "smtp://mail.example.org:587", &none, None).join("\n");
        assert!(
            text.contains("no daily limit is known for this server"),
            "{text}"
        );
        assert!(!text.contains("limits:"), "{text}");
    }

    #[test]
    fn the_rate_and_whose_it_is() {
        let mut p = pacing(Some("microsoft365"), Why::Flag, None);
        p.rate_from_provider = true;
        let gap = Some(Duration::from_secs(2));
        let text = lines(&tally(150, 5), "x", &p, gap).join("\n");
        assert!(
            text.contains(
                "time: about 5 minutes of sending at 30 messages a minute (Microsoft 365's limit)"
            ),
            "{text}"
        );
        p.rate_from_provider = false;
        let text = lines(&tally(150, 5), "x", &p, gap).join("\n");
        assert!(text.contains("(--rate)"), "{text}");
    }

    #[test]
    fn too_many_recipients_for_one_message() {
        let p = pacing(Some("yandex"), Why::Flag, None);
        let text = lines(&tally(1, 40), "x", &p, None).join("\n");
        assert!(
            text.contains("more than the 35 a message Yandex Mail accepts"),
            "{text}"
        );
        let text = lines(&tally(1, 35), "x", &p, None).join("\n");
        assert!(!text.contains("warning"), "{text}");
    }
}
