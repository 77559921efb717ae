//! The subcommands, one module each. Each takes its parsed arguments and the process's
//! streams and returns an [`ExitStatus`](crate::exit_status::ExitStatus); errors go back to
//! [`run`](crate::run), which prints them once.

pub mod function;
pub mod plugin;
pub mod render;
pub mod select;
pub mod update;
