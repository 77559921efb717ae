//! The KRM function: a ResourceList on stdin, the same list with images resolved on stdout.
//!
//! stdout carries only the ResourceList, written once at the end, complete or not at all.
//! Input that is not a ResourceList fails before anything is written. Configuration errors
//! and resolution failures become `error` results, with the items left unchanged.

use std::io::{Read, Write};

use anyhow::Context;

use crate::cache::CacheOptions;
use crate::engine;
use crate::exit_status::ExitStatus;
use crate::marker::Source;
use crate::resolve::Resolution;
use crate::resource_list::ResourceList;
use crate::results::{FnResult, Severity};

/// Runs the function from `input` to `output`, with registry answers cached as `cache` says.
///
/// # Errors
/// Unreadable or invalid input, or an unwritable output; nothing is written to `output` then.
pub fn run(input: &mut impl Read, output: &mut impl Write, cache: &CacheOptions) -> anyhow::Result<ExitStatus> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).context("reading the ResourceList from stdin")?;
    let source = String::from_utf8(bytes).context("the ResourceList on stdin is not UTF-8")?;
    let list = ResourceList::parse(source)?;
    let resolution = process(&list, cache)?;
    let status = if resolution.failed() { ExitStatus::Failure } else { ExitStatus::Success };
    let rendered = list.render(&resolution.edits_for(|_| true), &resolution.results).map_err(anyhow::Error::msg)?;
    output
        .write_all(rendered.as_bytes())
        .and_then(|()| output.flush())
        .context("writing the ResourceList to stdout")?;
    Ok(status)
}

/// Resolves the list; configuration errors become error results with nothing edited.
fn process(list: &ResourceList, cache: &CacheOptions) -> anyhow::Result<Resolution> {
    Ok(engine::process(list.function_config().as_slice(), &[Source::of_list(list)], cache)?.unwrap_or_else(|errors| {
        let results = errors.0.iter().map(|error| FnResult::new(Severity::Error, error.to_string())).collect();
        Resolution { results, ..Resolution::default() }
    }))
}
