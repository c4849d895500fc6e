//! `list`: what a campaign offers, for people (text) and scripts (json).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::campaign::{Campaign, Channel};

#[derive(Serialize)]
struct Listing<'a> {
    campaign: &'a crate::campaign::CampaignInfo,
    source: String,
    letters: Vec<LetterEntry<'a>>,
    recipients: Vec<RecipientEntry<'a>>,
}

#[derive(Serialize)]
struct LetterEntry<'a> {
    id: &'a str,
    subject: &'a str,
    description: &'a str,
    recipients: &'a [String],
    languages: Vec<&'a str>,
    default: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    note: &'a str,
    valid_until: Option<&'a str>,
}

#[derive(Serialize)]
struct RecipientEntry<'a> {
    id: &'a str,
    name: &'a str,
    title: &'a str,
    channels: Vec<Channel>,
    email: Option<&'a str>,
    cc: &'a [String],
    phone: Option<&'a str>,
    /// The office's time zone, for calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<&'a str>,
    countries: Vec<&'a str>,
    language: Option<&'a str>,
    historical_name: Option<&'a str>,
}

pub fn run(campaign: &Campaign, json: bool, out: &mut dyn Write) -> Result<()> {
    let default = campaign.info.default_letter.as_deref();
    let listing = Listing {
        campaign: &campaign.info,
        source: campaign.origin(),
        letters: campaign
            .letters
            .iter()
            .map(|l| LetterEntry {
                id: &l.id,
                subject: &l.subject,
                description: &l.description,
                recipients: &l.recipients,
                languages: l.languages(),
                default: Some(l.id.as_str()) == default,
                note: &l.note,
                valid_until: l.valid_until.as_deref(),
            })
            .collect(),
        recipients: campaign
            .recipients
            .iter()
            .map(|r| RecipientEntry {
                id: &r.id,
                name: &r.name,
                title: &r.title,
                channels: r.channels(),
                email: r.email.as_deref(),
                cc: &r.cc,
                phone: r.phone.as_deref(),
                time_zone: r.time_zone.as_deref(),
                countries: r.countries.keys().map(String::as_str).collect(),
                language: r.language.as_deref(),
                historical_name: r.historical_name.as_deref(),
            })
            .collect(),
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &listing)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "Campaign: {} ({})", campaign.info.name, listing.source)?;
    if !campaign.info.description.is_empty() {
        writeln!(out, "  {}", campaign.info.description)?;
    }
    if !campaign.info.note.is_empty() {
        writeln!(out, "  {}", campaign.info.note)?;
    }
    if let Some(deadline) = &campaign.info.deadline {
        writeln!(out, "  Deadline: {deadline}")?;
    }
    writeln!(out, "\nLetters:")?;
    let width = widest(listing.letters.iter().map(|l| l.id));
    for l in &listing.letters {
        let mark = if l.default { " (default)" } else { "" };
        writeln!(out, "  {:width$}  {}{mark}", l.id, l.description)?;
        writeln!(
            out,
            "  {:width$}  to: {}; languages: {}",
            "",
            l.recipients.join(", "),
            l.languages.join(", ")
        )?;
        if let Some(until) = l.valid_until {
            writeln!(out, "  {:width$}  valid until {until}", "")?;
        }
        if !l.note.is_empty() {
            writeln!(out, "  {:width$}  {}", "", l.note)?;
        }
    }
    writeln!(out, "\nRecipients:")?;
    let width = widest(listing.recipients.iter().map(|r| r.id));
    for r in &listing.recipients {
        let channels: Vec<&str> = r
            .channels
            .iter()
            .map(|c| match c {
                Channel::Email => "email",
                Channel::Phone => "phone",
                Channel::Post => "post",
            })
            .collect();
        let who = if r.title.is_empty() || r.title == r.name {
            r.name.to_string()
        } else {
            format!("{}, {}", r.name, r.title)
        };
        writeln!(out, "  {:width$}  {who}", r.id)?;
        if let Some(old) = r.historical_name {
            writeln!(
                out,
                "  {:width$}  named in the sources: {old} (historical)",
                ""
            )?;
        }
        let mut how = format!(
            "{:width$}  via {}",
            "",
            if channels.is_empty() {
                "nothing".into()
            } else {
                channels.join(", ")
            }
        );
        if let Some(phone) = r.phone {
            how.push_str(&format!("; tel {phone}"));
        }
        if let Some(zone) = r.time_zone {
            how.push_str(&format!(" ({zone})"));
        }
        if let Some(lang) = r.language {
            how.push_str(&format!("; language {lang}"));
        }
        if !r.countries.is_empty() {
            how.push_str(&format!(
                "; by country (--country): {}",
                r.countries.join(", ")
            ));
        }
        writeln!(out, "  {how}")?;
    }
    if !campaign.info.copies_to.is_empty() {
        writeln!(
            out,
            "\nEvery email is copied to: {}",
            campaign.info.copies_to.join(", ")
        )?;
    }
    Ok(())
}

/// `list --providers`: the built-in provider table, with where each figure
/// comes from.
pub fn providers(json: bool, out: &mut dyn Write) -> Result<()> {
    use crate::settings::providers::{PROVIDERS, Tls};
    if json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "providers": PROVIDERS }))?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "Mail providers: the server `send` uses for an address at these domains when no --smtp \
         is given (--provider NAME for an address on your own domain), and the limits it plans with."
    )?;
    for p in PROVIDERS {
        writeln!(out, "\n{}  {}", p.name, p.label)?;
        let addresses = if p.domains.is_empty() {
            format!("your own domain: --provider {}", p.name)
        } else {
            p.domains.join(", ")
        };
        let tls = match p.tls {
            Tls::Implicit => "TLS",
            Tls::StartTls => "STARTTLS",
        };
        let logins: Vec<&str> = p.logins.iter().map(|l| l.label()).collect();
        writeln!(out, "  addresses: {addresses}")?;
        writeln!(out, "  server:    {}:{} ({tls})", p.host, p.port)?;
        writeln!(out, "  login:     {}", logins.join(", "))?;
        writeln!(out, "  limits:    {}", p.limits.describe())?;
        writeln!(
            out,
            "  sources:   limits: {} (read {})",
            p.limits_source.url, p.limits_source.checked
        )?;
        writeln!(
            out,
            "             server: {} (read {})",
            p.server_source.url, p.server_source.checked
        )?;
        writeln!(out, "  note:      {}", p.note)?;
    }
    Ok(())
}

/// The length of the longest id, to line the columns up.
fn widest<'a>(ids: impl Iterator<Item = &'a str>) -> usize {
    ids.map(str::len).max().unwrap_or(0)
}
