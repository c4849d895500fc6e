//! The signer's own voice: a paragraph of their own (`--message`,
//! `--message-file`, a list's `message` column) and `--edit`, which opens
//! the finished letter in the signer's editor and uses what they save.
//!
//! Officials learn to skim identical letters; a few words of one's own
//! are what makes a letter read. This is the only module that starts the
//! editor; rendering itself stays pure (the edited texts are handed to the
//! renderer as data).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::campaign::Addressee;
use crate::letters::Signing;
use crate::letters::render::Renderer;
use crate::settings::{Terminal, VoiceSettings};

/// The lines that print a signer's own words, as the built-in letters
/// have them: shown to whoever gives words to a letter without them.
pub const MESSAGE_LINES: &str = "{%- if message %}\n\n{{ message }}\n{%- endif %}";

/// Own words (`--message`, `--message-file`, a list's `message` column)
/// given to a letter that never prints `message` would vanish: an error
/// naming the letter's file and the lines to add.
fn refuse_vanishing_words(
    renderer: &Renderer<'_>,
    voice: &VoiceSettings,
    signing: &Signing,
    addressees: &[Arc<Addressee>],
) -> Result<()> {
    let list = match signing {
        Signing::PerMember(list) if list.has_own_words() => Some(list),
        _ => None,
    };
    let words = match list {
        Some(list) => format!("the `message` column of {}", list.path().display()),
        None if !voice.message.trim().is_empty() => {
            "your own words (--message or --message-file)".to_string()
        }
        None => return Ok(()),
    };
    let Some((id, file)) = renderer.drops_message(addressees, list.is_some()) else {
        return Ok(());
    };
    bail!(
        "the letter `{id}` ({file}) never prints `message`, so {words} would be left out of the letter; \
         nothing was written or sent. Add these lines to {file} where the words belong \
         (after the opening paragraph, as in the built-in letters):\n\n{MESSAGE_LINES}\n"
    )
}

/// Gives `renderer` the signer's message and, with `--edit`, the letters
/// as the signer saved them. Runs before anything is written or sent.
pub fn prepare<'a>(
    renderer: Renderer<'a>,
    voice: &VoiceSettings,
    signing: &Signing,
    addressees: &[Arc<Addressee>],
    terminal: Terminal,
    stderr: &mut dyn Write,
) -> Result<Renderer<'a>> {
    refuse_vanishing_words(&renderer, voice, signing, addressees)?;
    let mut renderer = renderer.with_message(&voice.message);
    if !voice.edit {
        return Ok(renderer);
    }
    let signer = match signing {
        Signing::One(s) => Some(s),
        Signing::Group(parts) if parts.len() > 1 => bail!(
            "--edit opens one letter per recipient, but this petition is split by the members' \
             countries ({} petitions, one per embassy); edit the letter's template instead, or \
             run --edit with one country's members",
            parts.len()
        ),
        Signing::Group(_) => None,
        Signing::PerMember(_) => bail!(
            "--edit opens one letter at a time, not one per member of a list; \
             give each member's own words in a `message` column instead (or --group for one petition)"
        ),
    };
    let editor = editor(voice, terminal)?;
    let dir = tempfile::Builder::new()
        .prefix("protest-letter-")
        .tempdir()
        .context("cannot make a temporary folder for --edit")?;
    for (i, a) in addressees.iter().enumerate() {
        let letter = match (signer, signing) {
            (Some(s), _) => renderer.render(a, std::slice::from_ref(s))?,
            (None, Signing::Group(parts)) if !parts.is_empty() => {
                renderer.render_petition(&mut renderer.scratch(), a, &parts[0].petition)?
            }
            (None, _) => bail!("no one signs the letter to edit"),
        };
        let path = dir
            .path()
            .join(format!("{}-to-{}.txt", letter.letter_id, a.id));
        fs_err::write(&path, &letter.body)?;
        let _ = writeln!(
            stderr,
            "editing the letter to `{}` ({} of {}) with {editor}; save and quit to go on",
            a.id,
            i + 1,
            addressees.len()
        );
        run_editor(&editor, &path)?;
        let saved = fs_err::read_to_string(&path)?;
        if saved.trim().is_empty() {
            bail!(
                "the letter to `{}` was saved empty; nothing was written or sent",
                a.id
            );
        }
        let mut saved = saved.replace("\r\n", "\n").trim_end().to_string();
        saved.push('\n');
        renderer.set_edited(&a.id, saved);
    }
    Ok(renderer)
}

/// `$VISUAL`, else `$EDITOR`, else `vi` when there is a terminal to run it on.
fn editor(voice: &VoiceSettings, terminal: Terminal) -> Result<String> {
    match voice.editor.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => Ok(e.to_string()),
        _ if terminal.can_prompt() => Ok("vi".to_string()),
        _ => bail!(
            "--edit needs an editor: set VISUAL or EDITOR (e.g. EDITOR=nano); nothing was written or sent"
        ),
    }
}

/// Runs the editor the way a shell would (`code --wait` has arguments),
/// on the terminal: its screen goes to /dev/tty so that it never ends up
/// in a letter written to standard output.
fn run_editor(editor: &str, path: &Path) -> Result<()> {
    let screen = match fs_err::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(tty) => Stdio::from(tty.into_file()),
        Err(_) => Stdio::from(std::io::stderr()),
    };
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .stdin(Stdio::inherit())
        .stdout(screen)
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("cannot start the editor `{editor}`"))?;
    if !status.success() {
        bail!("the editor `{editor}` failed ({status}); nothing was written or sent");
    }
    Ok(())
}
