//! When a request is sent again, and after how long.
//!
//! Retried: `408`, `429`, every `5xx`, and requests that got no response (connection refused or
//! reset, timeouts). The wait is exponential with full jitter (AWS's "full jitter": a uniform
//! draw below `base * 2^retry`), unless the registry sent `Retry-After` (seconds or an HTTP
//! date), which is honoured; both are capped so one answer cannot stall a run.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Whether a response with `status` is worth sending again.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Whether a request that failed with `error` (no response) is worth sending again.
pub(crate) fn is_retryable_error(error: &reqwest::Error) -> bool {
    // A builder error (bad URL, TLS setup) or a redirect loop will fail the same way again.
    !(error.is_builder() || error.is_redirect() || error.is_decode())
}

/// How long to wait before retry number `retry` (0 for the first retry): `Retry-After` if the
/// response carried a readable one, else exponential backoff with full jitter; at most `max`.
pub(crate) fn delay(retry: u32, headers: Option<&HeaderMap>, base: Duration, max: Duration) -> Duration {
    let asked = headers.and_then(|headers| headers.get(RETRY_AFTER)).and_then(|value| value.to_str().ok());
    if let Some(wait) = asked.and_then(|value| parse_retry_after(value, SystemTime::now())) {
        return wait.min(max);
    }
    let ceiling = base.saturating_mul(2u32.saturating_pow(retry)).min(max);
    ceiling.mul_f64(jitter())
}

/// A `Retry-After` value: delay-seconds, or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`)
/// taken relative to `now` (a date in the past means no wait).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate, the one date format HTTP senders must use.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    // `Sun, 06 Nov 1994 08:49:37 GMT`
    let (_weekday, rest) = value.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|name| name == month)? as u32
        + 1;
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let clock: Vec<u64> = time.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    let [hours, minutes, seconds] = clock.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *hours > 23 || *minutes > 59 || *seconds > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + hours * 3600 + minutes * 60 + seconds;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A number in `[0, 1)`, different on every call.
///
/// `RandomState` is seeded randomly per process and per instance, which is all the randomness
/// jitter needs; no RNG crate for it.
fn jitter() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(code).expect("status")), "{code}");
        }
        for code in [200, 400, 401, 403, 404] {
            assert!(!is_retryable_status(StatusCode::from_u16(code).expect("status")), "{code}");
        }
    }

    #[test]
    fn retry_after_values() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(Duration::ZERO));
        for bad in ["", "-1", "soon", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH), "the epoch is day zero");
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(951_825_600))
        );
    }

    #[test]
    fn delays_are_capped_and_jittered() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for retry in 0..10 {
            let wait = delay(retry, None, base, max);
            assert!(wait <= max.min(base * 2u32.pow(retry.min(8))), "{retry}: {wait:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "1".parse().expect("header"));
        assert_eq!(delay(0, Some(&headers), base, max), Duration::from_secs(1));
        headers.insert(RETRY_AFTER, "3600".parse().expect("header"));
        assert_eq!(delay(0, Some(&headers), base, max), max);
        assert!((0..20).map(|_| jitter()).all(|j| (0.0..1.0).contains(&j)));
    }
}
