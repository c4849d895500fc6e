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
    /// What a user should know first (e.g. that it is a historical example).
    pub note: String,
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
    /// The office's IANA time zone, for the call sheet.
    pub time_zone: Option<String>,
    pub address: Vec<String>,
    pub language: Option<String>,
    /// Who held the office when the campaign's sources were written: kept
    /// as a record, never used to address a letter.
    pub historical_name: Option<String>,
    /// Contacts by the signer's country (ISO code, upper case): the embassy.
    pub countries: BTreeMap<String, CountryContact>,
    /// Name, title and salutation in other languages (`ru`).
    pub translations: BTreeMap<String, Wording>,
}

/// How a recipient is named and greeted in one language; what is missing
/// stays as in the recipient's own entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Wording {
    pub name: Option<String>,
    pub title: Option<String>,
    pub salutation: Option<String>,
}

/// A recipient's contact details in one country.
#[derive(Debug, Clone, Serialize)]
pub struct CountryContact {
    pub name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub cc: Vec<String>,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
    pub address: Vec<String>,
    pub translations: BTreeMap<String, Wording>,
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
    /// The language of the default file (`<id>.txt`), "en" unless its
    /// front matter says otherwise.
    pub language: String,
    /// ISO date after which the letter is out of date.
    pub valid_until: Option<String>,
    /// Shown in `list` and the send preview (e.g. "a record, not news").
    pub note: String,
    /// File language (`None`: the default file) → its templates.
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
    /// The language this variant is written in.
    pub language: String,
    /// This file's own talking points; empty when it has none.
    pub talking_points: Vec<String>,
}

impl Letter {
    /// The variant written in `lang` ("ru", or "ru-KZ" for a letter that
    /// has "ru"), if the letter has one.
    pub fn variant_in(&self, lang: &str) -> Option<&Variant> {
        let wanted = lang.to_ascii_lowercase();
        let primary = wanted.split(['-', '_']).next().unwrap_or(&wanted);
        let find = |want: &str| {
            self.variants
                .values()
                .find(|v| v.language.eq_ignore_ascii_case(want))
        };
        find(&wanted).or_else(|| find(primary))
    }

    /// The default variant (`<id>.txt`), else the first there is.
    pub fn default_variant(&self) -> &Variant {
        self.variants
            .get(&None)
            .or_else(|| self.variants.values().next())
            .expect("a letter is only built from at least one file")
    }

    /// The variant for the first language in `preferred` that exists, else
    /// the default one.
    pub fn variant(&self, preferred: &[Option<&str>]) -> &Variant {
        preferred
            .iter()
            .flatten()
            .find_map(|lang| self.variant_in(lang))
            .unwrap_or_else(|| self.default_variant())
    }

    /// What to say on the phone in `lang`: the points of the file in that
    /// language when it has some, else the default file's (`None` when
    /// the letter has no file in `lang`).
    pub fn talking_points_in(&self, lang: &str) -> Option<(&str, &[String])> {
        let variant = self.variant_in(lang)?;
        Some(if variant.talking_points.is_empty() {
            (self.language.as_str(), self.talking_points.as_slice())
        } else {
            (variant.language.as_str(), variant.talking_points.as_slice())
        })
    }

    /// Every language this letter is written in, the default first.
    pub fn languages(&self) -> Vec<&str> {
        let default = self.default_variant().language.as_str();
        let mut out = vec![default];
        out.extend(
            self.variants
                .values()
                .map(|v| v.language.as_str())
                .filter(|l| *l != default),
        );
        out
    }
}
