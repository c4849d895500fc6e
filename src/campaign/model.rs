//! The campaign as the rest of the program sees it: validated, with every
//! address parsed once and every template compiled.

use std::collections::BTreeMap;

use serde::Serialize;

/// The `[campaign]` table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignInfo {
    pub name: String,
    pub description: String,
    /// Every email carries these as Cc, whoever it is addressed to.
    pub copies_to: Vec<String>,
    pub default_letter: Option<String>,
    /// ISO date (YYYY-MM-DD) after which the campaign is stale.
    pub deadline: Option<String>,
}

/// One `[[recipient]]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    pub title: String,
    pub salutation: String,
    pub email: Option<String>,
    pub cc: Vec<String>,
    pub phone: Option<String>,
    pub address: Vec<String>,
    pub language: Option<String>,
    /// Contacts by the signer's country (ISO code, upper case): the embassy.
    pub countries: BTreeMap<String, CountryContact>,
}

/// A recipient's contact details in one country.
#[derive(Debug, Clone, Serialize)]
pub struct CountryContact {
    pub name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub cc: Vec<String>,
    pub phone: Option<String>,
    pub address: Vec<String>,
}

/// How a recipient can be reached, for `list` and the call sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Phone,
    Post,
}

impl Recipient {
    /// Channels this recipient has in any country.
    pub fn channels(&self) -> Vec<Channel> {
        let any = |f: &dyn Fn(&CountryContact) -> bool| self.countries.values().any(f);
        let mut out = Vec::new();
        if self.email.is_some() || any(&|c| c.email.is_some()) {
            out.push(Channel::Email);
        }
        if self.phone.is_some() || any(&|c| c.phone.is_some()) {
            out.push(Channel::Phone);
        }
        if !self.address.is_empty() || any(&|c| !c.address.is_empty()) {
            out.push(Channel::Post);
        }
        out
    }

    /// Whether the contact details depend on the signer's country.
    pub fn by_country(&self) -> bool {
        !self.countries.is_empty()
    }

    /// Known country codes, for error messages.
    pub fn country_list(&self) -> String {
        self.countries
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One letter (all its language variants share the front matter's id).
#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    pub id: String,
    pub subject: String,
    pub description: String,
    pub recipients: Vec<String>,
    /// Two or three sentences to say on the phone.
    pub talking_points: Vec<String>,
    /// Language code → template name; `None` key is the default variant.
    #[serde(skip)]
    pub variants: BTreeMap<Option<String>, Variant>,
}

/// The compiled templates of one language variant of a letter.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Tera name of the body template (the file name).
    pub body: String,
    /// Tera name of the subject template.
    pub subject: String,
    pub subject_text: String,
}

impl Letter {
    /// The variant for the first language in `preferred` that exists, else
    /// the default one.
    pub fn variant(&self, preferred: &[Option<&str>]) -> &Variant {
        preferred
            .iter()
            .flatten()
            .find_map(|lang| self.variants.get(&Some(lang.to_string())))
            .or_else(|| self.variants.get(&None))
            .or_else(|| self.variants.values().next())
            .expect("a letter is only built from at least one file")
    }

    /// Languages other than the default this letter exists in.
    pub fn languages(&self) -> Vec<&str> {
        self.variants.keys().flatten().map(String::as_str).collect()
    }
}
