//! Finding a member listed twice: the check keeps one 8-byte key per
//! member (`Keys`), and only if some key comes twice reads the list again
//! to name the rows (`Repeats`).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::signers::signer::Signer;

use super::Duplicate;

/// The members' keys, one per usable row, in the check's pass.
#[derive(Default)]
pub(super) struct Keys(Vec<u64>);

impl Keys {
    pub(super) fn add(&mut self, signer: &Signer) {
        self.0.push(member_key(signer));
    }

    /// What a second pass needs to name the repeated members, if any
    /// member came more than once.
    pub(super) fn repeats(mut self) -> Option<Repeats> {
        self.0.sort_unstable();
        let repeated: HashSet<u64> = self
            .0
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        (!repeated.is_empty()).then(|| Repeats {
            repeated,
            first: HashMap::new(),
        })
    }
}

/// The members that come more than once, and the line each came first on
/// so far in the second pass.
pub(super) struct Repeats {
    repeated: HashSet<u64>,
    first: HashMap<u64, u64>,
}

impl Repeats {
    /// The row on `line`, if it repeats a member from an earlier line
    /// (rows are given in order).
    pub(super) fn earlier(&mut self, line: u64, signer: &Signer) -> Option<Duplicate> {
        let key = member_key(signer);
        if !self.repeated.contains(&key) {
            return None;
        }
        match self.first.entry(key) {
            Entry::Vacant(e) => {
                e.insert(line);
                None
            }
            Entry::Occupied(e) => Some(Duplicate {
                line,
                first_line: *e.get(),
                who: if signer.email.is_empty() {
                    signer.name.clone()
                } else {
                    signer.email.clone()
                },
            }),
        }
    }
}

/// Who a row is, for finding the same member twice: the person the
/// journal knows (`signers::identity`), so that a list never holds two
/// rows that would be one letter.
pub(super) fn member_key(signer: &Signer) -> u64 {
    crate::signers::fingerprint::of([crate::signers::identity::of(signer).as_str()])
}
