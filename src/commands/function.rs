//! The KRM function: a ResourceList on stdin, the same list with images resolved on stdout.
//!
//! stdout carries only the ResourceList, written once at the end, complete or not at all.
//! Input that is not a ResourceList fails before anything is written. Configuration errors
//! and resolution failures become `error` results, with the items left unchanged.

use std::io::{Read, Write};

use anyhow::Context;

use crate::cache::CacheOptions;
use crate::engine::{self, ItemReader};
use crate::exit_status::ExitStatus;
use crate::resolve::Resolution;
use crate::resource::Resource;
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
    let mut items = ItemReader::new(&source);
    let list = ResourceList::parse(&source, &mut items)?;
    let resolution = process(&list, items, cache)?;
    let status = if resolution.failed() { ExitStatus::Failure } else { ExitStatus::Success };
    let mut output = std::io::BufWriter::with_capacity(1 << 16, output);
    list.write(&resolution.edits_for(|_| true), &resolution.results, &mut output)
        .and_then(|()| output.flush())
        .context("writing the ResourceList to stdout")?;
    Ok(status)
}

/// Resolves the list; configuration errors become error results with nothing edited.
fn process(list: &ResourceList<'_>, items: ItemReader<'_>, cache: &CacheOptions) -> anyhow::Result<Resolution> {
    let config_items: Vec<Resource<'_>> = items.config_items.iter().map(Resource::new).collect();
    let resolution = engine::process_marks(list.function_config().as_slice(), &config_items, items.marks, cache)?;
    Ok(resolution.unwrap_or_else(|errors| {
        let results = errors.0.iter().map(|error| FnResult::new(Severity::Error, error.to_string())).collect();
        Resolution { results, ..Resolution::default() }
    }))
}
