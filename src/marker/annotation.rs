//! Annotation markers, which survive kustomize (it strips comments before calling a function).
//!
//! - `imgpolicy.dev/policy.<container>: "<namespace>:<name>"` on a workload updates the image
//!   of that container (or init or ephemeral container).
//! - `imgpolicy.dev/setters` holds a YAML map of field path to marker value, for any field of
//!   any resource: `{spec.values.image.tag: "flux-system:app:tag"}`.

use crate::resource::Resource;
use crate::results::{FnResult, Severity};
use crate::yaml::{FieldPath, parse_stream};

use super::workload::{container_images, is_workload};
use super::{MarkerValue, Origin, Site, Target};

/// Prefix of the per-container annotation.
pub(crate) const POLICY_PREFIX: &str = "imgpolicy.dev/policy.";
/// The field-path annotation.
pub(crate) const SETTERS: &str = "imgpolicy.dev/setters";

/// Targets marked by annotations on `resource`.
pub(super) fn find(item: usize, resource: &Resource<'_>, warnings: &mut Vec<FnResult>) -> Vec<Target> {
    let mut targets = Vec::new();
    let mut warn =
        |message: String| warnings.push(FnResult::at(Severity::Warning, message, item, &resource.identity(), None));
    for (key, value) in resource.annotations() {
        if let Some(container) = key.strip_prefix(POLICY_PREFIX) {
            let marker = match MarkerValue::parse(value) {
                Ok(marker) => marker,
                Err(error) => {
                    warn(format!("annotation `{key}`: {error}"));
                    continue;
                }
            };
            if !is_workload(resource) {
                warn(format!("annotation `{key}`: {} is not a workload kind with a pod template", resource.describe()));
                continue;
            }
            let images = container_images(resource);
            let mut matched = images.into_iter().filter(|image| image.name == container).peekable();
            if matched.peek().is_none() {
                warn(format!("annotation `{key}`: no container named `{container}` in {}", resource.describe()));
            }
            for image in matched {
                targets.push(Target {
                    item,
                    site: image.site,
                    path: image.path,
                    marker: marker.clone(),
                    origin: Origin::Container,
                });
            }
        } else if key == SETTERS {
            targets.extend(setters(item, resource, value, &mut warn));
        }
    }
    targets
}

fn setters(item: usize, resource: &Resource<'_>, value: &str, warn: &mut impl FnMut(String)) -> Vec<Target> {
    let stream = match parse_stream(value) {
        Ok(stream) => stream,
        Err(error) => {
            warn(format!("annotation `{SETTERS}` is not YAML: {error}"));
            return Vec::new();
        }
    };
    let entries = stream.documents.first().and_then(|document| document.root.entries());
    let Some(entries) = entries else {
        warn(format!("annotation `{SETTERS}` must be a map of field path to marker"));
        return Vec::new();
    };
    let mut targets = Vec::new();
    for entry in entries {
        let (Some(path), Some(marker)) = (entry.key.as_str(), entry.value.as_str()) else {
            warn(format!("annotation `{SETTERS}`: every key and value must be a string"));
            continue;
        };
        let parsed = FieldPath::parse(path)
            .map_err(|e| e.to_string())
            .and_then(|p| Ok((p, MarkerValue::parse(marker).map_err(|e| e.to_string())?)));
        let (path, marker) = match parsed {
            Ok(parsed) => parsed,
            Err(message) => {
                warn(format!("annotation `{SETTERS}`: {message}"));
                continue;
            }
        };
        match path.lookup(resource.node) {
            Some(node) if node.as_scalar().is_some() => {
                targets.push(Target { item, site: Site::of(node), path, marker, origin: Origin::Setter })
            }
            Some(_) => warn(format!("annotation `{SETTERS}`: field `{path}` is not a scalar")),
            None => warn(format!("annotation `{SETTERS}`: no field `{path}` in {}", resource.describe())),
        }
    }
    targets
}
