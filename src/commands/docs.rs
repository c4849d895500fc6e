//! `completions` and `man`: generated from the clap definition itself, so
//! they can never disagree with `--help`.

use std::io::Write;

use anyhow::{Result, bail};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{ExitStatus, runtime};

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<ExitStatus> {
    let mut cmd = Cli::command();
    // Generated into memory first: the generators panic on a write error,
    // and a closed pipe must stay a quiet exit.
    let mut script = Vec::new();
    if shell == clap_complete::Shell::Bash {
        // clap_complete's bash script never completes a subcommand's
        // options when the program's name has a hyphen (clap-rs/clap#6421):
        // generate it for `protest_letter`, then register it for our name.
        clap_complete::generate(shell, &mut cmd, "protest_letter", &mut script);
        let text = String::from_utf8_lossy(&script);
        let fixed: Vec<String> = text
            .lines()
            .map(|line| match line.strip_suffix(" protest_letter") {
                Some(head) if line.trim_start().starts_with("complete ") => {
                    format!("{head} protest-letter")
                }
                _ => line.to_string(),
            })
            .collect();
        script = (fixed.join("\n") + "\n").into_bytes();
    } else {
        clap_complete::generate(shell, &mut cmd, "protest-letter", &mut script);
    }
    out.write_all(&script).map_err(|e| runtime(e.into()))?;
    Ok(ExitStatus::Success)
}

/// Prints protest-letter(1), or protest-letter-COMMAND(1).
pub fn man(command: Option<&str>, out: &mut dyn Write) -> Result<ExitStatus> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                bail!(
                    "no command `{name}` to show a man page for; one of: {}",
                    names.join(", ")
                )
            }
        },
    };
    let notes = page
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let page = page.after_help(None::<&str>).after_long_help(None::<&str>);
    let man = clap_mangen::Man::new(page)
        .manual("protest-letter manual")
        .source(concat!("protest-letter ", env!("CARGO_PKG_VERSION")));
    // clap_mangen's own page, with the `after_help` text as EXAMPLES (kept
    // line by line, not refilled) and NOTES sections instead of EXTRA.
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    roff.extend_from_slice(after_help_roff(&notes).as_bytes());
    let roff = ascii_roff(&String::from_utf8_lossy(&roff));
    out.write_all(roff.as_bytes())
        .map_err(|e| runtime(e.into()))?;
    Ok(ExitStatus::Success)
}

/// Non-ASCII characters (`…` in a help text) as roff's `\[uXXXX]`
/// escapes, so that groff and mandoc read the page without a preprocessor.
fn ascii_roff(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// `--help`'s closing text as roff: a paragraph opening with `Examples:`
/// becomes EXAMPLES, in no-fill mode; the others are NOTES.
fn after_help_roff(text: &str) -> String {
    let mut examples = String::new();
    let mut notes = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        match paragraph.strip_prefix("Examples:\n") {
            Some(lines) => {
                examples.push_str(".nf\n");
                for line in lines.lines() {
                    examples.push_str(&roff_line(line.strip_prefix("  ").unwrap_or(line)));
                }
                examples.push_str(".fi\n");
            }
            None => {
                notes.push_str(".PP\n");
                notes.push_str(&roff_line(&paragraph.replace('\n', " ")));
            }
        }
    }
    let mut out = String::new();
    if !examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        out.push_str(&examples);
    }
    if !notes.is_empty() {
        out.push_str(".SH NOTES\n");
        out.push_str(&notes);
    }
    out
}

/// One line of text, escaped for roff.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}\n")
    } else {
        format!("{escaped}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_ascii_roff() {
        assert_eq!(
            ascii_roff("AB:CD:\u{2026} \u{0410}"),
            r"AB:CD:\[u2026] \[u0410]"
        );
        assert_eq!(roff_line(r".start -x \"), "\\&.start \\-x \\e\n");
        for command in [None, Some("send"), Some("write")] {
            let mut page = Vec::new();
            man(command, &mut page).unwrap();
            assert!(page.is_ascii(), "{command:?}");
        }
    }
}
