//! A `--group` petition: every member of a list signs one letter per
//! recipient.
//!
//! The members are read once, when the petition is loaded, and kept in
//! memory as the letter's `signatories`: a petition of 100,000 signatures
//! is a few tens of megabytes, and every recipient's letter is made from
//! the same list (the renderer turns it into template values once).

use std::hash::Hasher;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::signers::fingerprint::Fnv;
use crate::signers::signatories::MemberList;
use crate::signers::signer::Signer;

/// Everyone on a petition, in list order, with who signs as the journal
/// knows them.
#[derive(Debug, Clone)]
pub struct Petition {
    members: Arc<[Arc<Signer>]>,
    /// "petition of N:HASH", the FNV hash of every member's name and
    /// email in order: the journal's record of who signed (its spelling is
    /// kept so that journals of earlier versions still match).
    identity: String,
}

impl Petition {
    /// Reads `list` (checked): everyone on it signs.
    pub fn load(list: &MemberList) -> Result<Petition> {
        let mut members = Vec::new();
        for row in list.rows()? {
            if let (_, Ok(signer)) = row? {
                members.push(Arc::new(signer));
            }
        }
        Petition::new(members, list)
    }

    /// The members whose `country` is one of `countries` (`""` for none of
    /// their own), sharing this petition's values.
    pub fn only(&self, countries: &[String], list: &MemberList) -> Result<Petition> {
        let members = self
            .members
            .iter()
            .filter(|m| countries.contains(&m.country))
            .cloned()
            .collect();
        Petition::new(members, list)
    }

    fn new(members: Vec<Arc<Signer>>, list: &MemberList) -> Result<Petition> {
        if members.is_empty() {
            bail!("{} has no usable rows", list.path().display());
        }
        let mut hash = Fnv::default();
        for signer in &members {
            for part in [&signer.name, &signer.email] {
                hash.write(part.as_bytes());
                hash.write(&[0]);
            }
        }
        let identity = format!("petition of {}:{:016x}", members.len(), hash.finish());
        Ok(Petition {
            members: members.into(),
            identity,
        })
    }

    /// How many members sign.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no one signs (never: `load` refuses an empty list).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The first member, who is `signer` in the templates.
    pub fn first(&self) -> &Arc<Signer> {
        &self.members[0]
    }

    /// Every member, in list order.
    pub fn members(&self) -> &[Arc<Signer>] {
        &self.members
    }

    /// Who signs, as the journal knows them: everyone on the petition.
    pub fn identity(&self) -> &str {
        &self.identity
    }
}
