mod core_check;
mod core_list;
mod core_write;
mod email_formats;
mod golden;
mod prompt_pty;
mod smtp_server;
mod support;
