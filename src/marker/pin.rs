//! `pinDigests: true`: container images without a digest gain the digest of their tag.
//!
//! The job of k8s-digester and kbld, done at render time and visible in the output:
//! `nginx:1.27` becomes `nginx:1.27@sha256:...`; an image without a tag is pinned to what
//! `latest` points at and keeps its spelling (`nginx@sha256:...`).

use crate::config::Config;
use crate::image::ImageRef;
use crate::yaml::FieldPath;

use super::workload::ContainerImage;
use super::{Site, Target};

/// The tag a reference without one means.
const DEFAULT_TAG: &str = "latest";

/// A container image to pin.
#[derive(Debug, Clone)]
pub struct PinTarget {
    /// Index of the item in the run.
    pub item: usize,
    /// The `image` scalar.
    pub site: Site,
    /// Its path within the item.
    pub path: FieldPath,
    /// The image as written, without a digest.
    pub image: ImageRef,
    /// The tag whose digest is written (`latest` when the image names none).
    pub tag: String,
}

/// Whether `image` starts with one of `prefixes`, as written or normalised.
fn is_excluded(image: &ImageRef, written: &str, prefixes: &[String]) -> bool {
    let normalised = image.repository().map(|repository| repository.to_string()).unwrap_or_default();
    prefixes.iter().any(|prefix| written.starts_with(prefix.as_str()) || normalised.starts_with(prefix.as_str()))
}

/// The `containers` of item `item` that have no digest, are not excluded, are not already
/// `taken` (by a policy marker), and can be edited.
pub(super) fn find(item: usize, containers: Vec<ContainerImage>, config: &Config, taken: &[Target]) -> Vec<PinTarget> {
    let mut pins = Vec::new();
    for container in containers {
        let site = &container.site;
        if site.refusal.is_some() || site.scalar.is_none() || taken.iter().any(|t| t.site.range == site.range) {
            continue;
        }
        let written = site.text();
        let Ok(image) = ImageRef::parse(written) else { continue };
        if image.digest.is_some() || is_excluded(&image, written, &config.pin_digests_exclude) {
            continue;
        }
        let tag = image.tag.clone().unwrap_or_else(|| DEFAULT_TAG.to_owned());
        pins.push(PinTarget { item, site: container.site, path: container.path, image, tag });
    }
    pins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_matches_written_or_normalised_prefixes() {
        let image = ImageRef::parse("nginx:1.27").unwrap();
        assert!(is_excluded(&image, "nginx:1.27", &["docker.io/library/".to_owned()]));
        assert!(is_excluded(&image, "nginx:1.27", &["nginx".to_owned()]));
        assert!(!is_excluded(&image, "nginx:1.27", &["ghcr.io/".to_owned()]));
    }
}
