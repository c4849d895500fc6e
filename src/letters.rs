//! The letters of one run, produced one at a time: every signer (one
//! person, each member of a list, or all members as one petition) times
//! every chosen addressee. `write` and `send` both consume this stream, so a
//! batch of 40,000 members never sits in memory.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::campaign::Addressee;
use crate::message::{Sender, mailbox};
use crate::render::{Rendered, Renderer};
use crate::signatories::MemberList;
use crate::signer::Signer;

/// Who signs the letters of a run.
pub enum Signing {
    /// One person (flags, environment, profile or prompt).
    One(Arc<Signer>),
    /// Each member of the list signs their own letter.
    PerMember(MemberList),
    /// All members sign one letter per recipient: a petition.
    Group(Vec<Arc<Signer>>),
}

/// The account that sends a batch: the secretary's address. Mail that says
/// it is From an address the sending account does not own fails DMARC and
/// lands in spam, so members appear in the display name and Reply-To.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub organisation: String,
    pub email: String,
}

impl Account {
    /// "Unite Branch 42", else the account holder's name.
    fn label(&self) -> &str {
        if !self.organisation.is_empty() {
            &self.organisation
        } else {
            &self.name
        }
    }
}

/// Who signs one letter, with the CSV line it came from (batches).
pub struct SignerSet {
    pub line: Option<u64>,
    pub signers: Vec<Arc<Signer>>,
}

/// One letter of the run.
pub struct Produced {
    pub letter: Rendered,
    /// The CSV line of the signer (per-member batches).
    pub line: Option<u64>,
    /// Who signed, as the journal knows them (see `identity`).
    pub identity: String,
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
            }))),
            Signing::Group(all) => Box::new(std::iter::once(Ok(SignerSet {
                line: None,
                signers: all.clone(),
            }))),
            Signing::PerMember(list) => Box::new(list.rows()?.filter_map(|row| match row {
                Ok((line, Ok(signer))) => Some(Ok(SignerSet {
                    line: Some(line),
                    signers: vec![Arc::new(signer)],
                })),
                Ok((_, Err(_))) => None,
                Err(e) => Some(Err(e)),
            })),
        })
    }

    /// The letters, lazily: every signer set times every addressee.
    pub fn letters<'a>(
        &'a self,
        renderer: &'a Renderer<'a>,
        addressees: &'a [Arc<Addressee>],
    ) -> Result<Box<dyn Iterator<Item = Result<Produced>> + Send + 'a>> {
        if let Signing::Group(_) = self
            && let Some(problem) = renderer.petition_problem()
        {
            return Err(crate::render::TemplateError {
                problem,
                limit: false,
            }
            .into());
        }
        Ok(Box::new(self.sets()?.flat_map(move |set| {
            let per_set: Box<dyn Iterator<Item = Result<Produced>> + Send> = match set {
                Err(e) => Box::new(std::iter::once(Err(e))),
                Ok(set) => Box::new(addressees.iter().map(move |a| {
                    Ok(Produced {
                        letter: renderer.render(a, &set.signers)?,
                        line: set.line,
                        identity: Self::identity(&set.signers),
                    })
                })),
            };
            per_set
        })))
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
                let reply_to = if member.email.is_empty() {
                    None
                } else {
                    Some(mailbox(
                        Some(&member.name),
                        &member.email,
                        "the member's name",
                    )?)
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

    /// The signer part of a journal key: who "the same letter" is from.
    /// A petition is identified by everyone on it.
    pub fn identity(signers: &[Arc<Signer>]) -> String {
        match signers {
            [one] => format!("{}|{}|{}", one.email, one.name, one.organisation),
            all => {
                let hash = crate::fingerprint::of(
                    all.iter().flat_map(|s| [s.name.as_str(), s.email.as_str()]),
                );
                format!("petition of {}:{hash:016x}", all.len())
            }
        }
    }
}
