//! The command line, as clap types only: no I/O, no validation beyond what clap does.

use clap::{Parser, Subcommand};

/// Flux image policies and setter markers, resolved at render time.
///
/// With no subcommand, runs the KRM function: a ResourceList on stdin, the same list with
/// marked images updated on stdout (kpt, kustomize, ArgoCD plugins).
#[derive(Debug, Parser)]
#[command(name = "imgpolicy", version, about, long_about = None)]
pub struct Cli {
    /// What to do; the KRM function when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the KRM function: ResourceList on stdin, ResourceList on stdout.
    Fn,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
