//! Who signs: one signer from flags, environment, profile or prompts, or
//! the members of a list (CSV or spreadsheet), one letter each or all on
//! one petition; and the account a batch is sent from.

pub mod fingerprint;
pub mod identity;
pub mod petition;
pub mod signatories;
pub mod signer;

use crate::cli::ReplyTo;

/// The account that sends a batch: the secretary's address. Mail that says
/// it is From an address the sending account does not own fails DMARC and
/// lands in spam, so members appear in the display name, and their address
/// in Reply-To or under the signature (`--reply-to`).
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub organisation: String,
    pub email: String,
    pub reply_to: ReplyTo,
}

impl Account {
    /// "Unite Branch 42", else the account holder's name.
    pub fn label(&self) -> &str {
        if !self.organisation.is_empty() {
            &self.organisation
        } else {
            &self.name
        }
    }
}
