//! Why a cache layer could not be used. None of these fails a render: they become warnings.

use std::path::PathBuf;

/// A cache layer that failed; the message names the file or the server.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// An entry could not be written to the disk cache.
    #[error("cannot write the cache entry `{path}`: {source}")]
    Write {
        /// The entry's file (or the temporary file beside it).
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The Redis server did not answer, or answered with an error.
    #[error("redis `{server}`: {reason}")]
    Redis {
        /// The server as `redis://host:port/db`, without credentials.
        server: String,
        /// What went wrong.
        reason: String,
    },
    /// A `redis://` URL that cannot be used.
    #[error("invalid redis URL `{url}`: {reason}")]
    InvalidRedisUrl {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let error =
            CacheError::Redis { server: "redis://127.0.0.1:6379/0".into(), reason: "connection refused".into() };
        assert_eq!(error.to_string(), "redis `redis://127.0.0.1:6379/0`: connection refused");
        let error = CacheError::InvalidRedisUrl { url: "http://x".into(), reason: "expected `redis://`" };
        assert_eq!(error.to_string(), "invalid redis URL `http://x`: expected `redis://`");
    }
}
