//! The only module that talks to a person through dialoguer. Each question
//! is asked only when the value is missing and there is a terminal; without
//! one we fail at once with what to pass instead, so scripts never hang.

use anyhow::{Context, Result, bail};
use dialoguer::{Confirm, Input, theme::ColorfulTheme};

use crate::settings::{SignerDraft, Terminal};
use crate::signers::Account;
use crate::signers::signer::{Field, Signer, check_field};

/// Completes the signer, asking for what is missing when a person is there.
pub fn signer(draft: &SignerDraft, terminal: Terminal, need_email: bool) -> Result<Signer> {
    let ask = terminal.can_prompt();
    let name = match &draft.name {
        Some(name) => name.clone(),
        None if ask => ask_text("Your name (as signed)", Field::Name, false)?,
        None => bail!(missing(Field::Name, draft)),
    };
    let organisation = match &draft.organisation {
        Some(org) => org.clone(),
        None if ask => ask_text(
            "Organisation you sign for (leave empty to sign as an individual)",
            Field::Organisation,
            true,
        )?,
        None => String::new(),
    };
    let email = match &draft.email {
        Some(email) => email.clone(),
        None if need_email && ask => ask_text("Your email address", Field::Email, false)?,
        None if need_email => bail!(missing(Field::Email, draft)),
        None => String::new(),
    };
    Signer::new(
        &name,
        &organisation,
        &email,
        draft.address.as_deref().unwrap_or(""),
        draft.country.as_deref().unwrap_or(""),
    )
}

/// "no name given …: pass --name or set PROTEST_LETTER_NAME".
fn missing(field: Field, draft: &SignerDraft) -> String {
    let profile = draft
        .profile_path
        .as_ref()
        .map(|p| {
            format!(
                ", or add {} = \"…\" to your profile {}",
                field.label(),
                p.display()
            )
        })
        .unwrap_or_default();
    format!(
        "no signer {label} given and no terminal to ask on: pass {flag} \"…\" or set {var}{profile}",
        label = field.label(),
        flag = field.flag(),
        var = field.env_var(),
    )
}

fn ask_text(prompt: &str, field: Field, allow_empty: bool) -> Result<String> {
    let theme = ColorfulTheme::default();
    Input::<String>::with_theme(&theme)
        .with_prompt(prompt)
        .allow_empty(allow_empty)
        .validate_with(|value: &String| -> Result<(), String> {
            if allow_empty && value.trim().is_empty() {
                return Ok(());
            }
            check_field(field, value.trim()).map_err(|e| e.to_string())
        })
        .interact_text()
        .map_err(restore)
        .with_context(|| format!("could not read your {} from the terminal", field.label()))
}

/// A prompt that ended without an answer leaves the cursor as dialoguer
/// hid it; it is shown again, and Ctrl-C is the person stopping the run.
fn restore(e: dialoguer::Error) -> anyhow::Error {
    let _ = dialoguer::console::Term::stderr().show_cursor();
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        anyhow::Error::new(crate::error::Stopped)
    } else {
        anyhow::Error::new(e)
    }
}

/// Asks a yes/no question; `false` when the person declines. Ctrl-C (or
/// SIGTERM) while it waits ends the run at once, nothing sent, with the
/// cursor the question hid shown again.
pub fn confirm(question: &str) -> Result<bool> {
    let _restore = CursorOnSignal::new();
    Confirm::with_theme(&ColorfulTheme::default())
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(restore)
        .context("could not read the answer from the terminal")
}

/// While it lives, SIGINT and SIGTERM show the cursor and end the process
/// (130, 143): the terminal delivers Ctrl-C as a signal even while a
/// question reads single keys, and the default action would leave the
/// cursor hidden. (Once unregistered, signal-hook's handler stays and does
/// nothing: the run installs its own, `terminal::interrupt`, right after
/// the questions.)
struct CursorOnSignal {
    #[cfg(unix)]
    ids: Vec<signal_hook::SigId>,
}

impl CursorOnSignal {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let mut ids = Vec::new();
            for (signal, status) in [
                (SIGINT, crate::error::ExitStatus::Interrupted),
                (SIGTERM, crate::error::ExitStatus::Terminated),
            ] {
                let action = move || {
                    const SHOW: &[u8] = b"\x1b[?25h\n";
                    // SAFETY: write(2) and _exit(2) are async-signal-safe;
                    // SHOW is a static buffer.
                    unsafe {
                        libc::write(2, SHOW.as_ptr().cast(), SHOW.len());
                    }
                    signal_hook::low_level::exit(status as i32);
                };
                // SAFETY: the action only calls async-signal-safe functions.
                if let Ok(id) = unsafe { signal_hook::low_level::register(signal, action) } {
                    ids.push(id);
                }
            }
            CursorOnSignal { ids }
        }
        #[cfg(not(unix))]
        CursorOnSignal {}
    }
}

impl Drop for CursorOnSignal {
    fn drop(&mut self) {
        #[cfg(unix)]
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Asks for the SMTP password (or OAuth2 token, `what`) without echoing it.
pub fn password(what: &str, account: &str) -> Result<String> {
    let _restore = CursorOnSignal::new();
    dialoguer::Password::with_theme(&ColorfulTheme::default())
        .with_prompt(format!("SMTP {what} for {account}"))
        .interact()
        .map_err(restore)
        .with_context(|| format!("could not read the {what} from the terminal"))
}

/// The account a batch is sent from: the flags' email (asked for on a
/// terminal when needed), with the flags' name and organisation as label.
pub fn account(
    draft: &SignerDraft,
    terminal: Terminal,
    need_email: bool,
) -> Result<Option<Account>> {
    let email = match &draft.email {
        Some(email) => email.clone(),
        None if need_email && terminal.can_prompt() => {
            ask_text("The sending account's email address", Field::Email, false)?
        }
        None if need_email => bail!(
            "a batch is sent from one account: pass --email (or set PROTEST_LETTER_EMAIL) with the sending address"
        ),
        None => return Ok(None),
    };
    let organisation = draft.organisation.as_deref().unwrap_or("").trim();
    let name = draft.name.as_deref().unwrap_or("").trim();
    check_field(Field::Organisation, organisation)?;
    // The account holder's name is optional: it only labels the batch.
    if !name.is_empty() {
        check_field(Field::Name, name)?;
    }
    let email = crate::campaign::address::normalise(email.trim())
        .map_err(|reason| anyhow::anyhow!("invalid email address `{email}`: {reason}"))?;
    Ok(Some(Account {
        name: name.to_string(),
        organisation: organisation.to_string(),
        email,
        reply_to: crate::cli::ReplyTo::default(),
    }))
}
