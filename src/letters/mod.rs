//! The letters of one run, produced one at a time: every signer (one
//! person, each member of a list, or all members as one petition) times
//! every chosen addressee. `write` and `send` both consume this stream, so a
//! batch of 40,000 members never sits in memory.

pub mod call;
pub mod opening;
pub mod reflow;
pub mod render;
pub mod select;
pub mod voice;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::campaign::Addressee;
use crate::cli::ReplyTo;
use crate::message::{Rendered, Sender, mailbox};
use crate::signers::Account;
use crate::signers::petition::Petition;
use crate::signers::signatories::MemberList;
use crate::signers::signer::Signer;
use render::Renderer;

/// Who signs the letters of a run.
pub enum Signing {
    /// One person (flags, environment, profile or prompt).
    One(Arc<Signer>),
    /// Each member of the list signs their own letter.
    PerMember(MemberList),
    /// All members sign one letter per recipient: a petition; with members
    /// in several countries, one per country to its embassy (see
    /// `select::group`).
    Group(Vec<Part>),
}

/// One petition of a `--group` run and the addressing key of the
/// recipients it goes to.
pub struct Part {
    pub petition: Petition,
    pub country: Option<String>,
}

/// Who signs one letter, with the CSV line it came from (batches).
pub struct SignerSet {
    pub line: Option<u64>,
    pub signers: Vec<Arc<Signer>>,
    /// The member's own country (a list's `country` column), which picks
    /// their embassy; `None` for the run's country. (A petition's part.)
    pub country: Option<String>,
    /// Which petition of a `--group` run (its place in `Signing::Group`).
    pub petition: Option<usize>,
}

/// Whom the letters of a run go to: the same recipients for every signer
/// set, except that a country-dependent one (an embassy) follows each
/// member's own country.
#[derive(Debug, Clone, Default)]
pub struct Addressing {
    /// For sets without a country of their own.
    default: Vec<Arc<Addressee>>,
    by_country: BTreeMap<String, Vec<Arc<Addressee>>>,
    /// How many signer sets have each country ("" for the default).
    sets: BTreeMap<String, u64>,
}

impl Addressing {
    /// The same addressees for `sets` signer sets.
    pub fn same(addressees: Vec<Arc<Addressee>>, sets: u64) -> Self {
        Addressing {
            default: addressees,
            by_country: BTreeMap::new(),
            sets: BTreeMap::from([(String::new(), sets)]),
        }
    }

    /// Adds the addressees for members in `country` (resolved once).
    pub fn add_country(&mut self, country: &str, addressees: Vec<Arc<Addressee>>) {
        self.by_country.insert(country.to_string(), addressees);
    }

    /// The addressees for sets without a country of their own.
    pub fn set_default(&mut self, addressees: Vec<Arc<Addressee>>) {
        self.default = addressees;
    }

    /// Records `n` more signer sets in `country` (`None` or "": the default).
    pub fn count_sets(&mut self, country: Option<&str>, n: u64) {
        *self
            .sets
            .entry(country.unwrap_or_default().to_string())
            .or_default() += n;
    }

    /// Whether the addressees for `country` are known already.
    pub fn has_country(&self, country: &str) -> bool {
        self.by_country.contains_key(country)
    }

    /// The addressees for members in `country` (`None`: the default).
    pub fn list(&self, country: Option<&str>) -> &[Arc<Addressee>] {
        country
            .and_then(|c| self.by_country.get(c))
            .unwrap_or(&self.default)
    }

    /// The addressees of one signer set.
    pub fn for_set(&self, set: &SignerSet) -> &[Arc<Addressee>] {
        set.country
            .as_deref()
            .and_then(|c| self.by_country.get(c))
            .unwrap_or(&self.default)
    }

    /// Every distinct addressee some signer set writes to, in order (for
    /// composing, notes and checks).
    pub fn all(&self) -> Vec<Arc<Addressee>> {
        let used = |country: &str| self.sets.get(country).is_some_and(|n| *n > 0);
        let default_used = self
            .sets
            .iter()
            .any(|(c, n)| *n > 0 && !self.by_country.contains_key(c));
        let own = self
            .by_country
            .iter()
            .filter(|(c, _)| used(c))
            .flat_map(|(_, list)| list);
        let default = self.default.iter().filter(|_| default_used);
        let mut out: Vec<Arc<Addressee>> = Vec::new();
        for a in default.chain(own) {
            if !out
                .iter()
                .any(|o| o.id == a.id && o.email == a.email && o.name == a.name)
            {
                out.push(Arc::clone(a));
            }
        }
        out
    }

    /// The letters of the run: signer sets times their addressees.
    pub fn letter_count(&self) -> u64 {
        self.sets
            .iter()
            .map(|(country, n)| {
                let list = self.by_country.get(country).unwrap_or(&self.default);
                n * list.len() as u64
            })
            .sum()
    }

    /// Keeps only the addressees for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(&Addressee) -> bool) {
        self.default.retain(|a| keep(a));
        for list in self.by_country.values_mut() {
            list.retain(|a| keep(a));
        }
    }

    /// Splits into the addressees for which `pred` holds and the others.
    pub fn partition(self, pred: impl Fn(&Addressee) -> bool) -> (Addressing, Addressing) {
        let mut yes = self.clone();
        yes.retain(&pred);
        let mut no = self;
        no.retain(|a| !pred(a));
        (yes, no)
    }

    /// Whether no signer set has any addressee.
    pub fn is_empty(&self) -> bool {
        self.letter_count() == 0
    }
}

/// One letter of the run.
pub struct Produced {
    pub letter: Rendered,
    /// The CSV line of the signer (per-member batches).
    pub line: Option<u64>,
    /// Who signed, as the journal knows them (see `identity`).
    pub identity: String,
    /// Who signed, exactly as spelt (see `exact`): with the journal key,
    /// what the Message-ID is made from.
    pub exact: String,
    /// The petition that signs it, in a `--group` run.
    pub petition: Option<Petition>,
}

impl Signing {
    /// Whether the signers come from a members' list (per member or petition).
    pub fn is_batch(&self) -> bool {
        !matches!(self, Signing::One(_))
    }

    /// The signer sets, lazily: one person, each valid row, or everyone.
    /// Rows the list check found bad are skipped here.
    pub fn sets(&self) -> Result<Box<dyn Iterator<Item = Result<SignerSet>> + Send + '_>> {
        Ok(match self {
            Signing::One(s) => Box::new(std::iter::once(Ok(SignerSet {
                line: None,
                signers: vec![Arc::clone(s)],
                country: None,
                petition: None,
            }))),
            // The petition's members are read as its letter is made.
            Signing::Group(parts) => Box::new(parts.iter().enumerate().map(|(i, part)| {
                Ok(SignerSet {
                    line: None,
                    signers: vec![Arc::clone(part.petition.first())],
                    country: part.country.clone(),
                    petition: Some(i),
                })
            })),
            Signing::PerMember(list) => Box::new(list.rows()?.filter_map(|row| match row {
                Ok((line, Ok(signer))) => Some(Ok(SignerSet {
                    line: Some(line),
                    country: Some(signer.country.clone()).filter(|c| !c.is_empty()),
                    signers: vec![Arc::new(signer)],
                    petition: None,
                })),
                Ok((_, Err(_))) => None,
                Err(e) => Some(Err(e)),
            })),
        })
    }

    /// The letters, lazily: every signer set times its addressees.
    pub fn letters<'a>(
        &'a self,
        renderer: &'a Renderer<'a>,
        addressing: &'a Addressing,
    ) -> Result<Box<dyn Iterator<Item = Result<Produced>> + Send + 'a>> {
        if let Signing::Group(_) = self
            && let Some(problem) = renderer.petition_problem()
        {
            return Err(crate::letters::render::TemplateError {
                problem,
                limit: false,
            }
            .into());
        }
        Ok(Box::new(Letters {
            signing: self,
            renderer,
            addressing,
            sets: self.sets()?,
            scratch: renderer.scratch(),
            current: None,
        }))
    }

    /// Renders the letter of one signer set to one addressee; an error
    /// names the list's line and member, since it may show for some
    /// members only (a variable used in an `if` only some rows reach).
    pub fn produce(
        &self,
        renderer: &Renderer<'_>,
        scratch: &mut crate::letters::render::Scratch,
        addressee: &Arc<Addressee>,
        set: &SignerSet,
    ) -> Result<Produced> {
        let rendered = match self.petition(set) {
            Some(petition) => renderer.render_petition(scratch, addressee, petition),
            None => renderer.render_with(scratch, addressee, &set.signers),
        };
        let letter = match (self, set.line, set.signers.first()) {
            (Signing::PerMember(list), Some(line), Some(signer)) => {
                rendered.with_context(|| {
                    format!(
                        "{}:{line} ({}), to `{}`",
                        list.path().display(),
                        signer.name,
                        addressee.id
                    )
                })?
            }
            _ => rendered?,
        };
        Ok(Produced {
            letter,
            line: set.line,
            identity: self.identity(set),
            exact: self.exact(set),
            petition: self.petition(set).cloned(),
        })
    }

    /// Who the email is from, for one produced letter.
    pub fn sender(
        &self,
        produced: &Produced,
        account: Option<&Account>,
        bcc_me: bool,
    ) -> Result<Sender> {
        match (self, account) {
            (Signing::One(signer), _) => Sender::personal(signer, bcc_me),
            (Signing::PerMember(_), Some(account)) => {
                let member = &produced.letter.signer;
                let display = if account.label().is_empty() {
                    member.name.clone()
                } else {
                    format!("{} via {}", member.name, account.label())
                };
                let from = mailbox(Some(&display), &account.email, "the member's name")?;
                let member_address = if member.email.is_empty() {
                    None
                } else {
                    Some(mailbox(
                        Some(&member.name),
                        &member.email,
                        "the member's name",
                    )?)
                };
                let (reply_to, contact) = match account.reply_to {
                    ReplyTo::Member => (member_address, None),
                    ReplyTo::None => (None, member_address.map(|m| m.email.to_string())),
                };
                let bcc = if bcc_me {
                    Some(mailbox(None, &account.email, "")?)
                } else {
                    None
                };
                Ok(Sender {
                    from,
                    reply_to,
                    bcc,
                    contact,
                })
            }
            (Signing::Group(_), Some(account)) => {
                Sender::plain(account.label(), &account.email, bcc_me)
            }
            (_, None) => bail!(
                "a batch is sent from one account: pass --email with the sending address \
                 (members appear in the display name and Reply-To)"
            ),
        }
    }

    /// The signer part of this exact version of the letter: the signature
    /// as spelt, or every member of a petition. Two spellings of one person
    /// are one letter to the journal but two messages, each with its own
    /// Message-ID (a mail system may drop a second message of one ID).
    pub fn exact(&self, set: &SignerSet) -> String {
        if let Some(petition) = self.petition(set) {
            return petition.exact().to_string();
        }
        set.signers.first().map_or_else(String::new, |one| {
            format!("{}|{}|{}", one.email, one.name, one.organisation)
        })
    }

    /// The petition `set` signs, in a `--group` run.
    pub fn petition(&self, set: &SignerSet) -> Option<&Petition> {
        match (self, set.petition) {
            (Signing::Group(parts), Some(i)) => parts.get(i).map(|p| &p.petition),
            _ => None,
        }
    }

    /// The signer part of a journal key: who "the same letter" is from.
    /// A petition is identified by everyone on it, even a petition of one,
    /// which is not the same letter as that member's own.
    pub fn identity(&self, set: &SignerSet) -> String {
        if let Some(petition) = self.petition(set) {
            return petition.identity().to_string();
        }
        set.signers
            .first()
            .map_or_else(String::new, |one| crate::signers::identity::of(one))
    }
}

/// The iterator of `Signing::letters`: one rendering context for the
/// whole run, so that what does not change from one member to the next
/// (the campaign, the recipient) is made into template values once.
struct Letters<'a> {
    signing: &'a Signing,
    renderer: &'a Renderer<'a>,
    addressing: &'a Addressing,
    sets: Box<dyn Iterator<Item = Result<SignerSet>> + Send + 'a>,
    scratch: crate::letters::render::Scratch,
    /// The signer set being written, and its next addressee.
    current: Option<(SignerSet, usize)>,
}

impl Iterator for Letters<'_> {
    type Item = Result<Produced>;

    fn next(&mut self) -> Option<Result<Produced>> {
        loop {
            if let Some((set, next)) = &mut self.current {
                if let Some(addressee) = self.addressing.for_set(set).get(*next) {
                    *next += 1;
                    return Some(self.signing.produce(
                        self.renderer,
                        &mut self.scratch,
                        addressee,
                        set,
                    ));
                }
                self.current = None;
            }
            match self.sets.next()? {
                Ok(set) => self.current = Some((set, 0)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Produced {
    /// The signature as a person reads it ("Jo Bloggs, Union", "a
    /// petition of 40 signatures"), for the journal and messages.
    pub fn signed(&self) -> String {
        match &self.petition {
            Some(petition) => petition.shown(),
            None => crate::signers::identity::shown(
                &self.letter.signer.name,
                &self.letter.signer.organisation,
            ),
        }
    }

    /// What this message's Message-ID is made from: the journal key's
    /// letter, recipient and address with the exact signature (the form
    /// earlier versions keyed the journal by, so their IDs are unchanged).
    pub fn message_seed(&self) -> String {
        journal_key(&self.letter.letter_id, &self.letter.recipient, &self.exact)
    }

    /// This letter's journal key (see `journal_key`).
    pub fn key(&self) -> String {
        journal_key(
            &self.letter.letter_id,
            &self.letter.recipient,
            &self.identity,
        )
    }
}

/// Letter, recipient, address and signer: sending the same letter to the
/// same recipient from the same signer again is what the journal prevents.
/// The Message-ID is made from it too, by `send` and by `write` alike.
pub fn journal_key(letter: &str, recipient: &Addressee, identity: &str) -> String {
    format!(
        "{letter}|{}|{}|{identity}",
        recipient.id,
        recipient.email.as_deref().unwrap_or("")
    )
}
