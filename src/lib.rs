//! imgpolicy: Flux's image policies and setter markers, without controllers, at render time.
//!
//! The crate is organised by concept: [`yaml`] (lossless tree and splices), [`resource_list`]
//! (the KRM function I/O), [`config`] (where policies come from), [`marker`] (which values are
//! updated), [`policy`] and [`semver`] (which tag wins), [`image`] (references),
//! [`registry`] (OCI distribution API), [`cache`] (registry answers kept across runs),
//! [`resolve`] (the engine) and [`commands`] (the function and the subcommands).

pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod exit_status;
pub mod image;
pub mod marker;
pub mod policy;
pub mod registry;
pub mod resolve;
pub mod resource;
pub mod resource_list;
pub mod results;
pub mod semver;
pub mod yaml;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit_status::ExitStatus;

/// Runs imgpolicy with `args`; prints errors to stderr, once, and returns the exit status.
///
/// Invoked under the name `ImagePolicyConfig` (as kustomize's legacy exec plugin), the one
/// argument is the plugin config's path.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitStatus {
    let args: Vec<OsString> = args.into_iter().collect();
    let invoked_as = args.first().map(std::path::Path::new).and_then(std::path::Path::file_name);
    if invoked_as.is_some_and(|name| name == commands::plugin::PLUGIN_NAME) && args.len() == 2 {
        let config = std::path::Path::new(&args[1]);
        return commands::plugin::run(config, &mut std::io::stdin().lock(), &mut std::io::stdout().lock())
            .unwrap_or_else(|error| {
                report(&error);
                ExitStatus::Failure
            });
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let usage = error.use_stderr();
            // clap prints help and version to stdout and errors to stderr itself.
            let _ = error.print();
            return if usage { ExitStatus::Error } else { ExitStatus::Success };
        }
    };
    let stdin = &mut std::io::stdin().lock();
    let stdout = &mut std::io::stdout().lock();
    // The function fails with 1 (KRM convention); `select` keeps 1 for "nothing matched" and
    // fails with 2.
    let verbose = cli.verbose;
    let cache = cache::CacheOptions::from_env().with_flags(cli.cache_dir, cli.offline, cli.refresh);
    let (result, failed) = match cli.command.unwrap_or(Command::Fn) {
        Command::Fn => (commands::function::run(stdin, stdout, &cache), ExitStatus::Failure),
        Command::Select(args) => (commands::select::run(&args, stdin, stdout), ExitStatus::Error),
        Command::Update(args) => (commands::update::run(&args, &cache, stdout), ExitStatus::Error),
        Command::Render(args) => (commands::render::run(&args, &cache, stdout), ExitStatus::Failure),
    };
    let status = result.unwrap_or_else(|error| {
        report(&error);
        failed
    });
    if verbose {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "imgpolicy: registry: {}", registry::request_counts());
        let _ = writeln!(stderr, "imgpolicy: cache: {}", cache::cache_counts());
        let _ =
            writeln!(stderr, "imgpolicy: network: {} ms waiting on registries", registry::network_wait().as_millis());
        if let Some(peak) = peak_rss_kib() {
            let _ = writeln!(stderr, "imgpolicy: memory: {} KiB peak RSS", peak);
        }
    }
    status
}

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`), where Linux says.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// Prints `error` and its causes to stderr: `error: ...` then `  caused by: ...` lines.
fn report(error: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {error}");
    for cause in error.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}
