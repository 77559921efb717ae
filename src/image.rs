//! Image references: `[host[:port]/]path[:tag][@digest]`, normalised as Docker and Flux do.
//!
//! Two references name the same repository when their normalised forms are equal: `nginx`,
//! `library/nginx`, `docker.io/library/nginx` and `index.docker.io/library/nginx` are all
//! `docker.io/library/nginx`. The first path component is a registry host only if it contains
//! `.` or `:` or is `localhost`, which is the rule of Docker's reference grammar.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Docker Hub's canonical name.
pub const DOCKER_HUB: &str = "docker.io";

static PATH_COMPONENT: LazyLock<Regex> = LazyLock::new(|| compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$"));
static HOST: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$",
    )
});

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|error| unreachable!("static pattern: {error}"))
}

/// Whether `tag` is a valid OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`. Checked byte by byte:
/// it runs on every tag a registry lists.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    bytes.first().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && bytes.len() <= 128
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `digest` is `sha256:` followed by 64 lowercase hex digits.
pub fn is_valid_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// A repository on a registry, normalised (`docker.io/library/nginx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    /// Registry host with optional port; Docker Hub is `docker.io`.
    pub host: String,
    /// Path within the registry, e.g. `library/nginx`, `my-project/backend/server`.
    pub path: String,
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.path)
    }
}

/// A parsed image reference, keeping the repository as written for writing back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository part exactly as written (`nginx`, `ghcr.io/org/app`).
    pub name: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any.
    pub digest: Option<String>,
}

/// A reference that does not follow the grammar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image reference `{reference}`: {reason}")]
pub struct ParseImageError {
    /// The reference as written.
    pub reference: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl ImageRef {
    /// Parses `[host[:port]/]path[:tag][@digest]`.
    ///
    /// ```
    /// use imgpolicy::image::ImageRef;
    /// let image = ImageRef::parse("127.0.0.1:5000/team/app:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000").unwrap();
    /// assert_eq!(image.name, "127.0.0.1:5000/team/app");
    /// assert_eq!(image.tag.as_deref(), Some("1.0"));
    /// assert_eq!(image.repository().unwrap().host, "127.0.0.1:5000");
    /// ```
    ///
    /// # Errors
    /// An empty name, an invalid tag or digest, or path components Docker would refuse.
    pub fn parse(reference: &str) -> Result<Self, ParseImageError> {
        let error = |reason| ParseImageError { reference: reference.to_owned(), reason };
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) if is_valid_digest(digest) => (rest, Some(digest.to_owned())),
            Some(_) => return Err(error("the digest is not `sha256:` and 64 lowercase hex digits")),
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => {
                let tag = &rest[last_slash + colon + 1..];
                if !is_valid_tag(tag) {
                    return Err(error("the tag is not `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`"));
                }
                (&rest[..last_slash + colon], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let image = Self { name: name.to_owned(), tag, digest };
        image.repository().map_err(|e| error(e.reason))?;
        Ok(image)
    }

    /// The normalised repository.
    ///
    /// # Errors
    /// The name is empty or not a valid repository.
    pub fn repository(&self) -> Result<Repository, ParseImageError> {
        parse_repository(&self.name)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Parses and normalises a repository name without tag or digest.
///
/// ```
/// use imgpolicy::image::parse_repository;
/// assert_eq!(parse_repository("nginx").unwrap().to_string(), "docker.io/library/nginx");
/// assert_eq!(parse_repository("index.docker.io/bitnami/redis").unwrap().to_string(), "docker.io/bitnami/redis");
/// ```
///
/// # Errors
/// An empty name, a tag or digest in it, or an invalid host or path component.
pub fn parse_repository(name: &str) -> Result<Repository, ParseImageError> {
    let error = |reason| ParseImageError { reference: name.to_owned(), reason };
    let (host, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => (DOCKER_HUB, name),
    };
    if !HOST.is_match(host) {
        return Err(error("the registry host is not valid"));
    }
    if path.is_empty() || !path.split('/').all(|component| PATH_COMPONENT.is_match(component)) {
        return Err(error(
            "the repository path must be lowercase components of `[a-z0-9]` joined by `.`, `_`, `__` or `-`, separated by `/`",
        ));
    }
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB,
        other => other,
    };
    let path = if host == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path.to_owned() };
    Ok(Repository { host: host.to_owned(), path })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! repository_tests {
        ($($name:ident: $input:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse_repository($input).map(|r| r.to_string()).map_err(|e| e.reason), $expected);
            }
        )*};
    }

    repository_tests! {
        hub_official: "nginx" => Ok("docker.io/library/nginx".into());
        hub_user: "bitnami/redis" => Ok("docker.io/bitnami/redis".into());
        hub_explicit: "docker.io/library/nginx" => Ok("docker.io/library/nginx".into());
        hub_index: "index.docker.io/nginx" => Ok("docker.io/library/nginx".into());
        hub_registry_1: "registry-1.docker.io/library/nginx" => Ok("docker.io/library/nginx".into());
        gar: "asia-northeast2-docker.pkg.dev/p/backend/server" => Ok("asia-northeast2-docker.pkg.dev/p/backend/server".into());
        loopback_port: "127.0.0.1:5000/backend/server" => Ok("127.0.0.1:5000/backend/server".into());
        localhost: "localhost/app" => Ok("localhost/app".into());
        uppercase_path: "ghcr.io/Org/app" => Err("the repository path must be lowercase components of `[a-z0-9]` joined by `.`, `_`, `__` or `-`, separated by `/`");
        empty: "" => Err("the repository path must be lowercase components of `[a-z0-9]` joined by `.`, `_`, `__` or `-`, separated by `/`");
    }

    #[test]
    fn parses_every_part() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let image = ImageRef::parse(&format!("ghcr.io/org/app:v1.2@{digest}")).unwrap();
        assert_eq!(
            (image.name.as_str(), image.tag.as_deref(), image.digest.as_deref()),
            ("ghcr.io/org/app", Some("v1.2"), Some(digest.as_str()))
        );
        let image = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!((image.name.as_str(), image.tag), ("localhost:5000/app", None));
        assert_eq!(ImageRef::parse("nginx:1.27").unwrap().to_string(), "nginx:1.27");
    }

    #[test]
    fn refuses_bad_tags_and_digests() {
        assert!(ImageRef::parse("nginx:-bad").is_err());
        assert!(ImageRef::parse("nginx@sha256:xyz").is_err());
        assert!(!is_valid_tag(&"a".repeat(129)));
        assert!(is_valid_tag(&"a".repeat(128)));
    }

    #[test]
    fn tag_validation() {
        for tag in ["latest", "1.0.0", "_x", "main-0a1b2c3-1700000000", "sha256-0123abcd.sig"] {
            assert!(is_valid_tag(tag), "{tag}");
        }
        let long = "a".repeat(129);
        for tag in ["", ".x", "-x", "a/b", "a:b", "a b", "é", long.as_str()] {
            assert!(!is_valid_tag(tag), "{tag}");
        }
        assert!(is_valid_tag(&long[1..]));
    }

    #[test]
    fn digest_validation() {
        let good = format!("sha256:{}", "0a".repeat(32));
        assert!(is_valid_digest(&good));
        assert!(!is_valid_digest(&good.to_uppercase()));
        assert!(!is_valid_digest(&format!("sha512:{}", "0a".repeat(32))));
        assert!(!is_valid_digest(&good[..good.len() - 1]));
        assert!(!is_valid_digest(&format!("{good}0")));
        assert!(!is_valid_digest(&format!("sha256:{}", "g".repeat(64))));
    }
}
