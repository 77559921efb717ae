//! Platforms (`linux/arm64`, `linux/arm/v7`) and picking a platform's manifest out of an image
//! index (OCI) or manifest list (Docker).

use std::fmt;
use std::str::FromStr;

/// An OS and architecture, with an optional variant, as image indexes describe platforms.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, `arm`, ...
    pub architecture: String,
    /// `v7`, `v8`, ...; when not given, any variant matches.
    pub variant: Option<String>,
}

/// A platform string that is not `os/arch[/variant]`.
#[derive(Debug, thiserror::Error)]
#[error("invalid platform `{0}`: expected `os/architecture[/variant]`, e.g. `linux/arm64`")]
pub struct ParsePlatformError(String);

impl FromStr for Platform {
    type Err = ParsePlatformError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ParsePlatformError(text.to_owned());
        let parts: Vec<&str> = text.split('/').collect();
        let valid = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(valid) {
            return Err(invalid());
        }
        Ok(Self {
            os: parts[0].to_ascii_lowercase(),
            architecture: parts[1].to_ascii_lowercase(),
            variant: parts.get(2).map(|v| v.to_ascii_lowercase()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// The parts of an index or manifest list read here.
#[derive(serde::Deserialize)]
pub(crate) struct Index {
    /// The children; absent in a single-platform manifest.
    #[serde(default)]
    pub(crate) manifests: Option<Vec<Descriptor>>,
}

/// One child of an index.
#[derive(serde::Deserialize)]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub(crate) digest: String,
    #[serde(default)]
    platform: Option<DescriptorPlatform>,
}

#[derive(serde::Deserialize)]
struct DescriptorPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

impl Platform {
    /// Whether the index entry `descriptor` is this platform.
    fn matches(&self, descriptor: &Descriptor) -> bool {
        descriptor.platform.as_ref().is_some_and(|p| {
            p.os.eq_ignore_ascii_case(&self.os)
                && p.architecture.eq_ignore_ascii_case(&self.architecture)
                && self.variant.as_ref().is_none_or(|v| p.variant.as_ref().is_some_and(|pv| pv.eq_ignore_ascii_case(v)))
        })
    }

    /// The digest of this platform's entry in `manifests`: an exact variant match first, then
    /// (when no variant was asked for) the first entry of the OS and architecture.
    pub(crate) fn pick<'a>(&self, manifests: &'a [Descriptor]) -> Option<&'a str> {
        manifests.iter().find(|d| self.matches(d)).map(|d| d.digest.as_str())
    }
}

/// The platforms an index lists, for messages: `linux/amd64, linux/arm64`.
pub(crate) fn listed(manifests: &[Descriptor]) -> String {
    let names: Vec<String> = manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .map(|p| match &p.variant {
            Some(variant) => format!("{}/{}/{variant}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect();
    if names.is_empty() { "no platforms".to_owned() } else { names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_platforms() {
        let arm64: Platform = "linux/arm64".parse().expect("valid");
        assert_eq!(arm64, Platform { os: "linux".into(), architecture: "arm64".into(), variant: None });
        let arm7: Platform = "linux/arm/v7".parse().expect("valid");
        assert_eq!(arm7.to_string(), "linux/arm/v7");
        for bad in ["", "linux", "linux/", "/arm64", "linux/arm/v7/x", "linux arm64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn picks_from_an_index() {
        let index: Index = serde_json::from_str(
            r#"{"manifests":[
                {"digest":"sha256:a","platform":{"os":"linux","architecture":"amd64"}},
                {"digest":"sha256:b","platform":{"os":"linux","architecture":"arm","variant":"v6"}},
                {"digest":"sha256:c","platform":{"os":"linux","architecture":"arm","variant":"v7"}},
                {"digest":"sha256:d","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
                {"digest":"sha256:e","annotations":{"vnd.docker.reference.type":"attestation-manifest"},
                 "platform":{"os":"unknown","architecture":"unknown"}}
            ]}"#,
        )
        .expect("json");
        let manifests = index.manifests.expect("an index");
        let pick = |p: &str| p.parse::<Platform>().expect("platform").pick(&manifests).map(str::to_owned);
        assert_eq!(pick("linux/amd64").as_deref(), Some("sha256:a"));
        assert_eq!(pick("linux/arm/v7").as_deref(), Some("sha256:c"));
        assert_eq!(pick("linux/arm64").as_deref(), Some("sha256:d"));
        assert_eq!(pick("linux/s390x"), None);
        assert_eq!(listed(&manifests[..2]), "linux/amd64, linux/arm/v6");
    }
}
