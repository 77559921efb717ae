//! The pipeline every command shares: read the configuration, find the markers, resolve.
//!
//! Commands differ only in where sources come from (a ResourceList, files, a kustomize stream)
//! and where edits go (stdout, files); they all call [`process`].

use anyhow::Context;

use crate::config::{self, Config, ConfigError};
use crate::marker::{self, Found, Source};
use crate::registry::{RegistryClient, block_on};
use crate::resolve::{Resolution, resolve};
use crate::resource::Resource;
use crate::yaml::Node;

/// Resolves every marker in `sources` with the policies of `function_configs` and of the Flux
/// objects among the sources' items.
///
/// The registry client and the async runtime are built only when there is something to
/// resolve. The results start with the markers' warnings, then the resolution's, in order.
///
/// # Errors
/// `Ok(Err(..))`: the configuration is invalid (every problem, each naming its place);
/// `Err(..)`: the runtime or the client could not be set up.
pub fn process(
    function_configs: &[&Node],
    sources: &[Source<'_>],
) -> anyhow::Result<Result<Resolution, Vec<ConfigError>>> {
    let items: Vec<Resource<'_>> = sources.iter().flat_map(|source| source.items.iter().copied()).collect();
    let config = match config::load(function_configs, &items) {
        Ok(config) => config,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut warnings = Vec::new();
    let found = marker::find(sources, &config, &mut warnings);
    let mut resolution = if found.targets.is_empty() && found.pins.is_empty() {
        Resolution::default()
    } else {
        resolve_blocking(&items, &found, &config)?
    };
    warnings.append(&mut resolution.results);
    resolution.results = warnings;
    Ok(Ok(resolution))
}

/// Runs the asynchronous resolver, with a client built only now that the network is needed.
fn resolve_blocking(items: &[Resource<'_>], found: &Found<'_>, config: &Config) -> anyhow::Result<Resolution> {
    let client = RegistryClient::new(config.registries.clone()).context("setting up the registry client")?;
    block_on(resolve(items, found, config, &client)).context("starting the async runtime")
}
