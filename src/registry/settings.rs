//! How to talk to one registry host ([`HostSettings`]), and the run-wide limits a client is
//! built with ([`ClientLimits`]).
//!
//! [`RegistrySettings`] is the older, insecure-only form that callers still build by hand; it
//! converts into [`HostSettings`] so both can be passed to [`RegistryClient::new`].
//!
//! [`RegistryClient::new`]: crate::registry::RegistryClient::new

use std::path::PathBuf;
use std::time::Duration;

/// Where the credentials for a host come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CredentialSource {
    /// Docker/Podman `config.json` (auths, `credsStore`, `credHelpers`); then, for Google
    /// hosts (`*-docker.pkg.dev`, `gcr.io`, `*.gcr.io`), the GCE metadata server or `gcloud`.
    #[default]
    Auto,
    /// As `Auto`, but the host is treated as a Google registry whatever its name (a GAR
    /// mirror or a private endpoint).
    Google,
    /// Never send credentials to this host.
    Anonymous,
}

/// How to talk to one registry host.
///
/// The default is HTTPS with the system's trust roots, credentials from the usual places, the
/// registry's own page size and no rate limit.
#[derive(Clone, Debug, Default)]
pub struct HostSettings {
    /// Use plain HTTP instead of HTTPS (local and test registries).
    pub insecure: bool,
    /// A PEM file of CA certificates trusted for this host, on top of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// `?n=` on the first tag-listing request (Quay allows at most 100).
    pub page_size: Option<u32>,
    /// At most this many requests per second to this host.
    pub requests_per_second: Option<f64>,
    /// Where credentials come from.
    pub credentials: CredentialSource,
}

/// How to talk to one registry host: only whether it speaks plain HTTP.
///
/// Kept for callers that build settings by hand; [`HostSettings`] has every option.
#[derive(Clone, Debug, Default)]
pub struct RegistrySettings {
    /// Use plain HTTP instead of HTTPS (local and test registries).
    pub insecure: bool,
}

impl From<RegistrySettings> for HostSettings {
    fn from(settings: RegistrySettings) -> Self {
        Self { insecure: settings.insecure, ..Self::default() }
    }
}

/// Run-wide limits of a client.
#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// Whole-request timeout, body included.
    pub request_timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Attempts per request, the first included (retries on 408, 429, 5xx, connection errors).
    pub attempts: u32,
    /// First backoff; doubled on each retry, with full jitter.
    pub backoff: Duration,
    /// Longest wait between two attempts, `Retry-After` included.
    pub max_backoff: Duration,
    /// How long a credential helper or `gcloud` may run.
    pub helper_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            helper_timeout: Duration::from_secs(20),
        }
    }
}

/// Parses a Go-style duration: `90s`, `5m`, `1m30s`, `500ms`, `2h`.
///
/// # Errors
/// A message saying what is wrong, for the caller to place.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration `{text}`: expected e.g. `90s`, `5m`, `1m30s` or `500ms`");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(number * seconds).map_err(|_| invalid())?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, expected) in
            [("90s", 90_000), ("5m", 300_000), ("1m30s", 90_000), ("500ms", 500), ("1.5s", 1500), ("2h", 7_200_000)]
        {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(expected)), "{text}");
        }
        for text in ["", "5", "s", "5 m", "-1s", "1d", "1s2"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert_eq!(
            parse_duration("5").unwrap_err(),
            "invalid duration `5`: expected e.g. `90s`, `5m`, `1m30s` or `500ms`"
        );
    }
}
