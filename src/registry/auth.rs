//! Registry authentication: `WWW-Authenticate` challenges, the bearer token flow of the
//! distribution token spec, and the token cache.
//!
//! A registry that answers `401` with a `Bearer` challenge gets a token request to its realm:
//! anonymous, with basic credentials (`GET` + `Authorization: Basic`), or with an identity
//! token through the OAuth2 refresh-token exchange (`POST` of
//! `grant_type=refresh_token&refresh_token=..&service=..&scope=..`), as Docker does for ACR and
//! for `identitytoken` entries. Credentials only go to an `https` realm, or to one on a host
//! marked insecure. Where credentials come from is `credentials.rs`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Request, StatusCode, Url};

use crate::registry::client::{RegistryClient, SendError};
use crate::registry::credentials::Credentials;
use crate::registry::error::{body_excerpt, detail_suffix, redact, truncate};
use crate::registry::stats::RequestKind;

/// The OAuth2 `client_id` sent with a refresh-token exchange.
const CLIENT_ID: &str = "imgpolicy";
/// How long a basic `Authorization` value stays cached: the whole run.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Token lifetime when the token endpoint does not say (the token spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// A cached token is dropped this long before it expires, so it does not expire in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Why a bearer token could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The challenge's realm is not an `http(s)` URL.
    #[error("invalid token realm `{realm}`")]
    InvalidRealm {
        /// The realm as received (truncated).
        realm: String,
    },
    /// The token endpoint did not answer.
    #[error("cannot reach the token endpoint `{realm}`")]
    Connect {
        /// The token endpoint.
        realm: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint answered with an error status.
    #[error("token endpoint `{realm}` answered `{status}`{}", detail_suffix(.detail))]
    Status {
        /// The token endpoint.
        realm: String,
        /// The status it answered.
        status: StatusCode,
        /// A short excerpt of its response body.
        detail: String,
    },
    /// The token endpoint's answer is not the expected JSON.
    #[error("token endpoint `{realm}` sent an invalid response")]
    InvalidJson {
        /// The token endpoint.
        realm: String,
        /// What is wrong with it.
        #[source]
        source: serde_json::Error,
    },
    /// The answer has neither `token` nor `access_token`, or it cannot be sent in a header.
    #[error("token endpoint `{realm}` sent no usable token")]
    Missing {
        /// The token endpoint.
        realm: String,
    },
    /// The realm is plain HTTP on a host not marked insecure: credentials are not sent there.
    #[error(
        "token endpoint `{realm}` is not HTTPS; credentials are only sent over HTTPS (or to a host marked `insecure`)"
    )]
    InsecureRealm {
        /// The token endpoint.
        realm: String,
    },
    /// The run's deadline passed before a token came.
    #[error("the deadline of {timeout:?} passed")]
    Deadline {
        /// The run's timeout.
        timeout: Duration,
    },
}

/// One challenge of a `WWW-Authenticate` header (RFC 7235): a scheme and its parameters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The auth scheme, as sent (compare case-insensitively).
    pub(crate) scheme: String,
    /// Parameters in order, names lowercased, quoted values unescaped.
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lowercase).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// This challenge as a bearer challenge, if it is one with a realm.
    pub(crate) fn bearer(&self) -> Option<BearerChallenge> {
        if !self.scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        Some(BearerChallenge {
            realm: self.param("realm")?.to_owned(),
            service: self.param("service").map(str::to_owned),
        })
    }
}

/// What a `Bearer` challenge says about where to get a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BearerChallenge {
    /// The token endpoint URL.
    pub(crate) realm: String,
    /// The `service` to name in the token request, if the registry gave one.
    pub(crate) service: Option<String>,
}

/// Parses a `WWW-Authenticate` header value into its challenges.
///
/// Lenient: it never fails, and skips what it cannot read. Handles several challenges in one
/// value (`Basic realm="a", Bearer realm="b"`), quoted values with commas and `\` escapes,
/// unquoted values, and `token68` credentials (kept as a parameter with an empty name).
pub(crate) fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut cursor = Cursor::new(value);
    let mut challenges = Vec::new();
    loop {
        cursor.skip_separators();
        let scheme = cursor.token();
        if scheme.is_empty() {
            // Stray character where a scheme should start: skip it and go on.
            if cursor.bump().is_none() {
                break;
            }
            continue;
        }
        let mut challenge = Challenge { scheme: scheme.to_owned(), params: Vec::new() };
        loop {
            let after_comma = cursor.skip_separators();
            let start = cursor.pos;
            let name = cursor.token();
            cursor.skip_whitespace();
            let first = challenge.params.is_empty() && !after_comma;
            if !name.is_empty() && first && cursor.at_token68_end() {
                // `Negotiate abc==`: a token68 right after the scheme.
                let token68 = cursor.rest_of_item(start);
                challenge.params.push((String::new(), token68));
            } else if !name.is_empty() && cursor.eat('=') {
                cursor.skip_whitespace();
                let value = cursor.value();
                challenge.params.push((name.to_ascii_lowercase(), value));
            } else {
                // A new challenge starts here (or the value ended).
                cursor.pos = start;
                break;
            }
        }
        challenges.push(challenge);
    }
    challenges
}

/// A byte cursor over a header value.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.pos += expected.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.bump();
        }
    }

    /// Skips whitespace and commas; tells whether there was a comma.
    fn skip_separators(&mut self) -> bool {
        let mut comma = false;
        while let Some(c) = self.peek().filter(|c| matches!(c, ' ' | '\t' | ',')) {
            comma |= c == ',';
            self.bump();
        }
        comma
    }

    /// An RFC 7230 `token` (anything but whitespace, separators and quotes).
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace() && !"=,;\"".contains(c)) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    /// A parameter value: a quoted string (unescaped) or a token.
    fn value(&mut self) -> String {
        if !self.eat('"') {
            return self.token().to_owned();
        }
        let mut out = String::new();
        while let Some(c) = self.bump() {
            match c {
                '"' => break,
                '\\' => out.extend(self.bump()),
                c => out.push(c),
            }
        }
        out
    }

    /// Whether only `=` padding and then a separator or the end follow (a token68's tail).
    fn at_token68_end(&self) -> bool {
        self.text[self.pos..]
            .trim_start_matches('=')
            .trim_start_matches([' ', '\t'])
            .chars()
            .next()
            .is_none_or(|c| c == ',')
    }

    /// Consumes up to the next `,` and returns the text from `start`, trimmed.
    fn rest_of_item(&mut self, start: usize) -> String {
        while self.peek().is_some_and(|c| c != ',') {
            self.bump();
        }
        self.text[start..self.pos].trim().to_owned()
    }
}

/// A bearer token ready to send, with its expiry.
#[derive(Clone)]
pub(crate) struct Token {
    /// `Bearer <token>`, marked sensitive so it is redacted from `Debug` output.
    pub(crate) header: HeaderValue,
    expires: Instant,
}

/// The JSON a token endpoint answers (docker token spec and OAuth2 names).
#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Bearer tokens per (API host, scope), shared by all clones of a client.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<(String, String), Token>>,
}

impl TokenCache {
    /// A still-valid token for `host` and `scope`, as an `Authorization` value.
    pub(crate) fn get(&self, host: &str, scope: &str) -> Option<HeaderValue> {
        // A panic elsewhere cannot leave the map inconsistent (single inserts), so a poisoned
        // lock is still usable.
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens
            .get(&(host.to_owned(), scope.to_owned()))
            .filter(|token| token.expires > Instant::now())
            .map(|token| token.header.clone())
    }

    /// Stores `token` for `host` and `scope`, replacing an older one.
    pub(crate) fn insert(&self, host: &str, scope: &str, token: Token) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert((host.to_owned(), scope.to_owned()), token);
    }

    /// Stores an `Authorization` value that does not expire during a run (basic credentials).
    pub(crate) fn insert_forever(&self, host: &str, scope: &str, header: HeaderValue) {
        self.insert(host, scope, Token { header, expires: Instant::now() + FOREVER });
    }
}

/// The token request URL: `realm?service=..&scope=..&scope=..`, one `scope` parameter per
/// scope, as the token spec asks for several.
fn token_url(challenge: &BearerChallenge, scopes: &[String]) -> Result<Url, TokenError> {
    let invalid = || TokenError::InvalidRealm { realm: truncate(&challenge.realm, 200) };
    let mut url = Url::parse(&challenge.realm).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid());
    }
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = &challenge.service {
            query.append_pair("service", service);
        }
        for scope in scopes {
            query.append_pair("scope", scope);
        }
    }
    Ok(url)
}

/// Reads a token endpoint's JSON answer into a [`Token`].
fn parse_token(realm: &str, body: &[u8], now: Instant) -> Result<Token, TokenError> {
    let response: TokenResponse =
        serde_json::from_slice(body).map_err(|source| TokenError::InvalidJson { realm: realm.to_owned(), source })?;
    let missing = || TokenError::Missing { realm: realm.to_owned() };
    let token = response
        .token
        .filter(|t| !t.is_empty())
        .or(response.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(missing)?;
    let mut header = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| missing())?;
    header.set_sensitive(true);
    let lifetime = response.expires_in.map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
    Ok(Token { header, expires: now + lifetime.saturating_sub(EXPIRY_MARGIN) })
}

/// The form body of an OAuth2 refresh-token exchange: one `scope` parameter, the scopes
/// space-separated, as the OAuth2 token spec asks.
fn refresh_form(challenge: &BearerChallenge, scopes: &[String], refresh_token: &str) -> String {
    let mut pairs = vec![("grant_type", "refresh_token")];
    if let Some(service) = &challenge.service {
        pairs.push(("service", service));
    }
    let scope = scopes.join(" ");
    pairs.extend([("scope", scope.as_str()), ("client_id", CLIENT_ID), ("refresh_token", refresh_token)]);
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => char::from(b).to_string(),
            b' ' => "+".to_owned(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

impl RegistryClient {
    /// Gets one token for all of `scopes` from the challenge's realm, presenting `credentials`.
    pub(crate) async fn fetch_token(
        &self,
        challenge: &BearerChallenge,
        scopes: &[String],
        credentials: &Credentials,
    ) -> Result<Token, TokenError> {
        let url = token_url(challenge, scopes)?;
        // Messages name the realm without the query we added.
        let realm = truncate(&challenge.realm, 200);
        if !credentials.is_anonymous() && !self.may_send_credentials(&url) {
            return Err(TokenError::InsecureRealm { realm });
        }
        let mut request = match credentials {
            Credentials::IdentityToken(refresh_token) => {
                let mut post =
                    Url::parse(&challenge.realm).map_err(|_| TokenError::InvalidRealm { realm: realm.clone() })?;
                post.set_fragment(None);
                let mut request = Request::new(Method::POST, post);
                let form = refresh_form(challenge, scopes, refresh_token.expose());
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
                *request.body_mut() = Some(form.into());
                request
            }
            Credentials::Anonymous | Credentials::Basic { .. } => {
                let mut request = Request::new(Method::GET, url);
                credentials.apply(&mut request);
                request
            }
        };
        request.headers_mut().insert(ACCEPT, HeaderValue::from_static("application/json"));
        let response = self.send(request, RequestKind::Token).await.map_err(|error| match error {
            SendError::Http(source) => TokenError::Connect { realm: realm.clone(), source: source.without_url() },
            SendError::Deadline(timeout) => TokenError::Deadline { timeout },
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| TokenError::Connect { realm: realm.clone(), source: source.without_url() })?;
        if !status.is_success() {
            let detail = redact(body_excerpt(&String::from_utf8_lossy(&body)), &credentials.secrets());
            return Err(TokenError::Status { realm, status, detail });
        }
        parse_token(&realm, &body, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|&scope| scope.to_owned()).collect()
    }

    fn params(challenge: &Challenge) -> Vec<(&str, &str)> {
        challenge.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn docker_hub_challenge() {
        let value = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#;
        let challenges = parse_challenges(value);
        assert_eq!(challenges.len(), 1);
        assert_eq!(challenges[0].scheme, "Bearer");
        assert_eq!(
            params(&challenges[0]),
            [
                ("realm", "https://auth.docker.io/token"),
                ("service", "registry.docker.io"),
                ("scope", "repository:library/nginx:pull"),
            ]
        );
        assert_eq!(
            challenges[0].bearer(),
            Some(BearerChallenge {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            })
        );
    }

    #[test]
    fn quoted_values_with_commas_and_escapes() {
        let value =
            r#"bearer Realm="https://a.example/token?x=1,2", scope="repository:a/b:pull,push", error="say \"hi\"""#;
        let challenges = parse_challenges(value);
        assert_eq!(challenges.len(), 1);
        assert_eq!(
            params(&challenges[0]),
            [
                ("realm", "https://a.example/token?x=1,2"),
                ("scope", "repository:a/b:pull,push"),
                ("error", r#"say "hi""#),
            ]
        );
        // Scheme names are case-insensitive.
        assert!(challenges[0].bearer().is_some());
    }

    #[test]
    fn several_challenges_and_unquoted_values() {
        let value =
            r#"Basic realm="Registry Realm", Bearer realm=https://t.example/token , service=reg,Negotiate abc=="#;
        let challenges = parse_challenges(value);
        let schemes: Vec<_> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer", "Negotiate"]);
        assert_eq!(params(&challenges[0]), [("realm", "Registry Realm")]);
        assert_eq!(params(&challenges[1]), [("realm", "https://t.example/token"), ("service", "reg")]);
        assert_eq!(params(&challenges[2]), [("", "abc==")]);
        let bare: Vec<_> =
            parse_challenges("Basic, Negotiate").into_iter().map(|c| (c.scheme, c.params.len())).collect();
        assert_eq!(bare, [("Basic".to_owned(), 0), ("Negotiate".to_owned(), 0)]);
        assert_eq!(challenges[0].bearer(), None);
        assert_eq!(challenges[1].bearer().map(|b| b.service), Some(Some("reg".to_owned())));
    }

    #[test]
    fn bearer_without_realm_is_not_usable() {
        let challenges = parse_challenges(r#"Bearer service="x""#);
        assert_eq!(challenges.len(), 1);
        assert_eq!(challenges[0].bearer(), None);
        assert!(parse_challenges("").is_empty());
        assert!(parse_challenges(" , ").is_empty());
    }

    #[test]
    fn token_urls() {
        let challenge = BearerChallenge {
            realm: "https://auth.docker.io/token".into(),
            service: Some("registry.docker.io".into()),
        };
        let url = token_url(&challenge, &scopes(&["repository:library/nginx:pull"])).expect("valid");
        assert_eq!(
            url.as_str(),
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fnginx%3Apull"
        );
        let with_query = BearerChallenge { realm: "http://127.0.0.1:1/token?a=b".into(), service: None };
        let url = token_url(&with_query, &scopes(&["repository:x:pull", "repository:y/z:pull"])).expect("valid");
        assert_eq!(url.query(), Some("a=b&scope=repository%3Ax%3Apull&scope=repository%3Ay%2Fz%3Apull"));
        for realm in ["file:///etc/passwd", "not a url", "/token"] {
            let challenge = BearerChallenge { realm: realm.into(), service: None };
            assert!(matches!(token_url(&challenge, &scopes(&["s"])), Err(TokenError::InvalidRealm { .. })), "{realm}");
        }
    }

    #[test]
    fn token_responses() {
        let now = Instant::now();
        let token = parse_token("r", br#"{"token":"abc","expires_in":300}"#, now).expect("token");
        assert_eq!(token.header, "Bearer abc");
        assert!(token.header.is_sensitive());
        assert_eq!(token.expires, now + Duration::from_secs(290));
        let token = parse_token("r", br#"{"access_token":"xyz"}"#, now).expect("token");
        assert_eq!(token.header, "Bearer xyz");
        assert_eq!(token.expires, now + Duration::from_secs(50));
        let token = parse_token("r", br#"{"token":"","access_token":"xyz"}"#, now).expect("token");
        assert_eq!(token.header, "Bearer xyz");
        assert!(matches!(parse_token("r", br#"{"expires_in":3}"#, now), Err(TokenError::Missing { .. })));
        assert!(matches!(parse_token("r", br#"{"token":"a\nb"}"#, now), Err(TokenError::Missing { .. })));
        assert!(matches!(parse_token("r", b"<html>", now), Err(TokenError::InvalidJson { .. })));
    }

    #[test]
    fn cache_expires_tokens() {
        let cache = TokenCache::default();
        let now = Instant::now();
        let fresh = parse_token("r", br#"{"token":"a","expires_in":300}"#, now).expect("token");
        cache.insert("h", "s", fresh);
        assert_eq!(cache.get("h", "s").expect("cached"), "Bearer a");
        assert!(cache.get("h", "other").is_none());
        // `expires_in` below the margin: already stale.
        let stale = parse_token("r", br#"{"token":"b","expires_in":5}"#, now).expect("token");
        cache.insert("h", "s", stale);
        assert!(cache.get("h", "s").is_none());
    }

    #[test]
    fn refresh_form_encodes_everything() {
        let challenge =
            BearerChallenge { realm: "https://r.example/oauth2/token".into(), service: Some("r.example".into()) };
        assert_eq!(
            refresh_form(&challenge, &scopes(&["repository:a/b:pull"]), "t+k=n&x"),
            "grant_type=refresh_token&service=r.example&scope=repository%3Aa%2Fb%3Apull&client_id=imgpolicy\
             &refresh_token=t%2Bk%3Dn%26x"
        );
        assert_eq!(
            refresh_form(&challenge, &scopes(&["repository:a:pull", "repository:b:pull"]), "t"),
            "grant_type=refresh_token&service=r.example&scope=repository%3Aa%3Apull+repository%3Ab%3Apull\
             &client_id=imgpolicy&refresh_token=t"
        );
    }

    #[test]
    fn token_error_messages() {
        let err = TokenError::Status {
            realm: "https://auth.example/token".into(),
            status: StatusCode::FORBIDDEN,
            detail: "DENIED: no".into(),
        };
        assert_eq!(err.to_string(), "token endpoint `https://auth.example/token` answered `403 Forbidden`: DENIED: no");
    }
}
