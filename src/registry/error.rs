//! The error a registry operation returns, and how a response body is shortened for it.
//!
//! Every variant names the registry host (as the caller wrote it) and the repository. Messages
//! never contain credentials or tokens: they carry request paths and short excerpts of what the
//! registry answered, nothing the client sent in headers.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;

use crate::registry::auth::TokenError;
use crate::registry::credentials::CredentialError;
use crate::registry::tags::LinkError;

/// How many characters of a response body an error message keeps.
const EXCERPT_CHARS: usize = 200;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the registry HTTP client")]
    Client(#[source] reqwest::Error),

    /// A host's `caFile` cannot be used.
    #[error("cannot use the CA file `{}` of registry `{host}`: {reason}", .path.display())]
    CaFile {
        /// The registry host.
        host: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The run's deadline passed before this repository was done.
    #[error(
        "gave up on `{registry}/{repository}`: the registry deadline of {timeout:?} passed \
         (raise `spec.timeout` to wait longer)"
    )]
    Deadline {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The run's timeout.
        timeout: Duration,
    },

    /// The registry's credentials could not be looked up.
    #[error("cannot get credentials for registry `{registry}`")]
    Credentials {
        /// The registry host.
        registry: String,
        /// What went wrong.
        #[source]
        source: CredentialError,
    },

    /// A multi-arch image has no manifest for the requested platform.
    #[error("`{registry}/{repository}:{reference}` has no manifest for platform `{platform}` (it has: {available})")]
    NoPlatform {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The tag or digest.
        reference: String,
        /// The platform asked for.
        platform: String,
        /// The platforms the index lists.
        available: String,
    },

    /// The host is not a valid `host[:port]`.
    #[error("invalid registry host `{host}`")]
    InvalidHost {
        /// The host as given.
        host: String,
    },

    /// The repository is not a valid repository path.
    #[error("invalid repository `{repository}` for registry `{registry}`")]
    InvalidRepository {
        /// The registry host.
        registry: String,
        /// The repository as given.
        repository: String,
    },

    /// The reference is neither a valid tag nor a `sha256:` digest.
    #[error("invalid tag or digest `{reference}` for `{registry}/{repository}`")]
    InvalidReference {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The reference as given.
        reference: String,
    },

    /// The request did not get a response (connection refused, DNS, TLS, timeout).
    #[error("cannot reach registry `{registry}` for `{repository}`")]
    Connect {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },

    /// The registry answered with an unexpected HTTP status.
    #[error(
        "registry `{registry}` answered `{status}` to `{request}` for `{repository}`{}{}",
        attempts_suffix(*.attempts),
        detail_suffix(.detail)
    )]
    Status {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// Method and path of the request, e.g. `GET /v2/backend/server/tags/list`.
        request: String,
        /// The status the registry answered.
        status: StatusCode,
        /// How many times the request was sent (retries of 408, 429 and 5xx included).
        attempts: u32,
        /// A short excerpt of the response body, empty if there was none.
        detail: String,
    },

    /// A response body was not the JSON the API defines.
    #[error("registry `{registry}` sent an invalid response to `{request}` for `{repository}`")]
    InvalidJson {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// Method and path of the request.
        request: String,
        /// What is wrong with it.
        #[source]
        source: serde_json::Error,
    },

    /// The registry asked for a bearer token and the token endpoint did not give one.
    #[error("cannot get a pull token for `{repository}` on registry `{registry}`")]
    Token {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// What went wrong.
        #[source]
        source: TokenError,
    },

    /// The tag listing's next-page link could not be followed.
    #[error("cannot follow the next page of tags of `{registry}/{repository}`")]
    NextPage {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// Why the link was refused.
        #[source]
        source: LinkError,
    },

    /// The tag listing did not end within the page limit.
    #[error("tag listing of `{registry}/{repository}` did not end after {pages} pages")]
    TooManyPages {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// How many pages were read.
        pages: usize,
    },

    /// The registry sent a digest that is not `sha256:` + 64 lowercase hex digits.
    #[error("registry `{registry}` sent an invalid digest `{value}` for `{repository}:{reference}`")]
    InvalidDigest {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The tag or digest that was resolved.
        reference: String,
        /// The header value as received (truncated).
        value: String,
    },
}

/// ` (after N attempts)` when a request was retried.
fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 { format!(" (after {attempts} attempts)") } else { String::new() }
}

/// Formats an optional detail as `: detail`.
pub(crate) fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

/// A short, single-line rendering of an error response body.
///
/// A distribution-API error document (`{"errors":[{"code","message"}]}`) becomes
/// `CODE: message; ...`; anything else is whitespace-collapsed and cut to a few hundred
/// characters. Control characters become U+FFFD. An empty body gives an empty string.
pub(crate) fn body_excerpt(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }

    let text = match serde_json::from_str::<Errors>(body) {
        Ok(doc) if !doc.errors.is_empty() => doc
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => body.to_owned(),
    };
    // One line, and no control characters: the text ends up in results and on terminals, and a
    // registry must not be able to send escape sequences there.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    truncate(&text, EXCERPT_CHARS)
}

/// `text` with every secret in `secrets` replaced by `<redacted>`: a registry that echoes what
/// it was sent (an `Authorization` value, a password) must not get it into a message.
pub(crate) fn redact(text: String, secrets: &[String]) -> String {
    // Short values (an empty password, `x`) would blank out ordinary words and protect nothing.
    secrets
        .iter()
        .filter(|secret| secret.len() >= 4)
        .fold(text, |text, secret| text.replace(secret.as_str(), "<redacted>"))
}

/// The secret part of an `Authorization` value we sent (what follows `Basic ` or `Bearer `).
pub(crate) fn authorization_secret(value: &reqwest::header::HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    Some(text.split_once(' ').map_or(text, |(_, secret)| secret).trim().to_owned())
}

/// Cuts `text` to at most `max` characters, marking the cut with `...`.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let secrets = vec!["pa55word".to_owned(), "dXNlcjpwYTU1d29yZA==".to_owned(), "x".to_owned()];
        assert_eq!(
            redact("bad password pa55word in dXNlcjpwYTU1d29yZA== (x)".to_owned(), &secrets),
            "bad password <redacted> in <redacted> (x)"
        );
        let header = reqwest::header::HeaderValue::from_static("Bearer abc.def");
        assert_eq!(authorization_secret(&header).as_deref(), Some("abc.def"));
    }

    #[test]
    fn excerpt_of_distribution_errors() {
        let body = r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"nope"}}]}"#;
        assert_eq!(body_excerpt(body), "NAME_UNKNOWN: repository name not known to registry");
    }

    #[test]
    fn excerpt_of_other_bodies() {
        assert_eq!(body_excerpt(""), "");
        assert_eq!(body_excerpt("<html>\n  <b>bad</b>\n</html>"), "<html> <b>bad</b> </html>");
        let hostile = r#"{"errors":[{"code":"DENIED","message":"line\nbreak \u001b[31mred"}]}"#;
        assert_eq!(body_excerpt(hostile), "DENIED: line break \u{fffd}[31mred");
        let long = "é".repeat(500);
        let cut = body_excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 3);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn status_message() {
        let err = RegistryError::Status {
            registry: "127.0.0.1:5000".into(),
            repository: "nope".into(),
            request: "GET /v2/nope/tags/list".into(),
            status: StatusCode::NOT_FOUND,
            attempts: 1,
            detail: "NAME_UNKNOWN: repository name not known to registry".into(),
        };
        assert_eq!(
            err.to_string(),
            "registry `127.0.0.1:5000` answered `404 Not Found` to `GET /v2/nope/tags/list` \
             for `nope`: NAME_UNKNOWN: repository name not known to registry"
        );
        let retried = RegistryError::Status {
            registry: "r".into(),
            repository: "a".into(),
            request: "GET /v2/a/tags/list".into(),
            status: StatusCode::SERVICE_UNAVAILABLE,
            attempts: 4,
            detail: String::new(),
        };
        assert_eq!(
            retried.to_string(),
            "registry `r` answered `503 Service Unavailable` to `GET /v2/a/tags/list` for `a` (after 4 attempts)"
        );
    }
}
