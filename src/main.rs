//! Parses arguments, runs the pipeline, prints the final error with its
//! whole cause chain and turns the outcome into an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use protest_letter::error::{is_broken_pipe, status_of};
use protest_letter::{cli::Cli, settings::Environment};

fn main() -> ExitCode {
    // A shell asking for completions (see `commands::complete`) gets them
    // and nothing else: this exits.
    clap_complete::CompleteEnv::with_factory(protest_letter::commands::complete::command)
        .var(protest_letter::commands::complete::VAR)
        .complete();
    let cli = Cli::parse();
    let env = Environment::from_process();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Not locked for the whole run: send's worker threads print to stderr too.
    let mut err = std::io::stderr();
    match protest_letter::run(cli, &env, &mut out, &mut err) {
        Ok(status) => ExitCode::from(status as u8),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::from(status_of(&e) as u8)
        }
    }
}
