//! The terminal: the only user of dialoguer and indicatif. Prompts ask
//! only on a terminal and refuse without one; the progress bar shows only
//! on one.

pub mod interrupt;
pub mod progress;
pub mod prompt;
