//! Turns a rendered letter into an RFC 5322 email with lettre's builder:
//! From, To, the required copies (recipient `cc` plus campaign
//! `copies_to`), Subject, Date, Message-ID, MIME-Version and a UTF-8 text
//! body. Address headers are folded here (`headers`) and the body encoded
//! here (`body`), because lettre does neither the way real servers and
//! readers need.
//!
//! Every value that reaches a header is checked here first: lettre panics on
//! a line break in a display name, and a CR/LF must never smuggle in a
//! header such as `Bcc:`.

mod body;
mod headers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use lettre::Address;
use lettre::message::header::{self, ContentType};
use lettre::message::{Mailbox, Mailboxes, Message};
use serde::Serialize;

use crate::campaign::Addressee;
use crate::signers::signer::Signer;

/// A finished letter and what it was made from.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub letter_id: String,
    pub recipient: Arc<Addressee>,
    /// The language the letter is written in: the To header names the
    /// recipient in it.
    pub language: String,
    /// The first (or only) signatory.
    pub signer: Arc<Signer>,
    pub subject: String,
    pub body: String,
}

/// Who a message is from, and who else gets it, decided per run.
#[derive(Debug, Clone)]
pub struct Sender {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// `--bcc-me`: a copy for the signer's own records.
    pub bcc: Option<Mailbox>,
    /// An address printed under the signature: the member's, when their
    /// letter goes from the branch's account without a Reply-To.
    pub contact: Option<String>,
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
            contact: None,
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
    /// The letter's text as it is in the message (with the contact line).
    pub text: String,
}

/// The clock used for the Date header; fixed for reproducible output.
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

/// One recipient's To and Cc, parsed, de-duplicated and folded.
struct Prepared {
    to: Mailbox,
    cc: Vec<Mailbox>,
    to_header: header::HeaderValue,
    cc_header: Option<header::HeaderValue>,
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
            for name in a.names() {
                let prepared = composer.prepare(a, name)?;
                composer
                    .prepared
                    .insert(prepared_key(a, name), Arc::new(prepared));
            }
        }
        Ok(composer)
    }

    /// To and Cc for `recipient`, named `name` on To.
    fn prepare(&self, recipient: &Addressee, name: &str) -> Result<Prepared> {
        let Some(to_address) = &recipient.email else {
            bail!("`{}` has no email address", recipient.id);
        };
        let to = mailbox(Some(name), to_address, "the recipient's name")
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
        Ok(Prepared {
            to_header: headers::address_header("To", std::slice::from_ref(&to)),
            cc_header: (!cc.is_empty()).then(|| headers::address_header("Cc", &cc)),
            to,
            cc,
            seen,
        })
    }

    /// The message for `letter`, or an error naming the field that cannot
    /// go into a header. `key` names this exact version of the letter
    /// (`Produced::message_seed`: letter, recipient, address and the
    /// signature as spelt), which its Message-ID is made from.
    pub fn compose(&self, letter: &Rendered, key: &str, sender: &Sender) -> Result<Composed> {
        let now = self.clock.now();
        let recipient = &letter.recipient;
        // Named in the letter's language: a Russian letter's To is Russian.
        let name = recipient.name_in(&letter.language);
        let prepared = match self.prepared.get(&prepared_key(recipient, name)) {
            Some(p) => Arc::clone(p),
            None => Arc::new(self.prepare(recipient, name)?),
        };
        ensure_header_safe("subject", &letter.subject)?;

        let message_id = message_id(key, sender);
        let bcc: Vec<Mailbox> = sender
            .bcc
            .iter()
            .filter(|b| prepared.is_new(b.email.as_ref()))
            .cloned()
            .collect();
        let envelope_to: Vec<Address> = std::iter::once(&prepared.to)
            .chain(&prepared.cc)
            .chain(&bcc)
            .map(|m| m.email.clone())
            .collect();
        let envelope = lettre::address::Envelope::new(Some(sender.from.email.clone()), envelope_to)
            .context("could not build the envelope")?;

        // lettre needs a typed From to build; the address headers are then
        // replaced in place by folded ones. The envelope is given, not
        // derived from the headers.
        let builder = Message::builder()
            .header(header::From::from(Mailboxes::from(sender.from.clone())))
            .subject(letter.subject.clone())
            .date(now)
            .message_id(Some(message_id.clone()))
            .header(header::MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .user_agent(concat!("protest-letter/", env!("CARGO_PKG_VERSION")).to_string())
            .envelope(envelope);
        let mut text = letter.body.clone();
        if let Some(contact) = &sender.contact {
            ensure_header_safe("the member's address", contact)?;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(contact);
            text.push('\n');
        }
        let mut message = builder
            .body(body::body(crlf(&text)))
            .context("could not build the email")?;
        // Headers in the usual order, the address headers folded.
        let headers = message.headers_mut();
        let mut built = std::mem::take(headers);
        headers.insert_raw(headers::address_header(
            "From",
            std::slice::from_ref(&sender.from),
        ));
        if let Some(reply_to) = &sender.reply_to {
            headers.insert_raw(headers::address_header(
                "Reply-To",
                std::slice::from_ref(reply_to),
            ));
        }
        headers.insert_raw(prepared.to_header.clone());
        if let Some(cc) = &prepared.cc_header {
            headers.insert_raw(cc.clone());
        }
        if !bcc.is_empty() && self.keep_bcc {
            headers.insert_raw(headers::address_header("Bcc", &bcc));
        }
        for name in [
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding",
            "User-Agent",
        ] {
            if let Some(value) = built.remove_raw(name) {
                headers.insert_raw(value);
            }
        }
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
            text,
        })
    }
}

impl Prepared {
    /// Whether `address` is on neither To nor Cc (a blind copy to it is
    /// one more recipient).
    fn is_new(&self, address: &str) -> bool {
        !self.seen.contains(&address.to_ascii_lowercase())
    }
}

impl Composer {
    /// How many recipients (To, Cc and Bcc) a message to `recipient` has
    /// when `bcc` is blind-copied: the envelope `compose` makes, without
    /// rendering the letter.
    pub fn recipient_count(&self, recipient: &Addressee, bcc: Option<&str>) -> Result<usize> {
        let count = |p: &Prepared| 1 + p.cc.len() + usize::from(bcc.is_some_and(|b| p.is_new(b)));
        // The name on To changes no address: any of the recipient's will do.
        let name = recipient.name.as_str();
        match self.prepared.get(&prepared_key(recipient, name)) {
            Some(p) => Ok(count(p)),
            None => Ok(count(&self.prepare(recipient, name)?)),
        }
    }
}

/// A recipient as prepared: its id and address (an embassy has one per
/// country) and the name on To.
fn prepared_key(recipient: &Addressee, name: &str) -> String {
    format!(
        "{}|{}|{name}",
        recipient.id,
        recipient.email.as_deref().unwrap_or(""),
    )
}

/// `Name: value` with CRLF, the mailboxes folded as in composed messages.
pub fn header_line(name: &str, mailboxes: &[Mailbox]) -> String {
    headers::line(name, mailboxes)
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
    let address = crate::campaign::address::parse(address)
        .map_err(|reason| anyhow::anyhow!("invalid address `{address}`: {reason}"))?;
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

/// `<hash.hash@domain>` from the letter's seed (`Produced::message_seed`):
/// two different letters, or two versions of one (another spelling, a
/// petition with more members), get different Message-IDs, whatever the
/// clock. A letter sent
/// again after an uncertain delivery keeps its Message-ID, so mail systems
/// and readers can drop the duplicate.
pub fn message_id(key: &str, sender: &Sender) -> String {
    let first = crate::signers::fingerprint::of([key]);
    let second = crate::signers::fingerprint::of([key, "message-id"]);
    let domain = sender.from.email.domain();
    format!("<{first:016x}.{second:016x}@{domain}>")
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
                time_zone: None,
                address: vec![],
                language: None,
                country: None,
                translations: Default::default(),
            }),
            language: "en".into(),
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
        let composed = composer.compose(&l, "key", &sender).unwrap();
        assert_eq!(
            composed.envelope.cc,
            ["clerk@court.kz", "copies@campaign.org"]
        );
    }

    #[test]
    fn recipient_count_is_the_composed_envelopes() {
        let l = letter("Jo");
        let composer =
            Composer::new(&["copies@campaign.org".into()], &[], Clock::Now, false).unwrap();
        for (bcc_me, email, expected) in [
            (false, "jo@union.org", 3),
            (true, "jo@union.org", 4),
            // A blind copy to an address already on Cc adds no recipient.
            (true, "Clerk@court.kz", 3),
        ] {
            let mut signer = (*l.signer).clone();
            signer.email = email.into();
            let sender = Sender::personal(&signer, bcc_me).unwrap();
            let composed = composer.compose(&l, "key", &sender).unwrap();
            let bcc = bcc_me.then_some(email);
            let counted = composer.recipient_count(&l.recipient, bcc).unwrap();
            assert_eq!(counted, composed.envelope.recipients().len(), "{email}");
            assert_eq!(counted, expected, "{email}");
        }
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
        let a = composer
            .compose(&l, "key", &sender)
            .unwrap()
            .message
            .formatted();
        let b = composer
            .compose(&l, "key", &sender)
            .unwrap()
            .message
            .formatted();
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
        assert!(composer.compose(&l, "key", &sender).is_err());
    }

    fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(bytes)
            .expect("mail-parser reads the message")
    }

    #[test]
    fn mime_version_and_folded_copies() {
        let mut l = letter("Smith, Pat");
        let copies: Vec<String> = (0..34)
            .map(|i| format!("campaign-kazakhstan-{i}@solidarity-union.org"))
            .collect();
        Arc::make_mut(&mut l.recipient).cc = copies.clone();
        let composer = Composer::new(&[], &[], Clock::Now, false).unwrap();
        let sender = Sender::personal(&l.signer, false).unwrap();
        let bytes = composer
            .compose(&l, "key", &sender)
            .unwrap()
            .message
            .formatted();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let head = &text[..text.find("\r\n\r\n").unwrap()];
        assert!(head.contains("\r\nMIME-Version: 1.0\r\n"), "{head}");
        assert!(
            head.starts_with("From: \"Smith, Pat\" <jo@union.org>\r\n"),
            "{head}"
        );
        for line in head.split("\r\n") {
            assert!(line.len() <= 78, "{} chars: {line}", line.len());
        }
        let m = parse(&bytes);
        let cc: Vec<&str> = m
            .cc()
            .unwrap()
            .iter()
            .map(|a| a.address().unwrap())
            .collect();
        assert_eq!(cc, copies);
        assert_eq!(
            m.from().unwrap().first().unwrap().name(),
            Some("Smith, Pat")
        );
    }

    #[test]
    fn message_ids_follow_the_journal_key_not_the_clock() {
        let clock = Clock::from_source_date_epoch(Some("1700000000")).unwrap();
        let l = letter("Jo");
        let composer = Composer::new(&[], &[], clock, false).unwrap();
        let sender = Sender::personal(&l.signer, false).unwrap();
        let id = |key: &str| composer.compose(&l, key, &sender).unwrap().message_id;
        assert_eq!(id("a|b|c|petition of 200:1"), id("a|b|c|petition of 200:1"));
        assert_ne!(id("a|b|c|petition of 200:1"), id("a|b|c|petition of 1:2"));
        assert_ne!(id("a|b|c|petition of 1:2"), id("a|b|c|jo@union.org|Jo|"));
        assert!(id("k").ends_with("@union.org>"));
    }

    #[test]
    fn contact_line_goes_under_the_signature() {
        let l = letter("Jo");
        let composer = Composer::new(&[], &[], Clock::Now, false).unwrap();
        let mut sender = Sender::personal(&l.signer, false).unwrap();
        sender.contact = Some("jo.member@gmail.com".into());
        let composed = composer.compose(&l, "key", &sender).unwrap();
        assert!(composed.text.ends_with("Text.\njo.member@gmail.com\n"));
        let bytes = composed.message.formatted();
        let m = parse(&bytes);
        assert!(m.reply_to().is_none());
        assert!(m.body_text(0).unwrap().contains("jo.member@gmail.com"));
    }

    #[test]
    fn a_from_line_in_the_body_needs_no_mbox_quoting() {
        let mut l = letter("Jo");
        l.body = "Dear Court,\n\nFrom the union, greetings.\n".into();
        let composer = Composer::new(&[], &[], Clock::Now, false).unwrap();
        let sender = Sender::personal(&l.signer, false).unwrap();
        let bytes = composer
            .compose(&l, "key", &sender)
            .unwrap()
            .message
            .formatted();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\r\n=46rom the union"), "{text}");
        assert!(!text.contains("\nFrom "));
        let m = parse(&bytes);
        assert_eq!(
            m.body_text(0).unwrap(),
            "Dear Court,\r\n\r\nFrom the union, greetings.\r\n"
        );
    }
}
