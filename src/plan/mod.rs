//! The fast path for per-member batches: each letter is rendered once per
//! recipient and *signer shape* (which of the signer's fields are empty)
//! through the general path, with stand-in values ("sentinels") for the
//! signer's fields; the bytes are split at the sentinels into literal
//! segments and slots; each member's letter is then those segments with the
//! member's values put in, encoded as the general path would encode them.
//!
//! The general path (render → compose → serialise) stays the reference:
//! - a letter whose templates use a signer field other than by printing it
//!   or testing it for emptiness takes the general path (`usage`);
//! - a header whose value depends on the signer (From, Reply-To, Subject,
//!   Message-ID, Date) is not spliced but rebuilt for each letter with
//!   the general path's own header writers;
//! - a value that could come out differently inside the letter (non-ASCII
//!   in a 7bit email body, a line long enough to change the body's
//!   encoding, an mbox line that would need `>From` quoting, whitespace the
//!   letter tidying would change) sends that one letter the general way;
//! - every plan's first letter is made both ways and compared byte for
//!   byte; a plan that differs is dropped.
//!
//! `tests` checks plan against general path for every built-in letter,
//! recipient, language and format on generated signers.

mod usage;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use anyhow::Result;
use lettre::message::header::{self, Header, Headers};

use crate::campaign::{Addressee, Campaign, Letter, Sources};
use crate::letters::Produced;
use crate::message::{Clock, MessageIds, Sender};
use crate::output::{Format, mbox_separator, write_lf};
use crate::render::{Rendered, Scratch};
use crate::signer::Signer;

/// The general path, as the batch writer runs it: what a plan is made
/// from and checked against.
pub trait Reference: Sync {
    /// A rendering context to reuse.
    fn scratch(&self) -> Scratch;
    /// The letter rendered (subject and body), not composed.
    fn render(
        &self,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
    ) -> Result<Rendered>;
    /// Who the email is from.
    fn sender(&self, produced: &Produced) -> Result<Sender>;
    /// The letter's bytes as the output stream receives them, made at `now`.
    fn write(
        &self,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
        first: bool,
        now: SystemTime,
        out: &mut Vec<u8>,
    ) -> Result<()>;
}

/// Plans for one run: shared by the threads that write letters.
pub struct Planner {
    format: Format,
    clock: Clock,
    letter_id: String,
    nonce: String,
    /// Why this letter cannot be planned, if so (for every signer).
    refused: Option<String>,
    plans: RwLock<HashMap<Key, Arc<Entry>>>,
    /// Shapes refused, with why, for `--verbose`.
    notes: Mutex<Vec<String>>,
    fast: AtomicU64,
    general: [AtomicU64; Why::COUNT],
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    recipient: usize,
    shape: u64,
    /// The member's language picks the letter's variant: a hash here, the
    /// language itself in the entry.
    language: u64,
}

struct Entry {
    language: String,
    plan: Option<Plan>,
}

/// Why one letter took the general path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Why {
    /// The templates use a signer field in a way a plan cannot follow.
    Template,
    /// The plan for this signer shape was refused (see the notes).
    Shape,
    /// A value with non-ASCII characters in a 7bit email body.
    NotSevenBit,
    /// A line long enough that the body would be encoded otherwise.
    LongLine,
    /// A line that mbox would quote as `>From `.
    MboxFrom,
    /// Whitespace or line breaks that tidying the letter would change.
    Whitespace,
    /// Too many different signer shapes.
    TooManyShapes,
    /// A paragraph that would be reflowed around the signer's values.
    Reflow,
    /// Making the letter failed: the general path says why.
    Error,
}

impl Why {
    const COUNT: usize = 9;
    const ALL: [Why; Why::COUNT] = [
        Why::Template,
        Why::Shape,
        Why::NotSevenBit,
        Why::LongLine,
        Why::MboxFrom,
        Why::Whitespace,
        Why::TooManyShapes,
        Why::Reflow,
        Why::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            Why::Template => "the template uses signer fields beyond printing them",
            Why::Shape => "no plan for that signer shape",
            Why::NotSevenBit => "non-ASCII text in a 7bit email body",
            Why::LongLine => "a line too long for a 7bit body",
            Why::MboxFrom => "a line mbox quotes as >From",
            Why::Whitespace => "whitespace the letter's tidying changes",
            Why::TooManyShapes => "too many signer shapes",
            Why::Reflow => "a paragraph that would be reflowed around the values",
            Why::Error => "an error, reported by the general path",
        }
    }
}

/// Plans kept per run at most: each holds one letter's bytes.
const MAX_PLANS: usize = 256;
/// Fields of a signer a shape can tell apart (5 fixed, the rest extras;
/// the top bits of a shape hold the number of fields).
const MAX_FIELDS: usize = 58;
/// Longest body line a plan writes without checking the body's encoding
/// again: lettre keeps 7bit below 76 bytes per line with its CRLF (less on
/// the first line; this is below both).
const SEVEN_BIT_LINE: usize = 73;

/// A paragraph of the body that holds signer values, and how `reflow`
/// saw it with the sentinels: it must see it the same way with every
/// signer's values.
struct Block {
    pieces: Vec<Piece>,
    /// It opens with a closing line ("Yours faithfully,").
    closing: bool,
    /// It is part of the signature, which `reflow` keeps as it is.
    in_signature: bool,
    /// Its first line holds no signer value, so whether it opens with a
    /// closing line cannot change (unless a value brings line breaks).
    first_line_fixed: bool,
}

impl Block {
    /// Whether `reflow` treats this block the same way with these values
    /// as with the sentinels: filled in and looked at only where a value
    /// can change that (a batch asks it for each member).
    fn holds(&self, values: &[&str], text: &mut String) -> bool {
        let breaks = self.pieces.iter().any(|p| match p {
            Piece::Field(f) => values.get(*f).is_some_and(|v| v.contains('\n')),
            Piece::Literal(_) => false,
        });
        if self.in_signature && self.first_line_fixed && !breaks {
            return true;
        }
        text.clear();
        fill_pieces_into(&self.pieces, values, text);
        // A block that opens with a closing line or no longer does would
        // move where the signature starts (see `reflow`); a value with a
        // blank line would split the block (the literals hold none).
        !(breaks && text.contains("\n\n"))
            && crate::reflow::is_closing(text) == self.closing
            && (self.in_signature || crate::reflow::keeps(text))
    }
}

/// A compiled letter: segments and slots.
struct Plan {
    bytes: Vec<u8>,
    segments: Vec<Segment>,
    /// The subject with its slots (for Message-ID and the Subject header).
    subject: Vec<Piece>,
    /// Each field's checks, by field index (those the letter uses).
    uses: Vec<(usize, Use)>,
    /// The body is 7bit (email formats): values must keep it so.
    seven_bit_body: bool,
    /// Who the email is from, with the signer's values as slots.
    sender: Option<SenderPlan>,
    /// Message-IDs from the journal key, whose beginning (letter and
    /// recipient) this plan shares with every letter it writes.
    ids: Option<MessageIds>,
    /// The body's blocks (between blank lines) that hold signer values:
    /// `reflow` must leave them as they are with each signer's values too.
    blocks: Vec<Block>,
    /// The `message` column (an extra field, trimmed by `Signer::message`).
    message_field: Option<usize>,
}

/// `Sender` for the sentinel signer, cut at the sentinels: the From
/// display name (with the account's address) and the Reply-To mailbox.
struct SenderPlan {
    from_name: Option<Vec<Piece>>,
    from: lettre::Address,
    /// The Reply-To name, and the field that is its address.
    reply_to: Option<(Vec<Piece>, usize)>,
}

#[derive(Clone, Copy, Default)]
struct Use {
    /// Printed in the letter body (tidying applies).
    body: bool,
    /// In the subject (whitespace is collapsed there).
    subject: bool,
}

enum Segment {
    Literal(std::ops::Range<usize>),
    /// A signer field; `json`: escaped as a JSON string's content.
    Field {
        field: usize,
        json: bool,
        body: bool,
    },
    MessageId {
        json: bool,
    },
    Header(HeaderKind),
    MboxSeparator,
}

enum Piece {
    Literal(String),
    Field(usize),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum HeaderKind {
    From,
    ReplyTo,
    Subject,
    MessageId,
    Date,
}

impl HeaderKind {
    fn of(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "from" => HeaderKind::From,
            "reply-to" => HeaderKind::ReplyTo,
            "subject" => HeaderKind::Subject,
            "message-id" => HeaderKind::MessageId,
            "date" => HeaderKind::Date,
            _ => return None,
        })
    }
}

/// The values of one signer, by field index.
fn fields(signer: &Signer) -> Vec<&str> {
    let mut out = vec![
        signer.name.as_str(),
        signer.organisation.as_str(),
        signer.email.as_str(),
        signer.address.as_str(),
        signer.country.as_str(),
    ];
    out.extend(signer.extra.values().map(String::as_str));
    out
}

/// Which fields are non-empty, as bits; `None` with too many fields.
fn shape(values: &[&str]) -> Option<u64> {
    if values.len() > MAX_FIELDS {
        return None;
    }
    let mut bits = 0u64;
    for (i, v) in values.iter().enumerate() {
        if !v.is_empty() {
            bits |= 1 << i;
        }
    }
    // The number of fields, so that lists with other extras never share.
    Some(bits ^ ((values.len() as u64) << 58))
}

/// The text of the campaign file that holds template `name`.
fn template_text<'a>(campaign: &'a Campaign, name: &str) -> Option<&'a str> {
    campaign
        .sources
        .letters
        .iter()
        .find(|f| Sources::file_name(f) == name)
        .map(|f| f.text.as_str())
}

/// `Ok` when every language variant of `letter` uses the signer's values
/// only in ways a plan (or a petition's stand-ins) reproduces; otherwise
/// why not, naming the file and line.
pub fn streamable(campaign: &Campaign, letter: &Letter) -> Result<(), String> {
    let source = |name: &str| template_text(campaign, name);
    letter.variants.values().try_for_each(|variant| {
        usage::check(&variant.body, &source).and_then(|()| {
            usage::check_text(&variant.subject, &variant.subject_text, &mut Vec::new()).map(|_| ())
        })
    })
}

/// `Ok` when a `--group` petition of `letter` can be made with stand-ins
/// for its members (see `crate::petition`): the signer's values are used
/// as `streamable` allows, and every loop over the members prints each
/// member's name on every turn (`usage::petition_loops`).
pub fn petition_streamable(campaign: &Campaign, letter: &Letter) -> Result<(), String> {
    streamable(campaign, letter)?;
    let source = |name: &str| template_text(campaign, name);
    letter.variants.values().try_for_each(|variant| {
        usage::petition_loops(&variant.body, &source)?;
        usage::petition_loops(&variant.subject, &|n: &str| {
            (n == variant.subject).then_some(variant.subject_text.as_str())
        })
    })
}

impl Planner {
    /// Plans for `letter` in `format`; whether its templates allow plans
    /// is decided once here, for every language variant.
    pub fn new(campaign: &Campaign, letter: &Letter, format: Format, clock: Clock) -> Self {
        let refused = streamable(campaign, letter).err();
        Planner {
            format,
            clock,
            letter_id: letter.id.clone(),
            nonce: nonce(campaign),
            refused,
            plans: RwLock::new(HashMap::new()),
            notes: Mutex::new(Vec::new()),
            fast: AtomicU64::new(0),
            general: Default::default(),
        }
    }

    /// Why every letter takes the general path, when it does: for
    /// `--verbose`, before the run.
    pub fn refusal(&self) -> Option<String> {
        self.refused.as_ref().map(|why| {
            format!(
                "letter `{}` takes the general (slower) path for every signer: {why}",
                self.letter_id
            )
        })
    }

    /// What happened, for `--verbose`, after the run.
    pub fn summary(&self) -> Vec<String> {
        let fast = self.fast.load(Ordering::Relaxed);
        let mut out = Vec::new();
        let general: Vec<(Why, u64)> = Why::ALL
            .iter()
            .map(|&w| (w, self.general[w as usize].load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let total: u64 = general.iter().map(|(_, n)| n).sum();
        let mut line = format!("fast path: {fast} letters; general path: {total}");
        if !general.is_empty() {
            let parts: Vec<String> = general
                .iter()
                .map(|(w, n)| format!("{n} for {}", w.label()))
                .collect();
            let _ = write!(line, " ({})", parts.join("; "));
        }
        out.push(line);
        if let Ok(notes) = self.notes.lock() {
            out.extend(notes.iter().cloned());
        }
        out
    }

    /// Writes the letter of `signer` to `recipient` through its plan, when
    /// there is one and the signer's values fit it; `false`: nothing was
    /// written, the caller takes the general path.
    pub fn write(
        &self,
        reference: &dyn Reference,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
        first: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        let now = self.clock.now();
        match self.try_plan(reference, scratch, recipient, signer, first, now, out) {
            Ok(()) => {
                self.fast.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(why) => {
                if let Some(why) = why {
                    self.general[why as usize].fetch_add(1, Ordering::Relaxed);
                }
                false
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn try_plan(
        &self,
        reference: &dyn Reference,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
        first: bool,
        now: SystemTime,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), Option<Why>> {
        if first {
            // The stream's first letter has no separator: not worth a plan.
            return Err(None);
        }
        if self.refused.is_some() {
            return Err(Some(Why::Template));
        }
        let values = fields(signer);
        let shape = shape(&values).ok_or(Some(Why::TooManyShapes))?;
        let key = Key {
            recipient: Arc::as_ptr(recipient) as usize,
            shape,
            language: crate::fingerprint::of([signer.language.as_str()]),
        };
        let known = self.plans.read().ok().and_then(|p| p.get(&key).cloned());
        let entry = match known {
            Some(entry) => entry,
            None => {
                if self.plans.read().map_or(true, |p| p.len() >= MAX_PLANS) {
                    return Err(Some(Why::TooManyShapes));
                }
                let entry = Arc::new(self.compile(reference, scratch, recipient, signer, now));
                if let Ok(mut plans) = self.plans.write() {
                    plans.entry(key).or_insert_with(|| Arc::clone(&entry));
                }
                entry
            }
        };
        if entry.language != signer.language {
            return Err(Some(Why::TooManyShapes));
        }
        let Some(plan) = &entry.plan else {
            return Err(Some(Why::Shape));
        };
        let start = out.len();
        match self.fill(plan, &values, now, out) {
            Ok(()) => Ok(()),
            Err(why) => {
                out.truncate(start);
                Err(Some(why))
            }
        }
    }

    /// Makes the plan for `signer`'s shape, and checks it on `signer`.
    fn compile(
        &self,
        reference: &dyn Reference,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
        now: SystemTime,
    ) -> Entry {
        let refuse = |why: String| {
            if let Ok(mut notes) = self.notes.lock() {
                let note = format!(
                    "letter `{}` to `{}`: no plan for signers with {}: {why}",
                    self.letter_id,
                    recipient.id,
                    describe_shape(signer)
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            Entry {
                language: signer.language.clone(),
                plan: None,
            }
        };
        match self.build(reference, scratch, recipient, signer, now) {
            Err(why) => refuse(why),
            Ok(plan) => {
                // Letters both ways must be the same bytes: a stand-in
                // signer that always fits, and this signer if it fits.
                let probe = Arc::new(probe_signer(signer));
                for (who, must_fit) in [(&probe, true), (signer, false)] {
                    let values = fields(who);
                    let mut planned = Vec::new();
                    let mut general = Vec::new();
                    let filled = self.fill(&plan, &values, now, &mut planned);
                    let made = reference.write(scratch, recipient, who, false, now, &mut general);
                    match (filled, made) {
                        (Ok(()), Ok(())) if planned == general => {}
                        (Ok(()), Ok(())) => {
                            return refuse(format!(
                                "the plan's bytes differ from the general path's ({})",
                                first_difference(&planned, &general)
                            ));
                        }
                        (Err(why), Ok(())) if must_fit => {
                            return refuse(format!("a plain signer does not fit: {}", why.label()));
                        }
                        (Err(_), Ok(())) => {}
                        (_, Err(e)) => return refuse(format!("{e:#}")),
                    }
                }
                Entry {
                    language: signer.language.clone(),
                    plan: Some(plan),
                }
            }
        }
    }

    /// Renders the sentinel signer and splits the bytes into segments.
    fn build(
        &self,
        reference: &dyn Reference,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Signer,
        now: SystemTime,
    ) -> std::result::Result<Plan, String> {
        let sentinel = Arc::new(self.sentinel_signer(signer));
        let marks: Vec<(usize, String)> = fields(&sentinel)
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| (i, v.to_string()))
            .collect();
        let rendered = reference
            .render(scratch, recipient, &sentinel)
            .map_err(|e| format!("{e:#}"))?;
        let mut bytes = Vec::new();
        reference
            .write(scratch, recipient, &sentinel, false, now, &mut bytes)
            .map_err(|e| format!("{e:#}"))?;
        let text = String::from_utf8(bytes).map_err(|_| "the letter is not UTF-8".to_string())?;
        let sender = if self.format.is_email() {
            let produced = Produced {
                letter: rendered.clone(),
                line: None,
                identity: String::new(),
            };
            let sender = reference.sender(&produced).map_err(|e| format!("{e:#}"))?;
            Some(sender_plan(&sender, &marks)?)
        } else {
            None
        };
        // The journal key is the letter and recipient, then the member
        // (`letters::journal_key`, `personal_identity`; see `fill`).
        let ids = sender.as_ref().map(|sp| {
            let prefix = crate::letters::journal_key(&self.letter_id, recipient, "");
            let from = Sender {
                from: lettre::message::Mailbox::new(None, sp.from.clone()),
                reply_to: None,
                bcc: None,
                contact: None,
            };
            MessageIds::new(&prefix, &from)
        });

        let mut uses: Vec<(usize, Use)> = Vec::new();
        let mut note_use =
            |field: usize, f: &dyn Fn(&mut Use)| match uses.iter_mut().find(|(i, _)| *i == field) {
                Some((_, u)) => f(u),
                None => {
                    let mut u = Use::default();
                    f(&mut u);
                    uses.push((field, u));
                }
            };

        // The subject, for Message-ID and the Subject header.
        let mut subject = Vec::new();
        for (piece, field) in split(&rendered.subject, &marks) {
            subject.push(Piece::Literal(piece.to_string()));
            if let Some(field) = field {
                subject.push(Piece::Field(field));
                note_use(field, &|u| u.subject = true);
            }
        }

        // Reflowed paragraphs move their line breaks with the values' length:
        // signer values may only be in blocks that `reflow` keeps as they are
        // (the signature, or blocks that are neither prose nor a list).
        let mut blocks = Vec::new();
        let all: Vec<&str> = rendered.body.split("\n\n").collect();
        let signature = crate::reflow::signature_start(&all);
        for (i, block) in all.iter().enumerate() {
            if marks.iter().any(|(_, m)| block.contains(m.as_str())) {
                let in_signature = i >= signature;
                if !in_signature && !crate::reflow::keeps(block) {
                    return Err(format!(
                        "the signer's values are in paragraph {} of the letter, which is reflowed around their length",
                        i + 1
                    ));
                }
                let pieces = pieces(block, &marks);
                let first_line_fixed = pieces
                    .iter()
                    .take_while(|p| matches!(p, Piece::Literal(_)))
                    .any(|p| matches!(p, Piece::Literal(l) if l.contains('\n')));
                blocks.push(Block {
                    pieces,
                    closing: crate::reflow::is_closing(block),
                    in_signature,
                    first_line_fixed,
                });
            }
        }
        let message_field = sentinel
            .extra
            .keys()
            .position(|k| k.eq_ignore_ascii_case("message"))
            .map(|i| 5 + i);
        let mut segments = Vec::new();
        let mut seven_bit_body = false;
        let body_start = match self.format {
            Format::Eml | Format::Mbox => {
                let mut at = 0;
                if self.format == Format::Mbox {
                    let end = text.find('\n').ok_or("no mbox separator line")? + 1;
                    if matches!(self.clock, Clock::Now) {
                        segments.push(Segment::MboxSeparator);
                    } else {
                        segments.push(Segment::Literal(0..end));
                    }
                    at = end;
                }
                let head_end = text[at..].find("\n\n").ok_or("no end of headers")? + at + 1;
                let head = &text[at..head_end];
                if !head.contains("\nContent-Transfer-Encoding: 7bit\n") {
                    return Err("the body is not 7bit (non-ASCII or long lines in the letter): the general path encodes it".into());
                }
                seven_bit_body = true;
                // Header fields: a line and its indented continuations.
                let mut field_start = at;
                let mut lines = head.split_inclusive('\n').peekable();
                let mut pos = at;
                while let Some(line) = lines.next() {
                    pos += line.len();
                    if lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                        continue;
                    }
                    let field = &text[field_start..pos];
                    let name = field.split(':').next().unwrap_or("");
                    let constant_subject = subject.iter().all(|p| matches!(p, Piece::Literal(_)));
                    match HeaderKind::of(name) {
                        Some(HeaderKind::Date) if !matches!(self.clock, Clock::Now) => {
                            segments.push(Segment::Literal(field_start..pos))
                        }
                        Some(HeaderKind::Subject) if constant_subject => {
                            segments.push(Segment::Literal(field_start..pos))
                        }
                        Some(kind) => segments.push(Segment::Header(kind)),
                        None => {
                            if let Some((_, m)) =
                                marks.iter().find(|(_, m)| field.contains(m.as_str()))
                            {
                                return Err(format!(
                                    "the signer's values reach the {name} header ({m})"
                                ));
                            }
                            segments.push(Segment::Literal(field_start..pos));
                        }
                    }
                    field_start = pos;
                }
                head_end
            }
            Format::Text | Format::Json => 0,
        };

        // The rest: literal text, signer values and (json) the Message-ID.
        let json = self.format == Format::Json;
        let mut id_span = None;
        if json {
            const KEY: &str = "\"message_id\":\"";
            let start = text.find(KEY).ok_or("no message_id in the json")? + KEY.len();
            let len = text[start..].find('"').ok_or("unterminated message_id")?;
            id_span = Some((start, start + len));
        }
        let mut pos = body_start;
        let rest_end = text.len();
        loop {
            let next_mark = marks
                .iter()
                .filter_map(|(i, m)| {
                    text[pos..rest_end]
                        .find(m.as_str())
                        .map(|at| (pos + at, *i, m.len()))
                })
                .min();
            let next_id = id_span
                .filter(|(s, _)| *s >= pos)
                .map(|(s, e)| (s, usize::MAX, e - s));
            let next = match (next_mark, next_id) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let Some((at, field, len)) = next else {
                segments.push(Segment::Literal(pos..rest_end));
                break;
            };
            segments.push(Segment::Literal(pos..at));
            if field == usize::MAX {
                segments.push(Segment::MessageId { json });
            } else {
                // In json only the body is tidied text; the signer's name
                // field and the subject are written as they are.
                let body = !json || in_json_body(&text, at);
                segments.push(Segment::Field { field, json, body });
                if body {
                    note_use(field, &|u| u.body = true);
                }
            }
            pos = at + len;
        }
        segments.retain(|s| !matches!(s, Segment::Literal(r) if r.is_empty()));
        Ok(Plan {
            bytes: text.into_bytes(),
            segments,
            subject,
            uses,
            seven_bit_body,
            sender,
            ids,
            blocks,
            message_field,
        })
    }

    /// A signer with the same shape as `signer`, every non-empty value a
    /// sentinel that appears nowhere in the campaign.
    fn sentinel_signer(&self, signer: &Signer) -> Signer {
        let mark = |i: usize, v: &str| {
            if v.is_empty() {
                String::new()
            } else if i == 2 {
                format!("qq{}f{i:02}qq@sentinel.invalid", self.nonce)
            } else {
                format!("QQ{}F{i:02}QQ", self.nonce.to_ascii_uppercase())
            }
        };
        Signer {
            name: mark(0, &signer.name),
            organisation: mark(1, &signer.organisation),
            email: mark(2, &signer.email),
            address: mark(3, &signer.address),
            country: mark(4, &signer.country),
            // The language picks the variant: it is part of the plan's key.
            language: signer.language.clone(),
            extra: signer
                .extra
                .iter()
                .enumerate()
                .map(|(j, (k, v))| (k.clone(), mark(5 + j, v)))
                .collect(),
        }
    }

    /// One letter from its plan, or why it must take the general path.
    fn fill(
        &self,
        plan: &Plan,
        values: &[&str],
        now: SystemTime,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), Why> {
        for &(field, u) in &plan.uses {
            let v = values.get(field).copied().unwrap_or("");
            if u.body && !tidy_keeps(v) {
                return Err(Why::Whitespace);
            }
            if u.subject && !collapse_keeps(v) {
                return Err(Why::Whitespace);
            }
            if u.body && plan.seven_bit_body && !v.is_ascii() {
                return Err(Why::NotSevenBit);
            }
        }
        if let Some(f) = plan.message_field
            && values.get(f).is_some_and(|v| v.trim() != *v)
        {
            return Err(Why::Whitespace);
        }
        let mut text = String::with_capacity(256);
        for block in &plan.blocks {
            if !block.holds(values, &mut text) {
                return Err(Why::Reflow);
            }
        }
        // The Message-ID, from the journal key: the plan's letter and
        // recipient, then `personal_identity` (email|name|organisation).
        let mut id = Vec::with_capacity(96);
        if let Some(ids) = &plan.ids {
            let part = |f: usize| values.get(f).copied().unwrap_or("");
            ids.write(&[part(2), "|", part(0), "|", part(1)], &mut id);
        }
        let mbox = self.format == Format::Mbox;
        let start = out.len();
        out.reserve(plan.bytes.len() + 512);
        let mut body_spans: Vec<(usize, usize)> = Vec::with_capacity(4);
        for segment in &plan.segments {
            match segment {
                Segment::Literal(r) => out.extend_from_slice(&plan.bytes[r.clone()]),
                Segment::Field { field, json, body } => {
                    let v = values.get(*field).copied().unwrap_or("");
                    let s = out.len();
                    if *json {
                        json_fragment(v.as_bytes(), out);
                    } else {
                        out.extend_from_slice(v.as_bytes());
                    }
                    if *body && !*json {
                        body_spans.push((s, out.len()));
                    }
                }
                Segment::MessageId { json } => {
                    if *json {
                        json_fragment(&id, out);
                    } else {
                        out.extend_from_slice(&id);
                    }
                }
                Segment::Header(kind) => {
                    let Some(sp) = &plan.sender else {
                        return Err(Why::Error);
                    };
                    match kind {
                        HeaderKind::From => {
                            text.clear();
                            if let Some(name) = &sp.from_name {
                                fill_pieces_into(name, values, &mut text);
                            }
                            // As `message::mailbox` refuses them.
                            if text.chars().any(char::is_control) {
                                return Err(Why::Error);
                            }
                            let name = sp.from_name.as_ref().map(|_| text.as_str());
                            crate::message::mailbox_line("From", name, sp.from.as_ref(), "\n", out);
                        }
                        HeaderKind::ReplyTo => {
                            if let Some((name, field)) = &sp.reply_to {
                                let name = fill_pieces(name, values);
                                let email = values.get(*field).copied().unwrap_or("");
                                let mailbox = crate::message::mailbox(
                                    Some(&name),
                                    email,
                                    "the member's name",
                                )
                                .map_err(|_| Why::Error)?;
                                crate::message::mailbox_line(
                                    "Reply-To",
                                    mailbox.name.as_deref(),
                                    mailbox.email.as_ref(),
                                    "\n",
                                    out,
                                );
                            }
                        }
                        HeaderKind::Subject => {
                            let text = header_text(header::Subject::from(fill_pieces(
                                &plan.subject,
                                values,
                            )));
                            write_lf(text.as_bytes(), out, false).map_err(|_| Why::Error)?;
                        }
                        HeaderKind::MessageId => {
                            if id.iter().all(u8::is_ascii_graphic) {
                                // One word of printable ASCII: lettre writes it as it is.
                                out.extend_from_slice(b"Message-ID: ");
                                out.extend_from_slice(&id);
                                out.push(b'\n');
                            } else {
                                let id = String::from_utf8_lossy(&id).into_owned();
                                let text = header_text(header::MessageId::from(id));
                                write_lf(text.as_bytes(), out, false).map_err(|_| Why::Error)?;
                            }
                        }
                        HeaderKind::Date => {
                            let text = header_text(header::Date::new(now));
                            write_lf(text.as_bytes(), out, false).map_err(|_| Why::Error)?;
                        }
                    }
                }
                Segment::MboxSeparator => {
                    let Some(sp) = &plan.sender else {
                        return Err(Why::Error);
                    };
                    mbox_separator(sp.from.as_ref(), now, out).map_err(|_| Why::Error)?;
                }
            }
        }
        // Lines the signer's values are on: still short enough for 7bit,
        // and (mbox) not starting like a separator line.
        for &(s, e) in &body_spans {
            let line_start = out[start..s]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(start, |i| start + i + 1);
            let mut ls = line_start;
            loop {
                let le = out[ls..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(out.len(), |i| ls + i);
                if plan.seven_bit_body && le - ls > SEVEN_BIT_LINE {
                    return Err(Why::LongLine);
                }
                if mbox && (ls > s || starts_early(&out[ls..s])) && from_line(&out[ls..le]) {
                    return Err(Why::MboxFrom);
                }
                if le >= e {
                    break;
                }
                ls = le + 1;
            }
        }
        Ok(())
    }
}

/// The pieces with the signer's values put in.
fn fill_pieces(pieces: &[Piece], values: &[&str]) -> String {
    let mut out = String::new();
    fill_pieces_into(pieces, values, &mut out);
    out
}

fn fill_pieces_into(pieces: &[Piece], values: &[&str], out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Field(f) => out.push_str(values.get(*f).copied().unwrap_or("")),
        }
    }
}

/// `text` cut at the sentinels into pieces.
fn pieces(text: &str, marks: &[(usize, String)]) -> Vec<Piece> {
    let mut out = Vec::new();
    for (piece, field) in split(text, marks) {
        if !piece.is_empty() {
            out.push(Piece::Literal(piece.to_string()));
        }
        if let Some(field) = field {
            out.push(Piece::Field(field));
        }
    }
    out
}

/// The sentinel signer's `Sender` as a plan: the account's address must
/// be constant, the Reply-To address the signer's email.
fn sender_plan(
    sender: &Sender,
    marks: &[(usize, String)],
) -> std::result::Result<SenderPlan, String> {
    let has_mark = |s: &str| marks.iter().any(|(_, m)| s.contains(m.as_str()));
    if has_mark(sender.from.email.as_ref()) {
        return Err("the From address depends on the signer".into());
    }
    if sender
        .bcc
        .as_ref()
        .is_some_and(|b| has_mark(&b.to_string()))
    {
        return Err("the Bcc address depends on the signer".into());
    }
    let reply_to = match &sender.reply_to {
        None => None,
        Some(r) => {
            let field = marks
                .iter()
                .find(|(_, m)| m.as_str() == AsRef::<str>::as_ref(&r.email))
                .map(|(i, _)| *i)
                .ok_or("the Reply-To address is not the signer's email")?;
            Some((pieces(r.name.as_deref().unwrap_or(""), marks), field))
        }
    };
    Ok(SenderPlan {
        from_name: sender.from.name.as_deref().map(|n| pieces(n, marks)),
        from: sender.from.email.clone(),
        reply_to,
    })
}

/// Whether a value put in at the end of `prefix` (the start of its line)
/// could make the line begin `>*From `: only `>`s and the start of
/// `From ` come before it.
fn starts_early(prefix: &[u8]) -> bool {
    let rest: &[u8] = {
        let skip = prefix.iter().take_while(|&&b| b == b'>').count();
        &prefix[skip..]
    };
    b"From ".starts_with(rest)
}

/// mboxrd quotes lines like these (see `output::write_lf`).
fn from_line(line: &[u8]) -> bool {
    line.iter()
        .skip_while(|&&b| b == b'>')
        .take(5)
        .eq(b"From ".iter())
}

/// Whether the body's tidying (`render::tidy`) leaves this value as it is
/// wherever it is printed: no line of it empty or ending in whitespace, no
/// CR or other control character.
fn tidy_keeps(v: &str) -> bool {
    v.split('\n').all(|line| {
        line.chars().next_back().is_some_and(|c| !c.is_whitespace())
            && !line.chars().any(char::is_control)
    })
}

/// Whether collapsing the subject's whitespace leaves this value as it is.
fn collapse_keeps(v: &str) -> bool {
    !v.starts_with(' ')
        && !v.ends_with(' ')
        && !v.contains("  ")
        && v.chars().all(|c| c == ' ' || !c.is_whitespace())
        && !v.chars().any(char::is_control)
}

/// Whether the byte at `at` of a json record is inside its `body`.
fn in_json_body(text: &str, at: usize) -> bool {
    text.rfind("\"body\":\"").is_some_and(|b| at > b)
}

/// `v` (UTF-8) escaped as serde_json escapes a string's content.
fn json_fragment(v: &[u8], out: &mut Vec<u8>) {
    if v.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(v);
    } else if let Ok(quoted) = serde_json::to_string(&String::from_utf8_lossy(v)) {
        out.extend_from_slice(&quoted.as_bytes()[1..quoted.len() - 1]);
    }
}

/// One header as lettre writes it in a message: `Name: value\r\n`,
/// encoded and folded by lettre.
fn header_text(h: impl Header) -> String {
    let mut headers = Headers::new();
    headers.set(h);
    headers.to_string()
}

/// `text` cut at each sentinel: (text before, the field that follows).
fn split<'t>(text: &'t str, marks: &[(usize, String)]) -> Vec<(&'t str, Option<usize>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let next = marks
            .iter()
            .filter_map(|(i, m)| {
                text[pos..]
                    .find(m.as_str())
                    .map(|at| (pos + at, *i, m.len()))
            })
            .min();
        match next {
            Some((at, field, len)) => {
                out.push((&text[pos..at], Some(field)));
                pos = at + len;
            }
            None => {
                out.push((&text[pos..], None));
                return out;
            }
        }
    }
}

/// A token found nowhere in the campaign's files, for the sentinels.
fn nonce(campaign: &Campaign) -> String {
    let mut texts: Vec<String> = campaign
        .sources
        .letters
        .iter()
        .map(|f| f.text.to_ascii_lowercase())
        .collect();
    texts.push(campaign.sources.recipients.text.to_ascii_lowercase());
    let mut n: u64 = 0x5e47_1e11;
    loop {
        let candidate = format!("{n:x}");
        if !texts.iter().any(|t| t.contains(&format!("qq{candidate}"))) {
            return candidate;
        }
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
}

/// A signer of the same shape with plain values that fit any plan, of
/// other lengths than the sentinels: the check every plan must pass.
fn probe_signer(signer: &Signer) -> Signer {
    let plain = |v: &str, p: &str| {
        if v.is_empty() {
            String::new()
        } else {
            p.to_string()
        }
    };
    Signer {
        name: plain(&signer.name, "Jo Probe"),
        organisation: plain(&signer.organisation, "Probe Union Branch 7"),
        email: plain(&signer.email, "jo.probe@probe.example"),
        address: plain(&signer.address, "1 Probe Street\nProbeton"),
        country: plain(&signer.country, "GB"),
        language: signer.language.clone(),
        extra: signer
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), plain(v, "probe value")))
            .collect(),
    }
}

/// "name, email and organisation", for notes.
fn describe_shape(signer: &Signer) -> String {
    let mut present = Vec::new();
    for (label, v) in [
        ("name", &signer.name),
        ("organisation", &signer.organisation),
        ("email", &signer.email),
        ("address", &signer.address),
        ("country", &signer.country),
    ] {
        if !v.is_empty() {
            present.push(label.to_string());
        }
    }
    for (k, v) in &signer.extra {
        if !v.is_empty() {
            present.push(format!("`{k}`"));
        }
    }
    format!("{} given", present.join(", "))
}

/// Where two outputs first differ, for a note.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let show = |s: &[u8]| {
        String::from_utf8_lossy(&s[at.min(s.len())..(at + 40).min(s.len())]).into_owned()
    };
    format!("at byte {at}: {:?} vs {:?}", show(a), show(b))
}
