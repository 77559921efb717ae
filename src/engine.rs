//! The pipeline every command shares: read the configuration, find the markers, resolve.
//!
//! Commands differ only in where sources come from (a ResourceList, files, a kustomize stream)
//! and where edits go (stdout, files); they all call [`process`].

use std::sync::Arc;

use anyhow::Context;

use crate::cache::{Cache, CacheOptions, CacheSettings};
use crate::config::{self, Config, ConfigErrors};
use crate::marker::{self, CommentIndex, Found, ItemMarks, Source};
use crate::registry::{RegistryClient, block_on};
use crate::resolve::{Resolution, resolve};
use crate::resource::Resource;
use crate::results::{FnResult, Severity};
use crate::yaml::{Comment, ItemHook, Node, NodeKind};

/// Resolves every marker in `sources` with the policies of `function_configs` and of the Flux
/// objects among the sources' items (see [`process_marks`]).
///
/// # Errors
/// As [`process_marks`].
pub fn process(
    function_configs: &[&Node],
    sources: &[Source<'_>],
    cache: &CacheOptions,
) -> anyhow::Result<Result<Resolution, ConfigErrors>> {
    let items: Vec<Resource<'_>> = sources.iter().flat_map(|source| source.items.iter().copied()).collect();
    process_marks(function_configs, &items, marker::scan_sources(sources), cache)
}

/// Resolves what the items' `marks` ask for with the policies of `function_configs` and of the
/// Flux objects among `config_items`.
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
pub fn process_marks(
    function_configs: &[&Node],
    config_items: &[Resource<'_>],
    marks: Vec<ItemMarks>,
    cache: &CacheOptions,
) -> anyhow::Result<Result<Resolution, ConfigErrors>> {
    let config = match config::load(function_configs, config_items) {
        Ok(config) => config,
        Err(errors) => return Ok(Err(ConfigErrors(errors))),
    };
    let mut warnings = Vec::new();
    let found = marker::select(marks, &config, &mut warnings);
    let mut resolution = if found.targets.is_empty() && found.pins.is_empty() {
        Resolution::default()
    } else {
        resolve_blocking(&found, &config, cache)?
    };
    warnings.append(&mut resolution.results);
    resolution.results = warnings;
    Ok(Ok(resolution))
}

/// Reads a ResourceList's items as the parser completes them: each item's markers, and the
/// items configuration is read from. Every other item's tree is dropped once read.
#[derive(Debug)]
pub struct ItemReader<'s> {
    source: &'s str,
    /// The markers of every item that has any.
    pub marks: Vec<ItemMarks>,
    /// The items [`config::load`] reads (Flux image objects), whole.
    pub config_items: Vec<Node<'s>>,
}

impl<'s> ItemReader<'s> {
    /// A reader of the items of `source`.
    pub fn new(source: &'s str) -> Self {
        Self { source, marks: Vec::new(), config_items: Vec::new() }
    }
}

impl<'s> ItemHook<'s> for ItemReader<'s> {
    fn item(&mut self, index: usize, node: Node<'s>, comments: &[Comment]) -> Node<'s> {
        // Not a mapping: left in the tree for the ResourceList check to report.
        let NodeKind::Mapping { flow, .. } = node.kind else { return node };
        let resource = Resource::new(&node);
        self.marks.extend(marker::scan(index, &resource, &CommentIndex::new(self.source, comments)));
        let placeholder = Node {
            range: node.range.clone(),
            line: node.line,
            end_line: node.end_line,
            kind: NodeKind::Mapping { entries: Arc::from(Vec::new()), flow },
        };
        if config::is_read_from(&resource) {
            self.config_items.push(node);
        }
        placeholder
    }

    fn restart(&mut self) {
        self.marks.clear();
        self.config_items.clear();
    }
}

/// Runs the asynchronous resolver, with a client built only now that the network is needed.
fn resolve_blocking(found: &Found, config: &Config, options: &CacheOptions) -> anyhow::Result<Resolution> {
    let (settings, warning) = CacheSettings::resolve(options, &config.cache);
    let cache = Arc::new(Cache::new(&settings));
    let client = RegistryClient::new(config.registries.clone()).context("setting up the registry client")?;
    let mut resolution = block_on(resolve(found, config, &client, &cache)).context("starting the async runtime")?;
    let warnings = warning.into_iter().chain(cache.warnings());
    resolution.results.extend(warnings.map(|message| FnResult::new(Severity::Warning, message)));
    Ok(resolution)
}
