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
use crate::signers::identity;
use crate::signers::signatories::MemberList;
use crate::signers::signer::Signer;

/// Everyone on a petition, in list order.
#[derive(Debug, Clone)]
pub struct Petition {
    members: Arc<[Arc<Signer>]>,
    /// [`Petition::signed`], made once for every recipient's letter.
    signed: Arc<std::sync::OnceLock<String>>,
    /// "petition of N:HASH", the FNV hash of every member's name and email
    /// in order: this version of the petition, which its Message-ID is
    /// made from (and which earlier versions keyed the journal by).
    exact: String,
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
        let exact = format!("petition of {}:{:016x}", members.len(), hash.finish());
        Ok(Petition {
            members: members.into(),
            signed: Arc::default(),
            exact,
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

    /// Who signs, as the journal knows them: the petition, whoever has
    /// joined it since it was sent (see `signers::identity`).
    pub fn identity(&self) -> &str {
        identity::PETITION
    }

    /// This version of the petition, exactly: every member as spelt.
    pub fn exact(&self) -> &str {
        &self.exact
    }

    /// Each member as the journal records who signed: the FNV hash of
    /// their identity, 16 hex digits each, in list order. A later run
    /// reads it back to name the signatures added since.
    pub fn signed(&self) -> &str {
        self.signed.get_or_init(|| {
            use std::fmt::Write;
            let mut out = String::with_capacity(self.members.len() * 16);
            for m in self.members.iter() {
                let _ = write!(out, "{:016x}", member_hash(m));
            }
            out
        })
    }

    /// The signature as a person reads it, for the journal and messages.
    pub fn shown(&self) -> String {
        match self.members.len() {
            1 => format!("a petition signed by {}", self.members[0].name),
            n => format!("a petition of {n} signatures"),
        }
    }

    /// The members who are not among `signed` (as [`Petition::signed`]
    /// wrote it): the signatures added since.
    pub fn joined_since(&self, signed: &str) -> Vec<&Arc<Signer>> {
        let before: std::collections::HashSet<u64> = signed
            .as_bytes()
            .chunks(16)
            .filter_map(|c| u64::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
            .collect();
        self.members
            .iter()
            .filter(|m| !before.contains(&member_hash(m)))
            .collect()
    }
}

/// One member's hash in [`Petition::signed`].
fn member_hash(signer: &Signer) -> u64 {
    crate::signers::fingerprint::of([identity::of(signer).as_str()])
}
