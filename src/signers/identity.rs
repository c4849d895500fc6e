//! Who signs, as the journal knows them: one person, however their name or
//! address is spelt on this run. "The same letter" is the same letter to
//! the same recipient from the same *person*, so an email in another case,
//! a name with a double or non-breaking space, decomposed Unicode or an
//! added organisation never sends a letter again.
//!
//! - With an email, the person is the email alone: trimmed, the domain in
//!   ASCII (IDNA) and lower case, the local part case-folded. Their other
//!   words (organisation, spelling of the name) do not make a new letter.
//! - Without one, the person is the whole signature (name, organisation,
//!   address), each in NFC with white space collapsed and case folded, so
//!   that two members of one name in different branches stay two people.
//! - A `--group` petition is one signer, whoever joins it later.
//!
//! Journals written before this (keys holding the signature's exact
//! bytes: `email|name|organisation`, or `petition of N:HASH`) are read
//! through [`canonical_key`], so no letter recorded in them goes twice.

use std::borrow::Cow;

use crate::signers::signer::Signer;

/// The identity of every `--group` petition (see the module doc).
pub const PETITION: &str = "petition";

/// The person who signs `signer`'s own letter.
pub fn of(signer: &Signer) -> String {
    if signer.email.trim().is_empty() {
        signature(&signer.name, &signer.organisation, &signer.address)
    } else {
        format!("email:{}", email(&signer.email))
    }
}

/// The journal's form of an email address (see the module doc).
pub fn email(address: &str) -> String {
    let address = address.trim();
    let Some((local, domain)) = address.rsplit_once('@') else {
        return fold(address);
    };
    // An ASCII domain is already its IDNA form once lower-cased (as
    // `domain_to_ascii` would give): the common case skips the IDNA pass,
    // which runs for every letter of a batch.
    let domain = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(domain)
            .unwrap_or_else(|_| domain.to_string())
            .to_ascii_lowercase()
    };
    format!("{}@{domain}", fold(local))
}

fn signature(name: &str, organisation: &str, address: &str) -> String {
    format!(
        "sig:{}|{}|{}",
        fold(name),
        fold(organisation),
        fold(address)
    )
}

/// NFC, white space collapsed to single spaces and trimmed, case folded.
pub fn fold(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_ascii() {
        // Most addresses and many names: NFC and folding are lower case.
        return collapsed.to_ascii_lowercase();
    }
    let nfc = icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(&collapsed);
    let folded = icu_casemap::CaseMapperBorrowed::new().fold_string(&nfc);
    // Folding can decompose (ǰ → ǰ); compose again so one spelling remains.
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc()
        .normalize(&folded)
        .into_owned()
}

/// A journal key (`letter|recipient|address|signer`) in today's form: keys
/// of earlier versions are turned into the identity they meant.
pub fn canonical_key(key: &str) -> Cow<'_, str> {
    let mut parts = key.splitn(4, '|');
    let (Some(letter), Some(recipient), Some(address), Some(signer)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Cow::Borrowed(key);
    };
    match legacy_identity(signer) {
        Some(identity) => Cow::Owned(format!("{letter}|{recipient}|{address}|{identity}")),
        None => Cow::Borrowed(key),
    }
}

/// The identity an earlier version's signer part meant, or `None` when it
/// is already in today's form.
fn legacy_identity(signer: &str) -> Option<String> {
    if signer == PETITION || signer.starts_with("email:") || signer.starts_with("sig:") {
        return None;
    }
    if signer.starts_with("petition of ") {
        return Some(PETITION.to_string());
    }
    // `email|name|organisation`; no version wrote an address into it.
    let (address, rest) = signer.split_once('|').unwrap_or((signer, ""));
    if !address.trim().is_empty() {
        return Some(format!("email:{}", email(address)));
    }
    let (name, organisation) = rest.split_once('|').unwrap_or((rest, ""));
    Some(signature(name, organisation, ""))
}

/// The key an earlier version would have recorded for `key`'s letter, when
/// it can differ: a signature with an address was recorded without it.
pub fn without_address(key: &str) -> Option<String> {
    key.rsplit_once("|sig:")?;
    let (rest, address) = key.rsplit_once('|')?;
    (!address.is_empty()).then(|| format!("{rest}|"))
}

/// The signature an earlier version's key records, for "signed '…'".
pub fn legacy_signature(key: &str) -> Option<String> {
    let signer = key.splitn(4, '|').nth(3)?;
    if let Some(count) = signer.strip_prefix("petition of ") {
        let n = count.split(':').next().unwrap_or("");
        return Some(format!("a petition of {n} signatures"));
    }
    let mut fields = signer.splitn(3, '|');
    let (_, name, organisation) = (fields.next()?, fields.next()?, fields.next()?);
    Some(shown(name, organisation))
}

/// A signature as a person reads it: "Jo Bloggs, Union".
pub fn shown(name: &str, organisation: &str) -> String {
    if organisation.trim().is_empty() {
        name.to_string()
    } else {
        format!("{name}, {organisation}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, organisation: &str, email: &str) -> Signer {
        Signer {
            name: name.into(),
            organisation: organisation.into(),
            email: email.into(),
            ..Signer::default()
        }
    }

    #[test]
    fn one_person_however_spelt() {
        let jo = of(&signer("Jo Bloggs", "", "jo@union.org.uk"));
        assert_eq!(jo, "email:jo@union.org.uk");
        assert_eq!(of(&signer("Jo  Bloggs", "Union", " Jo@Union.ORG.uk ")), jo);
        // IDNA: the domain in Unicode and in ASCII is one domain.
        let idn = of(&signer("A", "", "anna@Профсоюз.РФ"));
        assert!(idn.starts_with("email:anna@xn--"), "{idn}");
        assert!(idn.ends_with(".xn--p1ai"), "{idn}");
        let ascii = idn.trim_start_matches("email:").replace("anna", "ANNA");
        assert_eq!(of(&signer("A", "", &ascii)), idn);
        // Without an email: NFC, spacing and case do not matter...
        let decomposed = "Zoe\u{0308} Ivanova";
        assert_eq!(
            of(&signer(decomposed, "Branch\u{a0}A", "")),
            of(&signer("ZOË  ivanova", "branch a", ""))
        );
        // ...but the organisation does: two branches, two people.
        assert_ne!(
            of(&signer("Ivan Ivanov", "Branch B", "")),
            of(&signer("Ivan Ivanov", "Branch C", ""))
        );
    }

    #[test]
    fn keys_of_earlier_versions_mean_the_same_letter() {
        let new = |s: &Signer| format!("l|r|r@x|{}", of(s));
        let cases = [
            (
                "l|r|r@x|jo@union.org.uk|Jo Bloggs|Union",
                signer("Jo  Bloggs", "", "JO@union.org.uk"),
            ),
            (
                "l|r|r@x||Ivan Ivanov|Branch B",
                signer("ivan ivanov", "Branch  B", ""),
            ),
        ];
        for (old, person) in cases {
            assert_eq!(canonical_key(old), new(&person), "{old}");
        }
        assert_eq!(
            canonical_key("l|r|r@x|petition of 2:ed5343c479342dab"),
            format!("l|r|r@x|{PETITION}")
        );
        // Today's keys are left as they are.
        let today = new(&signer("Jo", "", "jo@x.org"));
        assert!(matches!(canonical_key(&today), Cow::Borrowed(_)));
        assert_eq!(
            legacy_signature("l|r|r@x|jo@union.org.uk|Jo Bloggs|Union").as_deref(),
            Some("Jo Bloggs, Union")
        );
    }

    #[test]
    fn an_address_added_since_is_still_the_same_person() {
        let mut ivan = signer("Ivan", "B", "");
        ivan.address = "1 Street".into();
        let key = format!("l|r|r@x|{}", of(&ivan));
        assert_eq!(
            without_address(&key).as_deref(),
            Some("l|r|r@x|sig:ivan|b|")
        );
        assert_eq!(without_address("l|r|r@x|sig:ivan|b|"), None);
        assert_eq!(without_address("l|r|r@x|email:a@b"), None);
    }
}
