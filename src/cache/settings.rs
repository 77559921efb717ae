//! Where the cache lives and how it is used: the operator's choices ([`CacheOptions`]: flags
//! and environment), the configuration's ([`CacheSpec`]: `spec.cache`), and the two merged
//! ([`CacheSettings`]).
//!
//! The operator wins over the configuration: a `--cache-dir` flag or `IMGPOLICY_CACHE_DIR`
//! overrides `spec.cache.dir`, `IMGPOLICY_REDIS_URL` overrides `spec.cache.redis`. kpt exec
//! functions and kustomize plugins take no flags, hence the environment variables.

use std::path::PathBuf;
use std::time::Duration;

use super::RedisUrl;

/// How long an entry is fresh when neither the policy nor `spec.cache.interval` says.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// The environment variable naming the cache directory.
pub const CACHE_DIR_ENV: &str = "IMGPOLICY_CACHE_DIR";
/// The environment variable holding a `redis://` URL.
pub const REDIS_URL_ENV: &str = "IMGPOLICY_REDIS_URL";
/// The environment variable that, set (see [`CacheOptions::from_vars`]), means `--offline`.
pub const OFFLINE_ENV: &str = "IMGPOLICY_OFFLINE";
/// The environment variable that, set (see [`CacheOptions::from_vars`]), means `--refresh`.
pub const REFRESH_ENV: &str = "IMGPOLICY_REFRESH";

/// What the operator asked for, from flags and the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheOptions {
    /// The cache directory (`--cache-dir`, `IMGPOLICY_CACHE_DIR`).
    pub dir: Option<PathBuf>,
    /// A Redis server shared by a fleet (`IMGPOLICY_REDIS_URL`).
    pub redis: Option<String>,
    /// Answer from the cache only, never asking a registry (`--offline`, `IMGPOLICY_OFFLINE`).
    pub offline: bool,
    /// Never read the cache; fetch and store afresh (`--refresh`, `IMGPOLICY_REFRESH`).
    pub refresh: bool,
}

impl CacheOptions {
    /// The options the process environment sets.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The options `var` (an environment lookup) sets; empty values count as unset. A flag is
    /// on for any value but `0`, `false`, `no` and `off` (in any case): `TRUE` or `on` must not
    /// silently mean off.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name| var(name).filter(|value| !value.is_empty());
        let flag = |name| {
            value(name).is_some_and(|value| {
                !["0", "false", "no", "off"].iter().any(|off| value.trim().eq_ignore_ascii_case(off))
            })
        };
        Self {
            dir: value(CACHE_DIR_ENV).map(PathBuf::from),
            redis: value(REDIS_URL_ENV),
            offline: flag(OFFLINE_ENV),
            refresh: flag(REFRESH_ENV),
        }
    }

    /// These options with the command line's on top: a flag wins over the environment.
    #[must_use]
    pub fn with_flags(mut self, dir: Option<PathBuf>, offline: bool, refresh: bool) -> Self {
        self.dir = dir.or(self.dir);
        self.offline |= offline;
        self.refresh |= refresh;
        self
    }
}

/// `spec.cache` of an `ImagePolicyConfig`, validated.
#[derive(Debug, Clone, Default)]
pub struct CacheSpec {
    /// `spec.cache.dir`: the cache directory.
    pub dir: Option<PathBuf>,
    /// `spec.cache.redis`: a Redis server shared by a fleet.
    pub redis: Option<RedisUrl>,
    /// `spec.cache.interval`: how long entries of images without a policy (pinned digests)
    /// stay fresh, and the default of policies without an `interval`.
    pub interval: Option<Duration>,
}

/// The cache of one run, resolved. The default is no disk cache, no Redis, and entries fresh
/// for [`DEFAULT_TTL`].
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// The directory of the disk cache; `None`: no disk cache (no home directory).
    pub dir: Option<PathBuf>,
    /// The Redis server, if any.
    pub redis: Option<RedisUrl>,
    /// Answer from the cache only.
    pub offline: bool,
    /// Skip reading the cache.
    pub refresh: bool,
    /// Time to live of entries no policy sets one for.
    pub default_ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self { dir: None, redis: None, offline: false, refresh: false, default_ttl: DEFAULT_TTL }
    }
}

impl CacheSettings {
    /// Merges the operator's `options` over the configuration's `spec`; the disk cache falls
    /// back to [`default_dir`].
    ///
    /// # Errors
    /// An invalid `IMGPOLICY_REDIS_URL`, as a warning to report: the run goes on without Redis.
    pub fn resolve(options: &CacheOptions, spec: &CacheSpec) -> (Self, Option<String>) {
        let (redis, warning) = match options.redis.as_deref().map(str::parse::<RedisUrl>) {
            Some(Ok(url)) => (Some(url), None),
            Some(Err(error)) => (None, Some(format!("{REDIS_URL_ENV}: {error}; the fleet cache is not used"))),
            None => (spec.redis.clone(), None),
        };
        let settings = Self {
            dir: options.dir.clone().or_else(|| spec.dir.clone()).or_else(default_dir),
            redis,
            offline: options.offline,
            refresh: options.refresh,
            default_ttl: spec.interval.unwrap_or(DEFAULT_TTL),
        };
        (settings, warning)
    }
}

/// `$XDG_CACHE_HOME/imgpolicy`, else `$HOME/.cache/imgpolicy`; `None` when neither is set to
/// an absolute path.
pub fn default_dir() -> Option<PathBuf> {
    dir_from(|name| std::env::var_os(name))
}

fn dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let absolute = |name| var(name).map(PathBuf::from).filter(|path| path.is_absolute());
    absolute("XDG_CACHE_HOME")
        .map(|cache| cache.join("imgpolicy"))
        .or_else(|| absolute("HOME").map(|home| home.join(".cache").join("imgpolicy")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn default_dir_follows_xdg() {
        let os =
            |pairs: &'static [(&'static str, &'static str)]| dir_from(move |name| vars(pairs)(name).map(Into::into));
        assert_eq!(os(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")]), Some(PathBuf::from("/c/imgpolicy")));
        assert_eq!(os(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")]), Some(PathBuf::from("/h/.cache/imgpolicy")));
        assert_eq!(os(&[]), None);
    }

    #[test]
    fn environment_and_flags() {
        let options = CacheOptions::from_vars(vars(&[
            (CACHE_DIR_ENV, "/env"),
            (OFFLINE_ENV, "1"),
            (REFRESH_ENV, ""),
            (REDIS_URL_ENV, "redis://127.0.0.1:6379/2"),
        ]));
        assert_eq!(options.dir, Some(PathBuf::from("/env")));
        assert!(options.offline && !options.refresh);
        let options = options.with_flags(Some("/flag".into()), false, true);
        assert_eq!(options.dir, Some(PathBuf::from("/flag")));
        assert!(options.offline && options.refresh);
        for (value, on) in [("TRUE", true), ("on", true), ("yes", true), ("0", false), ("False", false), ("off", false)]
        {
            assert_eq!(CacheOptions::from_vars(vars(&[(OFFLINE_ENV, value)])).offline, on, "{value}");
        }
    }

    #[test]
    fn operator_wins_over_config() {
        let spec = CacheSpec {
            dir: Some("/spec".into()),
            redis: Some("redis://10.0.0.1/1".parse().expect("url")),
            interval: Some(Duration::from_secs(300)),
        };
        let (settings, warning) = CacheSettings::resolve(&CacheOptions::default(), &spec);
        assert_eq!((settings.dir, warning), (Some(PathBuf::from("/spec")), None));
        assert_eq!(settings.default_ttl, Duration::from_secs(300));
        assert_eq!(settings.redis.map(|url| url.to_string()).as_deref(), Some("redis://10.0.0.1:6379/1"));
        let options =
            CacheOptions { dir: Some("/op".into()), redis: Some("http://x".into()), ..CacheOptions::default() };
        let (settings, warning) = CacheSettings::resolve(&options, &spec);
        assert_eq!(settings.dir, Some(PathBuf::from("/op")));
        assert!(settings.redis.is_none());
        assert_eq!(
            warning.as_deref(),
            Some(
                "IMGPOLICY_REDIS_URL: invalid redis URL `http://x`: expected `redis://HOST[:PORT][/DB]`; the fleet cache is not used"
            )
        );
    }
}
