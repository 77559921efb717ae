//! `imgpolicy render DIR`: manifests with images resolved, for an ArgoCD config-management plugin.
//!
//! A directory with a kustomization is built first (`kustomize build`, else `kubectl
//! kustomize`), and the built stream is resolved through annotations and `matchImages`
//! (kustomize strips comments). Any other directory is read as plain manifests, file by file, so
//! comment markers work too. stdout receives only manifests; objects that are configuration
//! (`ImagePolicyConfig`, anything annotated `config.kubernetes.io/local-config: "true"`) are left
//! out. Every failure, and a render with no manifests at all, exits non-zero with nothing on
//! stdout, because ArgoCD prunes an application whose plugin printed nothing and succeeded.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cache::CacheOptions;
use crate::cli::RenderArgs;
use crate::engine;
use crate::exit_status::ExitStatus;
use crate::marker::Source;
use crate::resource::Resource;
use crate::yaml::{Node, Stream, parse_stream};

const KUSTOMIZATIONS: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

/// One text to resolve: a built kustomization, or a manifest file.
///
/// The text is leaked: a render holds every text until the process ends anyway, and a
/// `'static` text lets the tree borrow its scalars from it.
struct Text {
    /// The file's path within DIR; `None` for a built kustomization.
    name: Option<String>,
    text: &'static str,
    stream: Stream<'static>,
}

/// Runs `render`, with registry answers cached as `cache` says.
///
/// # Errors
/// A failed build, unreadable or invalid files, an invalid configuration, a failed resolution,
/// or nothing to render.
pub fn run(args: &RenderArgs, cache: &CacheOptions, output: &mut impl Write) -> anyhow::Result<ExitStatus> {
    let dir = &args.dir;
    let texts = if KUSTOMIZATIONS.iter().any(|name| dir.join(name).is_file()) {
        vec![build_kustomization(dir)?]
    } else {
        manifests(dir, args.config.as_deref())?
    };
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?.leak();
            Some(parse_stream(text).with_context(|| format!("`{}` is not valid YAML", path.display()))?)
        }
        None => None,
    };
    let mut configs: Vec<&Node> =
        config.iter().flat_map(|stream| &stream.documents).map(|document| &document.root).collect();
    let sources: Vec<Source<'_>> = texts
        .iter()
        .map(|text| Source { text: text.text, comments: &text.stream.comments, items: Resource::all_in(&text.stream) })
        .collect();
    configs.extend(
        sources
            .iter()
            .flat_map(|source| &source.items)
            .filter(|item| item.kind() == Some("ImagePolicyConfig"))
            .map(|item| item.node),
    );
    let resolution = engine::process(&configs, &sources, cache)??;
    let owner: Vec<usize> =
        sources.iter().enumerate().flat_map(|(index, source)| std::iter::repeat_n(index, source.items.len())).collect();
    let mut stderr = std::io::stderr().lock();
    for result in &resolution.results {
        let file = result.item.and_then(|item| owner.get(item)).and_then(|&index| texts[index].name.as_deref());
        let _ = writeln!(stderr, "{}", result.to_line(file));
    }
    if resolution.failed() {
        bail!("nothing rendered: resolving failed (errors above)");
    }
    let mut rendered = String::new();
    for (index, text) in texts.iter().enumerate() {
        let edited = resolution
            .edits_for(|item| owner.get(item) == Some(&index))
            .apply(text.text)
            .map_err(anyhow::Error::msg)?;
        let stream = parse_stream(&edited).with_context(|| {
            format!("internal error: `{}` no longer parses after editing", text.name.as_deref().unwrap_or("the build"))
        })?;
        for document in stream.documents.iter().filter(|document| is_manifest(&document.root)) {
            rendered.push_str("---\n");
            rendered.push_str(edited[document.root.range.clone()].trim_end());
            rendered.push('\n');
        }
    }
    if rendered.is_empty() {
        bail!(
            "no manifests in `{}`: refusing to print nothing, which ArgoCD would take as \"delete everything\"",
            dir.display()
        );
    }
    output.write_all(rendered.as_bytes()).and_then(|()| output.flush()).context("writing to stdout")?;
    Ok(ExitStatus::Success)
}

/// Whether a document is a manifest to print: a mapping that is not configuration.
fn is_manifest(root: &Node) -> bool {
    let resource = Resource::new(root);
    root.entries().is_some()
        && resource.kind() != Some("ImagePolicyConfig")
        && resource.annotation(LOCAL_CONFIG) != Some("true")
}

/// `kustomize build DIR`, or `kubectl kustomize DIR` when kustomize is not installed.
fn build_kustomization(dir: &Path) -> anyhow::Result<Text> {
    let attempts: [(&str, &[&str]); 2] = [("kustomize", &["build"]), ("kubectl", &["kustomize"])];
    for (program, args) in attempts {
        let output = match Command::new(program).args(args).arg(dir).output() {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("running `{program}`")),
        };
        if !output.status.success() {
            bail!(
                "`{program} {} {}` failed:\n{}",
                args.join(" "),
                dir.display(),
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        let text = String::from_utf8(output.stdout)
            .with_context(|| format!("`{program}` printed something that is not UTF-8"))?;
        let text = text.leak();
        let stream = parse_stream(text).with_context(|| format!("`{program}` printed something that is not YAML"))?;
        return Ok(Text { name: None, text, stream });
    }
    bail!("`{}` holds a kustomization, but neither `kustomize` nor `kubectl` is installed", dir.display())
}

/// The `.yaml`, `.yml` and `.json` files under `dir`, in path order; hidden entries and the
/// `--config` file (read on its own) skipped.
fn manifests(dir: &Path, config: Option<&Path>) -> anyhow::Result<Vec<Text>> {
    let config = config.and_then(|path| path.canonicalize().ok());
    let mut paths = Vec::new();
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).with_context(|| format!("reading `{}`", current.display()))? {
            let path = entry.with_context(|| format!("reading `{}`", current.display()))?.path();
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if [".yaml", ".yml", ".json"].iter().any(|extension| name.ends_with(extension))
                && (config.is_none() || path.canonicalize().ok() != config)
            {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading `{}`", path.display()))?.leak();
            let stream = parse_stream(text).with_context(|| format!("`{}` is not valid YAML", path.display()))?;
            let name = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
            Ok(Text { name: Some(name), text, stream })
        })
        .collect()
}
