//! The pipeline every command shares: read the configuration, find the markers, resolve.
//!
//! Commands differ only in where sources come from (a ResourceList, files, a kustomize stream)
//! and where edits go (stdout, files); they all call [`process`].

use std::sync::Arc;

use anyhow::Context;

use crate::cache::{Cache, CacheOptions, CacheSettings};
use crate::config::{self, Config, ConfigErrors};
use crate::marker::{self, Found, Source};
use crate::registry::{RegistryClient, block_on};
use crate::resolve::{Resolution, resolve};
use crate::resource::Resource;
use crate::results::{FnResult, Severity};
use crate::yaml::Node;

/// Resolves every marker in `sources` with the policies of `function_configs` and of the Flux
/// objects among the sources' items.
///
/// The registry client and the async runtime are built only when there is something to
/// resolve. Registry answers go through the cache that `cache` (the operator's flags and
/// environment) and the configuration's `spec.cache` describe. The results start with the
/// markers' warnings, then the resolution's, in order, then the cache's (Redis unavailable, an
/// unwritable cache directory).
///
/// # Errors
/// `Ok(Err(..))`: the configuration is invalid (every problem, each naming its place);
/// `Err(..)`: the runtime or the client could not be set up.
pub fn process(
    function_configs: &[&Node],
    sources: &[Source<'_>],
    cache: &CacheOptions,
) -> anyhow::Result<Result<Resolution, ConfigErrors>> {
    let items: Vec<Resource<'_>> = sources.iter().flat_map(|source| source.items.iter().copied()).collect();
    let config = match config::load(function_configs, &items) {
        Ok(config) => config,
        Err(errors) => return Ok(Err(ConfigErrors(errors))),
    };
    let mut warnings = Vec::new();
    let found = marker::find(sources, &config, &mut warnings);
    let mut resolution = if found.targets.is_empty() && found.pins.is_empty() {
        Resolution::default()
    } else {
        resolve_blocking(&items, &found, &config, cache)?
    };
    warnings.append(&mut resolution.results);
    resolution.results = warnings;
    Ok(Ok(resolution))
}

/// Runs the asynchronous resolver, with a client built only now that the network is needed.
fn resolve_blocking(
    items: &[Resource<'_>],
    found: &Found<'_>,
    config: &Config,
    options: &CacheOptions,
) -> anyhow::Result<Resolution> {
    let (settings, warning) = CacheSettings::resolve(options, &config.cache);
    let cache = Arc::new(Cache::new(&settings));
    let client = RegistryClient::new(config.registries.clone()).context("setting up the registry client")?;
    let mut resolution =
        block_on(resolve(items, found, config, &client, &cache)).context("starting the async runtime")?;
    let warnings = warning.into_iter().chain(cache.warnings());
    resolution.results.extend(warnings.map(|message| FnResult::new(Severity::Warning, message)));
    Ok(resolution)
}
