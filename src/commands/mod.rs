//! One module per subcommand; each takes resolved settings and a loaded
//! campaign, never clap structs.

pub mod check;
pub mod complete;
pub mod docs;
pub mod init;
pub mod list;
pub mod write;
