//! Turns a rendered letter into an RFC 5322 email with lettre's builder:
//! From, To, the required copies (recipient `cc` plus campaign
//! `copies_to`), Subject, Date, Message-ID and a UTF-8 text body.
//!
//! Every value that reaches a header is checked here first: lettre panics on
//! a line break in a display name, and a CR/LF must never smuggle in a
//! header such as `Bcc:`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use lettre::Address;
use lettre::message::header::{self, ContentType};
use lettre::message::{Mailbox, Mailboxes, Message};
use serde::Serialize;

use crate::address::normalise;
use crate::campaign::Addressee;
use crate::render::Rendered;
use crate::signer::Signer;

/// Who a message is from, and who else gets it, decided per run.
#[derive(Debug, Clone)]
pub struct Sender {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// `--bcc-me`: a copy for the signer's own records.
    pub bcc: Option<Mailbox>,
}

impl Sender {
    /// The signer writes as themself, from their own address.
    pub fn personal(signer: &Signer, bcc_me: bool) -> Result<Self> {
        if signer.email.is_empty() {
            bail!("an email needs the signer's address: pass --email or set PROTEST_LETTER_EMAIL");
        }
        Self::plain(&signer.name, &signer.email, bcc_me)
    }

    /// From `name <address>`; `bcc_me` blind-copies that same address.
    pub fn plain(name: &str, address: &str, bcc_me: bool) -> Result<Self> {
        let from = mailbox(Some(name), address, "your name")?;
        Ok(Sender {
            bcc: bcc_me.then(|| from.clone()),
            from,
            reply_to: None,
        })
    }
}

/// The SMTP envelope: who the message is really delivered to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

impl Envelope {
    /// Every address the message is delivered to, each once.
    pub fn recipients(&self) -> Vec<&str> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .map(String::as_str)
            .collect()
    }
}

/// A built message with what we need to know about it later.
#[derive(Debug, Clone)]
pub struct Composed {
    pub message: Message,
    pub envelope: Envelope,
    pub message_id: String,
    /// The Date header's time, for mbox separator lines.
    pub date: SystemTime,
}

/// The clock used for Date and Message-ID; fixed for reproducible output.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    Now,
    /// `SOURCE_DATE_EPOCH`: every message gets this time.
    Fixed(SystemTime),
}

impl Clock {
    /// `SOURCE_DATE_EPOCH` (seconds), the convention for reproducible output.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<Self> {
        match value {
            None => Ok(Clock::Now),
            Some(text) => {
                // Dates end at 9999-12-31 in mail headers.
                const LAST: u64 = 253_402_300_799;
                let secs: u64 = text
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s| *s <= LAST)
                    .with_context(|| {
                        format!("SOURCE_DATE_EPOCH `{text}` is not a number of seconds from 1970 up to {LAST} (year 9999)")
                    })?;
                Ok(Clock::Fixed(UNIX_EPOCH + Duration::from_secs(secs)))
            }
        }
    }

    /// The time for the next message.
    pub fn now(self) -> SystemTime {
        match self {
            Clock::Now => SystemTime::now(),
            Clock::Fixed(t) => t,
        }
    }
}

/// Builds messages for one run. Addresses are parsed once per recipient
/// here, not once per letter: a batch composes thousands of messages to the
/// same few recipients.
pub struct Composer {
    copies_to: Vec<String>,
    clock: Clock,
    /// Keep Bcc in the headers: for `sendmail -t`, which reads recipients
    /// from the headers and strips Bcc itself.
    keep_bcc: bool,
    prepared: HashMap<String, Arc<Prepared>>,
}

/// One recipient's To and Cc, parsed and de-duplicated.
struct Prepared {
    to: Mailbox,
    cc: Vec<Mailbox>,
    /// Lower-case addresses already on To or Cc, to keep Bcc distinct.
    seen: Vec<String>,
}

impl Composer {
    /// A composer for letters to `addressees` (others are prepared on the
    /// fly, more slowly).
    pub fn new(
        copies_to: &[String],
        addressees: &[Arc<Addressee>],
        clock: Clock,
        keep_bcc: bool,
    ) -> Result<Self> {
        let mut composer = Composer {
            copies_to: copies_to.to_vec(),
            clock,
            keep_bcc,
            prepared: HashMap::new(),
        };
        for a in addressees.iter().filter(|a| a.email.is_some()) {
            let prepared = composer.prepare(a)?;
            composer
                .prepared
                .insert(prepared_key(a), Arc::new(prepared));
        }
        Ok(composer)
    }

    fn prepare(&self, recipient: &Addressee) -> Result<Prepared> {
        let Some(to_address) = &recipient.email else {
            bail!("`{}` has no email address", recipient.id);
        };
        let to = mailbox(Some(&recipient.name), to_address, "the recipient's name")
            .with_context(|| format!("recipient `{}`", recipient.id))?;
        let mut seen = vec![to_address.to_ascii_lowercase()];
        let mut cc = Vec::new();
        for address in recipient.cc.iter().chain(&self.copies_to) {
            let key = address.to_ascii_lowercase();
            if !seen.contains(&key) {
                seen.push(key);
                cc.push(mailbox(None, address, "a copy address")?);
            }
        }
        Ok(Prepared { to, cc, seen })
    }

    /// The message for `letter`, or an error naming the field that cannot
    /// go into a header.
    pub fn compose(&self, letter: &Rendered, sender: &Sender) -> Result<Composed> {
        self.compose_at(letter, sender, self.clock.now())
    }

    /// `compose` with the message's time given (for `plan`, which must
    /// reproduce this message's Date and Message-ID).
    pub fn compose_at(
        &self,
        letter: &Rendered,
        sender: &Sender,
        now: SystemTime,
    ) -> Result<Composed> {
        let recipient = &letter.recipient;
        let prepared = match self.prepared.get(&prepared_key(recipient)) {
            Some(p) => Arc::clone(p),
            None => Arc::new(self.prepare(recipient)?),
        };
        ensure_header_safe("subject", &letter.subject)?;

        let message_id = message_id(letter, sender, now);
        let mut bcc = Vec::new();
        if let Some(b) = &sender.bcc
            && !prepared
                .seen
                .contains(&b.email.to_string().to_ascii_lowercase())
        {
            bcc.push(b.clone());
        }
        let envelope_to: Vec<Address> = std::iter::once(&prepared.to)
            .chain(&prepared.cc)
            .chain(&bcc)
            .map(|m| m.email.clone())
            .collect();
        let envelope = lettre::address::Envelope::new(Some(sender.from.email.clone()), envelope_to)
            .context("could not build the envelope")?;

        // Whole headers are set at once: lettre re-parses a header each time
        // a mailbox is added to it, and the envelope is given, not derived.
        let mut builder = Message::builder()
            .header(header::From::from(Mailboxes::from(sender.from.clone())))
            .header(header::To::from(Mailboxes::from(prepared.to.clone())))
            .subject(letter.subject.clone())
            .date(now)
            .message_id(Some(message_id.clone()))
            .user_agent(concat!("protest-letter/", env!("CARGO_PKG_VERSION")).to_string())
            .header(ContentType::TEXT_PLAIN)
            .envelope(envelope);
        if !prepared.cc.is_empty() {
            builder = builder.header(header::Cc::from(
                prepared.cc.iter().cloned().collect::<Mailboxes>(),
            ));
        }
        if let Some(reply_to) = &sender.reply_to {
            builder = builder.header(header::ReplyTo::from(Mailboxes::from(reply_to.clone())));
        }
        if !bcc.is_empty() && self.keep_bcc {
            builder = builder.header(header::Bcc::from(
                bcc.iter().cloned().collect::<Mailboxes>(),
            ));
            builder = builder.keep_bcc();
        }
        // ASCII goes in as bytes, which lettre takes as they are (7bit);
        // other text as a string, so that lettre picks quoted-printable.
        let body = crlf(&letter.body);
        let message = if body.is_ascii() {
            builder.body(body.into_bytes())
        } else {
            builder.body(body)
        }
        .context("could not build the email")?;
        Ok(Composed {
            envelope: Envelope {
                from: sender.from.email.to_string(),
                to: vec![prepared.to.email.to_string()],
                cc: prepared.cc.iter().map(|m| m.email.to_string()).collect(),
                bcc: bcc.iter().map(|m| m.email.to_string()).collect(),
            },
            message,
            message_id,
            date: now,
        })
    }
}

/// A recipient as prepared: its id and address (an embassy has one per
/// country) and name.
fn prepared_key(recipient: &Addressee) -> String {
    format!(
        "{}|{}|{}",
        recipient.id,
        recipient.email.as_deref().unwrap_or(""),
        recipient.name
    )
}

/// The body with CRLF line endings. lettre converts bare LF itself, but by
/// inserting one `\r` at a time (a copy of the rest of the letter per
/// line); this single pass costs a tenth as much (callgrind).
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32 + 2);
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(content) => {
                out.push_str(content.strip_suffix('\r').unwrap_or(content));
                out.push_str("\r\n");
            }
            None => out.push_str(line),
        }
    }
    out
}

/// A mailbox from a display name and an address, both checked.
pub fn mailbox(name: Option<&str>, address: &str, what: &str) -> Result<Mailbox> {
    if let Some(name) = name {
        ensure_header_safe(what, name)?;
    }
    let address = normalise(address)
        .map_err(|reason| anyhow::anyhow!("invalid address `{address}`: {reason}"))?;
    let address = address
        .parse()
        .map_err(|e| anyhow::anyhow!("invalid address `{address}`: {e}"))?;
    Ok(Mailbox::new(
        name.filter(|n| !n.is_empty()).map(str::to_string),
        address,
    ))
}

/// Refuses control characters (CR, LF, NUL…) in a header value.
pub fn ensure_header_safe(what: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        bail!(
            "{what} contains the control character U+{:04X}, which cannot go into an email header: {value:?}",
            c as u32
        );
    }
    Ok(())
}

/// `<hash.time@domain>`: unique per letter, recipient and signer; the same
/// for the same inputs when the clock is fixed.
pub fn message_id(letter: &Rendered, sender: &Sender, now: SystemTime) -> String {
    let hash = crate::fingerprint::of([
        letter.letter_id.as_str(),
        &letter.recipient.id,
        letter.recipient.email.as_deref().unwrap_or(""),
        &letter.signer.name,
        &letter.signer.email,
        &letter.subject,
    ]);
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let domain = sender.from.email.domain();
    format!(
        "<{hash:016x}.{}.{:09}@{domain}>",
        since_epoch.as_secs(),
        since_epoch.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn letter(name: &str) -> Rendered {
        Rendered {
            letter_id: "sokolova".into(),
            recipient: Arc::new(Addressee {
                id: "court".into(),
                name: "The Court".into(),
                title: String::new(),
                salutation: String::new(),
                email: Some("court@court.kz".into()),
                cc: vec!["clerk@court.kz".into(), "copies@campaign.org".into()],
                phone: None,
                address: vec![],
                language: None,
                country: None,
                translations: Default::default(),
            }),
            signer: Arc::new(Signer {
                name: name.into(),
                email: "jo@union.org".into(),
                ..Default::default()
            }),
            subject: "Free her".into(),
            body: "Dear Court,\n\nText.\n".into(),
        }
    }

    #[test]
    fn copies_are_merged_without_duplicates() {
        let l = letter("Jo");
        let composer = Composer::new(
            &["copies@campaign.org".into(), "court@court.kz".into()],
            &[Arc::clone(&l.recipient)],
            Clock::Now,
            false,
        )
        .unwrap();
        let sender = Sender::personal(&l.signer, false).unwrap();
        let composed = composer.compose(&l, &sender).unwrap();
        assert_eq!(
            composed.envelope.cc,
            ["clerk@court.kz", "copies@campaign.org"]
        );
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(crlf("a\nb\r\nc"), "a\r\nb\r\nc");
    }

    #[test]
    fn fixed_clock_gives_identical_messages() {
        let clock = Clock::from_source_date_epoch(Some("1700000000")).unwrap();
        let l = letter("Jo");
        let composer = Composer::new(&[], &[], clock, false).unwrap();
        let sender = Sender::personal(&l.signer, false).unwrap();
        let a = composer.compose(&l, &sender).unwrap().message.formatted();
        let b = composer.compose(&l, &sender).unwrap().message.formatted();
        assert_eq!(a, b);
    }

    #[test]
    fn header_injection_is_an_error_not_a_panic() {
        let mut l = letter("x\r\nBcc: victim@example.org");
        Arc::make_mut(&mut l.signer).email = "jo@union.org".into();
        assert!(Sender::personal(&l.signer, false).is_err());
        l.subject = "a\nBcc: v@x.org".into();
        let composer = Composer::new(&[], &[], Clock::Now, false).unwrap();
        let sender = Sender::personal(&letter("Jo").signer, false).unwrap();
        assert!(composer.compose(&l, &sender).is_err());
    }
}
