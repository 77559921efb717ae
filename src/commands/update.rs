//! `imgpolicy update PATH...`: Flux's Setters automation, for a CI job that commits.
//!
//! Reads every `.yaml`/`.yml`/`Kustomization` file under the paths, takes policies from
//! `--config` and from `ImagePolicyConfig` or Flux objects found there, resolves every marker in
//! one run (one tag listing per repository across all files) and writes each changed file back
//! in place: losslessly (only the edited scalars change) and atomically (a temporary file in the
//! same directory, the original's mode, then a rename; every file staged before any is renamed).
//! Nothing is written if anything failed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::cache::CacheOptions;
use crate::cli::UpdateArgs;
use crate::engine;
use crate::exit_status::ExitStatus;
use crate::marker::Source;
use crate::resource::Resource;
use crate::results::{FnResult, Severity};
use crate::yaml::{Node, Stream, parse_stream};

/// A YAML file under one of the paths.
struct File {
    /// The path as found (under the given PATH), for messages.
    shown: PathBuf,
    /// The path written to: the file itself, or a symlink's target inside the PATH.
    target: PathBuf,
    /// Leaked: `update` holds every file until the process ends anyway, and a `'static` text
    /// lets the tree borrow its scalars from it.
    text: &'static str,
    stream: Stream<'static>,
}

impl File {
    fn resources(&self) -> Vec<Resource<'_>> {
        Resource::all_in(&self.stream)
    }
}

/// One change, for the report and the commit message.
struct Change {
    file: String,
    object: String,
    field: String,
    message: String,
}

/// Runs `update`.
///
/// # Errors
/// Unreadable paths or files, a symlink leading outside its PATH, a marked file that is not
/// YAML, an invalid configuration, a failed resolution, or a failed write.
pub fn run(args: &UpdateArgs, cache: &CacheOptions, output: &mut impl Write) -> anyhow::Result<ExitStatus> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files)?;
    }
    let extra_config = match &args.config {
        // A config file that is also under a PATH is read there, once.
        Some(path) if files.iter().any(|file| same_file(&file.target, path)) => None,
        Some(path) => {
            Some(read_file(path, path.clone())?.with_context(|| format!("`{}` is not YAML", path.display()))?)
        }
        None => None,
    };
    let configs: Vec<&Node> = files
        .iter()
        .chain(&extra_config)
        .flat_map(|file| file.resources())
        .filter(|resource| resource.kind() == Some("ImagePolicyConfig"))
        .map(|resource| resource.node)
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|file| Source { text: file.text, comments: &file.stream.comments, items: file.resources() })
        .collect();
    let resolution = engine::process(&configs, &sources, cache)??;
    let owner = owners(&sources);
    report_problems(&resolution.results, &files, &owner);
    if resolution.failed() {
        bail!("nothing was written: resolving failed (errors above)");
    }

    let changes = changes(&resolution.results, &files, &owner);
    let mut updated = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let edits = resolution.edits_for(|item| owner.get(item) == Some(&index));
        if edits.is_empty() {
            continue;
        }
        let new = edits.apply(file.text).map_err(anyhow::Error::msg)?;
        updated.push((file, new));
    }

    let mut text = String::new();
    if args.dry_run {
        for (file, new) in &updated {
            text.push_str(&unified_diff(&file.shown, file.text, new));
        }
    }
    let summary = summary(&changes);
    match &args.message_template {
        Some(template) => text.push_str(&render_message(template, &changes)?),
        None => text.push_str(&summary),
    }
    if args.message_template.is_some() {
        // The message owns stdout; the list of changes still reaches the log.
        let _ = std::io::stderr().lock().write_all(summary.as_bytes());
    }
    if !args.dry_run && !args.check {
        write_all_or_nothing(&updated)?;
    }
    output.write_all(text.as_bytes()).and_then(|()| output.flush()).context("writing to stdout")?;
    Ok(if args.check && !updated.is_empty() { ExitStatus::Failure } else { ExitStatus::Success })
}

/// Whether two paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// For each item index, the index of the file that holds it.
fn owners(sources: &[Source<'_>]) -> Vec<usize> {
    sources.iter().enumerate().flat_map(|(file, source)| std::iter::repeat_n(file, source.items.len())).collect()
}

/// Finds the YAML files under `path` (or `path` itself), in path order.
fn collect(path: &Path, files: &mut Vec<File>) -> anyhow::Result<()> {
    let root = path.canonicalize().with_context(|| format!("reading `{}`", path.display()))?;
    if root.is_file() {
        files.extend(read_file(path, root)?);
        return Ok(());
    }
    walk(path, path, &root, files)
}

/// Adds the YAML files of `dir` and its subdirectories; hidden entries are skipped, symlinked
/// directories are not followed, and a symlinked file must lead inside `root`.
fn walk(dir: &Path, path: &Path, root: &Path, files: &mut Vec<File>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading `{}`", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading `{}`", dir.display()))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let shown = entry.path();
        let name = entry.file_name();
        let kind = entry.file_type().with_context(|| format!("reading `{}`", shown.display()))?;
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if kind.is_dir() {
            walk(&shown, path, root, files)?;
            continue;
        }
        if !is_manifest_name(&name.to_string_lossy()) {
            continue;
        }
        let target = if kind.is_symlink() {
            let target =
                shown.canonicalize().with_context(|| format!("following the symlink `{}`", shown.display()))?;
            if !target.starts_with(root) || !target.is_file() {
                bail!("refusing the symlink `{}`: it leads outside `{}`", shown.display(), path.display());
            }
            target
        } else {
            shown.clone()
        };
        files.extend(read_file(&shown, target)?);
    }
    Ok(())
}

fn is_manifest_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

/// Reads and parses a file. A file that is not YAML is an error only if it carries a marker;
/// otherwise (a Helm template, say) it is skipped with a note.
fn read_file(shown: &Path, target: PathBuf) -> anyhow::Result<Option<File>> {
    let text = std::fs::read_to_string(&target).with_context(|| format!("reading `{}`", shown.display()))?.leak();
    match parse_stream(text) {
        Ok(stream) => Ok(Some(File { shown: shown.to_path_buf(), target, text, stream })),
        Err(error) if has_marker(text) => {
            Err(error).with_context(|| format!("`{}` is not valid YAML", shown.display()))
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr().lock(), "note: skipping `{}`, not YAML: {error}", shown.display());
            Ok(None)
        }
    }
}

fn has_marker(text: &str) -> bool {
    text.contains("$imagepolicy") || text.contains("imgpolicy.dev/")
}

/// Prints warnings and errors to stderr, each with its file.
fn report_problems(results: &[FnResult], files: &[File], owner: &[usize]) {
    let mut stderr = std::io::stderr().lock();
    for result in results.iter().filter(|result| result.severity != Severity::Info) {
        let file = result.item.and_then(|item| owner.get(item)).map(|&file| files[file].shown.display().to_string());
        let _ = writeln!(stderr, "{}", result.to_line(file.as_deref()));
    }
}

fn changes(results: &[FnResult], files: &[File], owner: &[usize]) -> Vec<Change> {
    results
        .iter()
        .filter(|result| result.severity == Severity::Info)
        .filter_map(|result| {
            let file = &files[*owner.get(result.item?)?];
            let reference = result.resource_ref.as_ref()?;
            let object = match (&reference.namespace, reference.name.as_str()) {
                (_, "") => reference.kind.clone(),
                (Some(namespace), name) => format!("{} {namespace}/{name}", reference.kind),
                (None, name) => format!("{} {name}", reference.kind),
            };
            Some(Change {
                file: file.shown.display().to_string(),
                object,
                field: result.field_path.clone().unwrap_or_default(),
                message: result.message.clone(),
            })
        })
        .collect()
}

/// One line per change: `file: object field: old -> new`.
fn summary(changes: &[Change]) -> String {
    changes.iter().fold(String::new(), |mut text, change| {
        let _ = writeln!(text, "{}: {} {}: {}", change.file, change.object, change.field, change.message);
        text
    })
}

/// Fills `{{files}}`, `{{objects}}`, `{{changes}}` and `{{count}}` in `template`.
fn render_message(template: &str, changes: &[Change]) -> anyhow::Result<String> {
    let files: BTreeMap<&str, ()> = changes.iter().map(|change| (change.file.as_str(), ())).collect();
    let objects: BTreeMap<String, ()> =
        changes.iter().map(|change| (format!("{} ({})", change.object, change.file), ())).collect();
    let list = |items: Vec<String>| items.iter().map(|item| format!("- {item}\n")).collect::<String>();
    let values = [
        ("files", list(files.keys().map(|file| (*file).to_owned()).collect())),
        ("objects", list(objects.keys().cloned().collect())),
        (
            "changes",
            list(changes.iter().map(|c| format!("{}: {} {}: {}", c.file, c.object, c.field, c.message)).collect()),
        ),
        ("count", changes.len().to_string()),
    ];
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find("}}") else { bail!("--message-template: `{{{{` without `}}}}`") };
        let name = rest[open + 2..open + close].trim();
        let Some((_, value)) = values.iter().find(|(key, _)| *key == name) else {
            bail!(
                "--message-template: unknown placeholder `{{{{{name}}}}}`; known: {{{{files}}}}, {{{{objects}}}}, {{{{changes}}}}, {{{{count}}}}"
            );
        };
        out.push_str(value);
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let shown = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// Replaces every file with its new text, or none: each new text is first written in full to
/// a temporary file beside its file (same mode, synced), and only when all are written are they
/// renamed over the originals, so a reader sees an old file or a new one, never a half-written
/// one. A failure while writing removes every temporary file and leaves all files as they were.
fn write_all_or_nothing(updated: &[(&File, String)]) -> anyhow::Result<()> {
    let mut staged = Vec::new();
    for (file, new) in updated {
        match stage(&file.target, new) {
            Ok(temporary) => staged.push((temporary, *file)),
            Err(error) => {
                for (temporary, _) in &staged {
                    let _ = std::fs::remove_file(temporary);
                }
                return Err(error).with_context(|| format!("writing `{}`; nothing was written", file.shown.display()));
            }
        }
    }
    for (temporary, file) in &staged {
        std::fs::rename(temporary, &file.target).with_context(|| format!("writing `{}`", file.shown.display()))?;
    }
    Ok(())
}

/// Writes `text` to a new temporary file beside `path`, with `path`'s mode; returns its path.
fn stage(path: &Path, text: &str) -> std::io::Result<PathBuf> {
    let permissions = std::fs::metadata(path)?.permissions();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.imgpolicy-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::set_permissions(&temporary, permissions)
    })();
    match result {
        Ok(()) => Ok(temporary),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}
