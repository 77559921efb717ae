//! kustomize's legacy exec plugin: `kubectl kustomize --enable-alpha-plugins` runs it.
//!
//! Installed (or symlinked) as
//! `$XDG_CONFIG_HOME/kustomize/plugin/imgpolicy.dev/v1alpha1/imagepolicyconfig/ImagePolicyConfig`,
//! it is called with one argument, the path of a file holding the transformer's
//! `ImagePolicyConfig`, and the resources on stdin as a YAML stream (comments already stripped
//! by kustomize, so annotations and `matchImages` mark values). It prints the same stream with
//! the values resolved, or fails with nothing on stdout.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};

use crate::cache::CacheOptions;
use crate::engine;
use crate::exit_status::ExitStatus;
use crate::marker::Source;
use crate::resource::Resource;
use crate::results::Severity;
use crate::yaml::parse_stream;

/// The executable name kustomize looks for.
pub const PLUGIN_NAME: &str = "ImagePolicyConfig";

/// Runs the plugin with the config at `config_path`, the stream on `input`.
///
/// # Errors
/// An unreadable or invalid config or stream, a failed resolution; nothing is printed then.
pub fn run(config_path: &Path, input: &mut impl Read, output: &mut impl Write) -> anyhow::Result<ExitStatus> {
    let config_text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading the plugin config `{}`", config_path.display()))?;
    let config_stream = parse_stream(&config_text)
        .with_context(|| format!("the plugin config `{}` is not YAML", config_path.display()))?;
    let Some(config) =
        config_stream.documents.first().map(|document| &document.root).filter(|root| root.entries().is_some())
    else {
        bail!("the plugin config `{}` holds no ImagePolicyConfig", config_path.display());
    };
    let mut text = String::new();
    input.read_to_string(&mut text).context("reading resources from stdin")?;
    let stream = parse_stream(&text).context("the resources on stdin are not YAML")?;
    let items = Resource::all_in(&stream);
    let source = Source { text: &text, comments: &stream.comments, items };
    // kustomize passes no flags: the cache is set through the environment only.
    let cache = CacheOptions::from_env();
    let resolution = engine::process(&[config], std::slice::from_ref(&source), &cache)??;
    let mut stderr = std::io::stderr().lock();
    for result in resolution.results.iter().filter(|result| result.severity != Severity::Info) {
        let _ = writeln!(stderr, "{}", result.to_line(None));
    }
    if resolution.failed() {
        bail!("resolving failed (errors above)");
    }
    let rendered = resolution.edits_for(|_| true).apply(&text).map_err(anyhow::Error::msg)?;
    output.write_all(rendered.as_bytes()).and_then(|()| output.flush()).context("writing to stdout")?;
    Ok(ExitStatus::Success)
}
