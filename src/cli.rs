//! The command line, as clap types only: no I/O, no validation beyond what clap does.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

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
    /// Print registry requests by kind, cache hits and misses, time spent waiting on the
    /// network and peak memory to stderr at the end.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Cache registry answers in DIR [default: $XDG_CACHE_HOME/imgpolicy, else
    /// ~/.cache/imgpolicy; env: IMGPOLICY_CACHE_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Answer from the cache only, whatever the age of its entries; fail on a miss, naming the
    /// repository [env: IMGPOLICY_OFFLINE=1].
    #[arg(long, global = true, conflicts_with = "refresh")]
    pub offline: bool,
    /// Ask the registries again instead of reading the cache, and store the new answers
    /// [env: IMGPOLICY_REFRESH=1].
    #[arg(long, global = true)]
    pub refresh: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the KRM function: ResourceList on stdin, ResourceList on stdout.
    Fn,
    /// Print the tag a policy picks, from a registry or a file of tags.
    ///
    /// Exit 0 when a tag is picked, 1 when none matches, 2 when the policy is invalid.
    Select(SelectArgs),
    /// Write marked values in files in place (Flux's Setters automation, for CI).
    ///
    /// Exit 0 when done (or nothing to do), 1 with --check when something would change, 2 on
    /// failure (nothing is written then).
    Update(UpdateArgs),
    /// Print a directory's manifests with images resolved (an ArgoCD config-management plugin).
    ///
    /// A kustomization is built first (`kustomize build`, else `kubectl kustomize`). Fails, with
    /// nothing on stdout, rather than print no manifests.
    Render(RenderArgs),
}

/// `imgpolicy render`: one directory's manifests, resolved.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The directory: plain manifests, or a kustomization.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// An `ImagePolicyConfig` file; one among plain manifests is read too.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `imgpolicy update`: resolve markers in files and write the new values back.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Files or directories; directories are walked for `.yaml`, `.yml` and `Kustomization` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// An `ImagePolicyConfig` file, besides those found under PATH.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print a unified diff instead of writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write nothing; exit 1 if anything would change.
    #[arg(long)]
    pub check: bool,
    /// Print a commit message instead of the list of changes (which goes to stderr):
    /// `{{files}}`, `{{objects}}`, `{{changes}}` and `{{count}}` are filled in.
    #[arg(long, value_name = "TEMPLATE")]
    pub message_template: Option<String>,
}

/// `imgpolicy select`: one policy, from flags, evaluated once.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("rule").required(true).args(["semver", "alphabetical", "numerical"])))]
#[command(group(ArgGroup::new("source").required(true).args(["image", "tags_file"])))]
pub struct SelectArgs {
    /// The image repository whose tags are listed (no tag or digest), e.g. ghcr.io/org/app.
    pub image: Option<String>,
    /// Pick the greatest version that satisfies this semver range (Masterminds syntax, as Flux).
    #[arg(long, value_name = "RANGE")]
    pub semver: Option<String>,
    /// Pick by byte order: `asc` picks the greatest, `desc` the smallest.
    #[arg(long, value_name = "ORDER")]
    pub alphabetical: Option<String>,
    /// Pick by numeric value: `asc` picks the largest, `desc` the smallest.
    #[arg(long, value_name = "ORDER")]
    pub numerical: Option<String>,
    /// Keep only tags this regex matches (unanchored, RE2 syntax), like Flux's filterTags.pattern.
    #[arg(long, value_name = "REGEX")]
    pub filter_pattern: Option<String>,
    /// Rank this expansion of the filter's match instead of the tag (`$1`, `$name`, `${name}`).
    #[arg(long, value_name = "TEMPLATE", requires = "filter_pattern")]
    pub filter_extract: Option<String>,
    /// Drop tags this regex matches; repeatable. Default: `^.*\.sig$`.
    #[arg(long = "exclude", value_name = "REGEX")]
    pub exclude: Vec<String>,
    /// Read the tags from FILE, one a line (blank lines ignored), instead of a registry; `-` is stdin.
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    /// Print every tag with what happened to it, then the winner.
    #[arg(long)]
    pub explain: bool,
    /// Talk plain HTTP to IMAGE's registry.
    #[arg(long)]
    pub insecure: bool,
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
