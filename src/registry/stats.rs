//! Request counts by kind, so the economy of a run is visible (`--verbose`).
//!
//! Each client counts its own requests ([`RegistryClient::request_counts`]), and every count
//! also goes to a process-wide total ([`request_counts`]) that the binary prints at the end of
//! a run without having to reach into the commands that built the clients.
//!
//! [`RegistryClient::request_counts`]: crate::registry::RegistryClient::request_counts

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What a request was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// A bearer token from a registry's token endpoint.
    Token,
    /// An access token from the GCE metadata server.
    Metadata,
    /// One page of a tag listing.
    TagsPage,
    /// `HEAD` of a manifest, for its digest.
    ManifestHead,
    /// `GET` of a manifest (no digest header, or an index read for a platform).
    ManifestGet,
}

/// Counters, one per [`RequestKind`], plus retries and credential-helper runs.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    token: AtomicU64,
    metadata: AtomicU64,
    tags_page: AtomicU64,
    manifest_head: AtomicU64,
    manifest_get: AtomicU64,
    retries: AtomicU64,
    challenged: AtomicU64,
    helpers: AtomicU64,
}

/// The process-wide totals.
static GLOBAL: Counters = Counters {
    token: AtomicU64::new(0),
    metadata: AtomicU64::new(0),
    tags_page: AtomicU64::new(0),
    manifest_head: AtomicU64::new(0),
    manifest_get: AtomicU64::new(0),
    retries: AtomicU64::new(0),
    challenged: AtomicU64::new(0),
    helpers: AtomicU64::new(0),
};

impl Counters {
    fn slot(&self, kind: RequestKind) -> &AtomicU64 {
        match kind {
            RequestKind::Token => &self.token,
            RequestKind::Metadata => &self.metadata,
            RequestKind::TagsPage => &self.tags_page,
            RequestKind::ManifestHead => &self.manifest_head,
            RequestKind::ManifestGet => &self.manifest_get,
        }
    }

    /// Counts one request (first attempt) of `kind`, here and in the process-wide totals.
    pub(crate) fn request(&self, kind: RequestKind) {
        for counters in [self, &GLOBAL] {
            counters.slot(kind).fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one retry.
    pub(crate) fn retry(&self) {
        for counters in [self, &GLOBAL] {
            counters.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Moves one request of `kind` to the challenged count: the registry answered it `401`
    /// and it is sent again with credentials (then counted as `kind`).
    pub(crate) fn challenged(&self, kind: RequestKind) {
        for counters in [self, &GLOBAL] {
            counters.slot(kind).fetch_sub(1, Ordering::Relaxed);
            counters.challenged.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one run of a credential helper or `gcloud`.
    pub(crate) fn helper(&self) {
        for counters in [self, &GLOBAL] {
            counters.helpers.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> RequestCounts {
        let get = |slot: &AtomicU64| slot.load(Ordering::Relaxed);
        RequestCounts {
            tokens: get(&self.token),
            metadata: get(&self.metadata),
            tag_pages: get(&self.tags_page),
            manifest_heads: get(&self.manifest_head),
            manifest_gets: get(&self.manifest_get),
            retries: get(&self.retries),
            challenged: get(&self.challenged),
            helpers: get(&self.helpers),
        }
    }
}

/// How many requests of each kind were sent. Retries are counted apart, not in their kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Token requests to registries' token endpoints.
    pub tokens: u64,
    /// Access-token requests to the GCE metadata server.
    pub metadata: u64,
    /// Tag-listing pages.
    pub tag_pages: u64,
    /// Manifest `HEAD`s.
    pub manifest_heads: u64,
    /// Manifest `GET`s.
    pub manifest_gets: u64,
    /// Requests sent again after a retryable failure.
    pub retries: u64,
    /// Requests answered `401` with a challenge, then sent again with a token or credentials.
    pub challenged: u64,
    /// Credential helper and `gcloud` runs (not HTTP requests).
    pub helpers: u64,
}

impl RequestCounts {
    /// HTTP requests in all, retries included.
    pub fn total(&self) -> u64 {
        self.tokens
            + self.metadata
            + self.tag_pages
            + self.manifest_heads
            + self.manifest_gets
            + self.retries
            + self.challenged
    }
}

impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests: {} token, {} tag-list page, {} manifest HEAD, {} manifest GET, {} metadata, \
             {} challenged (401), {} retries; {} credential helper runs",
            self.total(),
            self.tokens,
            self.tag_pages,
            self.manifest_heads,
            self.manifest_gets,
            self.metadata,
            self.challenged,
            self.retries,
            self.helpers
        )
    }
}

/// The requests every client of this process has sent so far.
pub fn request_counts() -> RequestCounts {
    GLOBAL.snapshot()
}

/// Wall-clock time with at least one request in flight: requests in parallel count once.
struct NetworkClock {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

static NETWORK: Mutex<NetworkClock> = Mutex::new(NetworkClock { in_flight: 0, since: None, total: Duration::ZERO });

/// One request in flight, from `start` until dropped.
pub(crate) struct NetworkWait(());

impl NetworkWait {
    /// Starts the clock if no other request was in flight.
    pub(crate) fn start() -> Self {
        let mut clock = NETWORK.lock().unwrap_or_else(PoisonError::into_inner);
        if clock.in_flight == 0 {
            clock.since = Some(Instant::now());
        }
        clock.in_flight += 1;
        Self(())
    }
}

impl Drop for NetworkWait {
    fn drop(&mut self) {
        let mut clock = NETWORK.lock().unwrap_or_else(PoisonError::into_inner);
        clock.in_flight = clock.in_flight.saturating_sub(1);
        if clock.in_flight == 0
            && let Some(since) = clock.since.take()
        {
            clock.total += since.elapsed();
        }
    }
}

/// How long this process has waited on registries so far: the wall-clock time during which at
/// least one request (retries and their backoff included) was in flight.
pub fn network_wait() -> Duration {
    let clock = NETWORK.lock().unwrap_or_else(PoisonError::into_inner);
    clock.total + clock.since.map_or(Duration::ZERO, |since| since.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prints() {
        let counters = Counters::default();
        counters.request(RequestKind::Token);
        counters.request(RequestKind::TagsPage);
        counters.request(RequestKind::ManifestHead);
        counters.request(RequestKind::ManifestHead);
        counters.retry();
        counters.request(RequestKind::TagsPage);
        counters.challenged(RequestKind::TagsPage);
        let counts = counters.snapshot();
        assert_eq!(counts.total(), 6);
        assert_eq!(
            counts.to_string(),
            "6 requests: 1 token, 1 tag-list page, 2 manifest HEAD, 0 manifest GET, 0 metadata, \
             1 challenged (401), 1 retries; 0 credential helper runs"
        );
        assert!(request_counts().total() >= 6);
    }

    #[test]
    fn overlapping_requests_count_once() {
        let before = network_wait();
        let first = NetworkWait::start();
        let second = NetworkWait::start();
        std::thread::sleep(Duration::from_millis(20));
        drop(first);
        drop(second);
        let waited = network_wait() - before;
        // Other tests may run requests meanwhile; this one alone waited 20 ms, not 40.
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
    }
}
