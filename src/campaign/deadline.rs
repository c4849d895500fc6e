//! Campaigns and letters go out of date: a campaign's `deadline` and a
//! letter's `valid_until`. Past either, `write` still writes (an organiser
//! may want the text as a record) but says so, naming the date; `send`
//! refuses before anything is sent unless told `--after-deadline`.

use anyhow::{Result, bail};

use crate::campaign::{Campaign, Letter};

/// The first date that has passed: the campaign's or the letter's.
pub struct Passed {
    /// "the campaign's deadline" or "the letter `x` was valid until".
    pub what: String,
    pub date: String,
}

/// What has passed by `today`, if anything.
pub fn passed(campaign: &Campaign, letter: &Letter, today: jiff::civil::Date) -> Option<Passed> {
    let today = today.to_string();
    if let Some(date) = &campaign.info.deadline
        && date.as_str() < today.as_str()
    {
        return Some(Passed {
            what: format!("the campaign's deadline ({})", campaign.info.name),
            date: date.clone(),
        });
    }
    if let Some(date) = &letter.valid_until
        && date.as_str() < today.as_str()
    {
        return Some(Passed {
            what: format!("the letter `{}` (its valid_until)", letter.id),
            date: date.clone(),
        });
    }
    None
}

/// The warning `write` prints.
pub fn warning(p: &Passed) -> String {
    format!(
        "warning: {} passed on {}: this letter's facts and requests are from before then; \
         read it as a record, not as news, before you use it",
        p.what, p.date
    )
}

/// `send`'s refusal, unless `after_deadline`.
pub fn ensure_can_send(
    campaign: &Campaign,
    letter: &Letter,
    today: jiff::civil::Date,
    after_deadline: bool,
) -> Result<()> {
    match passed(campaign, letter, today) {
        Some(p) if !after_deadline => bail!(
            "refusing to send: {} passed on {}; nothing was sent. \
             If the letter still holds, update its facts and dates, or pass --after-deadline to send it anyway",
            p.what,
            p.date
        ),
        _ => Ok(()),
    }
}
