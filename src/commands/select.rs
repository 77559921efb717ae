//! `imgpolicy select`: the tag a policy picks, and with `--explain`, why.
//!
//! The same engine as the function: the same policy compiler, the same registry client, the
//! same rule that only valid OCI tags are candidates.

use std::collections::HashMap;
use std::io::{Read, Write};

use anyhow::{Context, bail};

use crate::cli::SelectArgs;
use crate::exit_status::ExitStatus;
use crate::image::{ImageRef, is_valid_tag};
use crate::policy::{Evaluation, PolicySpec, RuleSpec, SelectError, TagPolicy};
use crate::registry::{RegistryClient, RegistrySettings, block_on};

/// Runs `select`, writing the answer (or the explanation) to `output`.
///
/// # Errors
/// An invalid policy, an unreadable tags file, or a registry failure.
pub fn run(args: &SelectArgs, stdin: &mut impl Read, output: &mut impl Write) -> anyhow::Result<ExitStatus> {
    let policy = TagPolicy::compile(&spec(args)).map_err(|invalid| anyhow::anyhow!("invalid policy: {invalid}"))?;
    let listed = tags(args, stdin)?;
    let (tags, invalid): (Vec<String>, Vec<String>) = listed.into_iter().partition(|tag| is_valid_tag(tag));
    let evaluation = policy.evaluate(&tags);
    let mut text = String::new();
    if args.explain {
        text = explain(&evaluation, &invalid);
    }
    let status = match evaluation.outcome {
        Ok(tag) => {
            if !args.explain {
                text = format!("{tag}\n");
            }
            ExitStatus::Success
        }
        Err(error) => {
            let reason = match error {
                SelectError::NoTags => "no tags left after exclusion and filtering".to_owned(),
                SelectError::NoMatch => "no tag matches the policy".to_owned(),
                SelectError::NotANumber { tag } => format!("numerical policy: tag `{tag}` is not a number"),
            };
            let mut stderr = std::io::stderr().lock();
            let hint = if args.explain { "" } else { "; --explain shows why" };
            let _ = writeln!(stderr, "{reason} ({} tags{hint})", tags.len());
            ExitStatus::Failure
        }
    };
    output.write_all(text.as_bytes()).and_then(|()| output.flush()).context("writing to stdout")?;
    Ok(status)
}

fn spec(args: &SelectArgs) -> PolicySpec {
    let rule = match (&args.semver, &args.alphabetical, &args.numerical) {
        (Some(range), _, _) => RuleSpec::Semver { range: range.clone() },
        (None, Some(order), _) => RuleSpec::Alphabetical { order: Some(order.clone()) },
        (None, None, order) => RuleSpec::Numerical { order: order.clone() },
    };
    PolicySpec {
        rule,
        filter_pattern: args.filter_pattern.clone(),
        filter_extract: args.filter_extract.clone(),
        exclusion_list: (!args.exclude.is_empty()).then(|| args.exclude.clone()),
    }
}

/// The candidate tags: from the file (or stdin), else from the registry.
fn tags(args: &SelectArgs, stdin: &mut impl Read) -> anyhow::Result<Vec<String>> {
    if let Some(path) = &args.tags_file {
        let mut text = String::new();
        if path.as_os_str() == "-" {
            stdin.read_to_string(&mut text).context("reading tags from stdin")?;
        } else {
            text = std::fs::read_to_string(path).with_context(|| format!("reading tags from `{}`", path.display()))?;
        }
        return Ok(text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect());
    }
    let Some(image) = &args.image else { bail!("give an IMAGE or --tags-file") };
    let parsed = ImageRef::parse(image)?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        bail!("IMAGE `{image}` must be a repository, without tag or digest");
    }
    let repository = parsed.repository()?;
    let settings = HashMap::from([(repository.host.clone(), RegistrySettings { insecure: args.insecure })]);
    let client = RegistryClient::new(settings).context("setting up the registry client")?;
    let listed =
        block_on(client.list_tags(&repository.host, &repository.path)).context("starting the async runtime")?;
    listed.with_context(|| format!("listing tags of `{repository}`"))
}

/// One line per tag, in input order (`TAG  what happened`), then the outcome.
///
/// Invalid tags come from the registry as they are: they are shown escaped and cut
/// ([`shown`]), so that a newline or a terminal escape sequence in one cannot forge lines or
/// reach the terminal, and a megabyte-long one cannot widen every line.
fn explain(evaluation: &Evaluation<'_>, invalid: &[String]) -> String {
    let invalid: Vec<String> = invalid.iter().map(|tag| shown(tag)).collect();
    let width = evaluation
        .reports
        .iter()
        .map(|report| report.tag.len())
        .chain(invalid.iter().map(|tag| tag.chars().count()))
        .max()
        .unwrap_or(0)
        .min(MAX_SHOWN);
    let mut text = String::new();
    for tag in &invalid {
        text.push_str(&format!("{tag:width$}  not a valid OCI tag, ignored\n"));
    }
    for report in &evaluation.reports {
        text.push_str(&format!("{:width$}  {}\n", report.tag, report.fate));
    }
    match &evaluation.outcome {
        Ok(tag) => text.push_str(&format!("=> {tag}\n")),
        Err(_) => text.push_str("=> no tag\n"),
    }
    text
}

/// The widest a tag is shown: a valid tag's 128 characters.
const MAX_SHOWN: usize = 128;

/// `tag` as `--explain` shows an invalid one: escaped like a Rust string, cut to [`MAX_SHOWN`]
/// characters.
fn shown(tag: &str) -> String {
    let escaped = tag.escape_debug().to_string();
    match escaped.char_indices().nth(MAX_SHOWN) {
        Some((end, _)) => format!("{}...", &escaped[..end]),
        None => escaped,
    }
}
