//! The KRM function: a ResourceList on stdin, the same list with images resolved on stdout.
//!
//! stdout carries only the ResourceList, written once at the end, complete or not at all.
//! Input that is not a ResourceList fails before anything is written. Configuration errors
//! and resolution failures become `error` results, with the items left unchanged.

use std::io::{Read, Write};

use anyhow::Context;

use crate::config::{self, Config};
use crate::exit_status::ExitStatus;
use crate::marker::{self, Found, Source};
use crate::registry::{RegistryClient, block_on};
use crate::resolve::{Resolution, resolve};
use crate::resource_list::{Resource, ResourceList};
use crate::results::{FnResult, Severity};

/// Runs the function from `input` to `output`.
///
/// # Errors
/// Unreadable or invalid input, or an unwritable output; nothing is written to `output` then.
pub fn run(input: &mut impl Read, output: &mut impl Write) -> anyhow::Result<ExitStatus> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).context("reading the ResourceList from stdin")?;
    let source = String::from_utf8(bytes).context("the ResourceList on stdin is not UTF-8")?;
    let list = ResourceList::parse(source)?;
    let resolution = process(&list)?;
    let status = if resolution.failed() { ExitStatus::Failure } else { ExitStatus::Success };
    let rendered = list.render(&resolution.edits_for(|_| true), &resolution.results).map_err(anyhow::Error::msg)?;
    output
        .write_all(rendered.as_bytes())
        .and_then(|()| output.flush())
        .context("writing the ResourceList to stdout")?;
    Ok(status)
}

/// Loads the configuration, finds targets and resolves them.
fn process(list: &ResourceList) -> anyhow::Result<Resolution> {
    let items = list.items();
    let config = match config::load(list.function_config(), &items) {
        Ok(config) => config,
        Err(errors) => {
            let results = errors.iter().map(|error| FnResult::new(Severity::Error, error.to_string())).collect();
            return Ok(Resolution { results, ..Resolution::default() });
        }
    };
    let mut warnings = Vec::new();
    let found = marker::find(&[Source::of_list(list)], &config, &mut warnings);
    let mut resolution = if found.targets.is_empty() && found.pins.is_empty() {
        Resolution::default()
    } else {
        resolve_blocking(&items, &found, &config)?
    };
    warnings.append(&mut resolution.results);
    resolution.results = warnings;
    Ok(resolution)
}

/// Runs the asynchronous resolver, with a client built only now that the network is needed.
fn resolve_blocking(items: &[Resource<'_>], found: &Found<'_>, config: &Config) -> anyhow::Result<Resolution> {
    let client = RegistryClient::new(config.registries.clone()).context("setting up the registry client")?;
    block_on(resolve(items, found, config, &client)).context("starting the async runtime")
}
