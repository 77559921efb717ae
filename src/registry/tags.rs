//! Tag listing (`GET /v2/<repository>/tags/list`) and its `Link` pagination.
//!
//! Registries that paginate answer with `Link: <url>; rel="next"`, relative (Docker Hub, GHCR:
//! `</v2/...?last=x&n=100>`) or absolute. Like go-containerregistry, a next page is only followed
//! on the same scheme, host and port: a registry must not be able to send the client (and its
//! token) elsewhere. Listing stops at the last page, at a page that adds no new tag, or fails
//! after [`MAX_PAGES`] pages, so a misbehaving registry cannot make it loop forever.
//!
//! Tags are returned as the registry sent them, deduplicated in first-seen order; checking that
//! each is a valid tag before writing it anywhere is the caller's job.

use std::collections::HashSet;

use reqwest::header::{HeaderMap, LINK};
use reqwest::{Method, Url};

use crate::registry::client::{RegistryClient, describe};
use crate::registry::error::{RegistryError, truncate};
use crate::registry::stats::RequestKind;

/// The most pages one listing reads.
pub(crate) const MAX_PAGES: usize = 1000;

/// Why a `Link` header's next page cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The header is not a list of `<uri>; param=value` entries.
    #[error("malformed `Link` header `{value}`")]
    Malformed {
        /// The header value (truncated).
        value: String,
    },
    /// The next-page target is not a URL, even relative to the request.
    #[error("next-page link `{link}` is not a valid URL")]
    InvalidUrl {
        /// The link target (truncated).
        link: String,
    },
    /// The next page is on another scheme, host or port.
    #[error("next-page link `{link}` leaves `{origin}`; only links to the same scheme and host are followed")]
    ForeignHost {
        /// The resolved link (truncated).
        link: String,
        /// Scheme, host and port of the listing.
        origin: String,
    },
}

/// The JSON of a tag listing page. `tags` is `null` for a repository without tags on some
/// registries.
#[derive(serde::Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// One entry of a `Link` header.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    /// The URI between `<` and `>`, unresolved.
    target: String,
    /// The `rel` values, lowercased (a `rel` may list several, space-separated).
    rels: Vec<String>,
}

impl RegistryClient {
    /// All tags of `repository` (e.g. `backend/server`) on `host` (e.g. `127.0.0.1:5000`,
    /// `docker.io`, `ghcr.io`), following pagination to the end.
    ///
    /// Tags come deduplicated, in the order the registry listed them. A repository without tags
    /// gives an empty list.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`]: an invalid host or repository, an unreachable registry, an error
    /// status (`404` for an unknown repository), an invalid page, a next-page link that is
    /// malformed or leaves the registry, or more than 1000 pages.
    pub async fn list_tags(&self, host: &str, repository: &str) -> Result<Vec<String>, RegistryError> {
        let endpoint = self.endpoint(host, repository)?;
        // Without a page-size setting the registry picks (Docker Hub 100, GHCR 1000, ...).
        let page_size = self.settings(host).page_size;
        let mut url = first_page_url(endpoint.url("tags/list")?, page_size);
        let mut seen = HashSet::new();
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let response =
                self.fetch(&endpoint, Method::GET, url.clone(), "application/json", RequestKind::TagsPage).await?;
            let next = next_link(response.headers(), &url).map_err(|source| RegistryError::NextPage {
                registry: endpoint.registry.clone(),
                repository: endpoint.repository.clone(),
                source,
            })?;
            let body = response.bytes().await.map_err(|e| endpoint.connect_error(e))?;
            let page: TagList = serde_json::from_slice(&body).map_err(|source| RegistryError::InvalidJson {
                registry: endpoint.registry.clone(),
                repository: endpoint.repository.clone(),
                request: describe(&Method::GET, &url),
                source,
            })?;
            let before = tags.len();
            for tag in page.tags.unwrap_or_default() {
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                }
            }
            match next {
                // A page with nothing new means the registry is repeating itself: done.
                Some(next) if tags.len() > before => url = next,
                _ => return Ok(tags),
            }
        }
        Err(RegistryError::TooManyPages {
            registry: endpoint.registry,
            repository: endpoint.repository,
            pages: MAX_PAGES,
        })
    }
}

/// The first page's URL: `?n=<page size>` when a page size is set, nothing otherwise.
fn first_page_url(mut url: Url, page_size: Option<u32>) -> Url {
    if let Some(n) = page_size {
        url.query_pairs_mut().append_pair("n", &n.to_string());
    }
    url
}

/// The next page from the `Link` headers of a response to `request_url`, resolved against it.
///
/// `None` when no link has `rel="next"`.
fn next_link(headers: &HeaderMap, request_url: &Url) -> Result<Option<Url>, LinkError> {
    for value in headers.get_all(LINK) {
        let value = value
            .to_str()
            .map_err(|_| LinkError::Malformed { value: truncate(&String::from_utf8_lossy(value.as_bytes()), 200) })?;
        let links = parse_link_header(value)?;
        if let Some(link) = links.iter().find(|l| l.rels.iter().any(|r| r == "next")) {
            return resolve_same_origin(&link.target, request_url).map(Some);
        }
    }
    Ok(None)
}

/// The next page that the `Link` header value `link_header` names for a listing at
/// `request_url`, exactly as a listing would follow it: `None` when no link has `rel="next"`.
///
/// The entry point of the `link` fuzz target; not part of the API.
///
/// # Errors
/// As listing would fail: a malformed header, an invalid URL, or a link to another origin.
#[doc(hidden)]
pub fn next_page_link(link_header: &str, request_url: &str) -> Result<Option<String>, LinkError> {
    let invalid = || LinkError::InvalidUrl { link: truncate(request_url, 200) };
    let base = Url::parse(request_url).map_err(|_| invalid())?;
    let mut headers = HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(link_header)
        .map_err(|_| LinkError::Malformed { value: truncate(link_header, 200) })?;
    headers.insert(LINK, value);
    Ok(next_link(&headers, &base)?.map(String::from))
}

/// Resolves `target` against `base` and refuses it unless scheme, host and port stay the same.
fn resolve_same_origin(target: &str, base: &Url) -> Result<Url, LinkError> {
    let url = base.join(target).map_err(|_| LinkError::InvalidUrl { link: truncate(target, 200) })?;
    if url.origin() != base.origin() {
        return Err(LinkError::ForeignHost {
            link: truncate(url.as_str(), 200),
            origin: base.origin().ascii_serialization(),
        });
    }
    Ok(url)
}

/// Parses a `Link` header value (RFC 8288): `<uri>; rel="next", <uri2>; rel=prev; title="x"`.
fn parse_link_header(value: &str) -> Result<Vec<Link>, LinkError> {
    let malformed = || LinkError::Malformed { value: truncate(value, 200) };
    let mut links = Vec::new();
    let mut rest = value.trim_start_matches([' ', '\t', ',']);
    while !rest.is_empty() {
        let after_open = rest.strip_prefix('<').ok_or_else(malformed)?;
        let (target, after) = after_open.split_once('>').ok_or_else(malformed)?;
        let mut link = Link { target: target.trim().to_owned(), rels: Vec::new() };
        rest = after.trim_start();
        // Parameters: `; name=value` or `; name="quoted, value"` or a bare `; name`.
        while let Some(after_semicolon) = rest.strip_prefix(';') {
            let param = after_semicolon.trim_start();
            let name_end = param.find(['=', ';', ',']).unwrap_or(param.len());
            let name = param[..name_end].trim().to_ascii_lowercase();
            rest = &param[name_end..];
            let mut param_value = String::new();
            if let Some(after_eq) = rest.strip_prefix('=') {
                let after_eq = after_eq.trim_start();
                if let Some(quoted) = after_eq.strip_prefix('"') {
                    let (inner, tail) = split_quoted(quoted).ok_or_else(malformed)?;
                    param_value = inner;
                    rest = tail;
                } else {
                    let end = after_eq.find([';', ',', ' ', '\t']).unwrap_or(after_eq.len());
                    param_value = after_eq[..end].to_owned();
                    rest = &after_eq[end..];
                }
            }
            if name == "rel" {
                link.rels.extend(param_value.split_whitespace().map(str::to_ascii_lowercase));
            }
            rest = rest.trim_start();
        }
        links.push(link);
        if !rest.is_empty() {
            rest = rest.strip_prefix(',').ok_or_else(malformed)?;
            rest = rest.trim_start_matches([' ', '\t', ',']);
        }
    }
    Ok(links)
}

/// Splits the inside of a quoted string (after the opening quote) from what follows the
/// closing quote, unescaping `\x`. `None` if the quote is never closed.
fn split_quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    fn link(target: &str, rels: &[&str]) -> Link {
        Link { target: target.into(), rels: rels.iter().map(|r| (*r).to_owned()).collect() }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(LINK, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    #[test]
    fn parses_single_link() {
        assert_eq!(
            parse_link_header(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).expect("parses"),
            [link("/v2/a/tags/list?last=b&n=2", &["next"])]
        );
    }

    #[test]
    fn parses_several_links_and_rel_variants() {
        let value = r#"<https://r.example/v2/a/tags/list?last=x>; rel=prev; title="a; b, c", </v2/a/tags/list?last=y>;rel="Next", <x>; REL="first next"; foo"#;
        assert_eq!(
            parse_link_header(value).expect("parses"),
            [
                link("https://r.example/v2/a/tags/list?last=x", &["prev"]),
                link("/v2/a/tags/list?last=y", &["next"]),
                link("x", &["first", "next"]),
            ]
        );
        assert_eq!(parse_link_header("").expect("empty is fine"), []);
    }

    #[test]
    fn rejects_malformed_links() {
        for value in ["/v2/a/tags/list; rel=next", "</v2/a; rel=next", r#"</v2/a>; rel="next"#, "</a>; rel=next </b>"] {
            assert!(matches!(parse_link_header(value), Err(LinkError::Malformed { .. })), "{value}");
        }
    }

    #[test]
    fn resolves_relative_and_absolute_links() {
        let base = url("http://127.0.0.1:5000/v2/a/b/tags/list?n=2");
        let next = |value: &str| next_link(&headers(&[value]), &base);
        assert_eq!(
            next(r#"</v2/a/b/tags/list?last=x&n=2>; rel="next""#).expect("ok"),
            Some(url("http://127.0.0.1:5000/v2/a/b/tags/list?last=x&n=2"))
        );
        assert_eq!(
            next(r#"<http://127.0.0.1:5000/v2/a/b/tags/list?last=y>; rel="next""#).expect("ok"),
            Some(url("http://127.0.0.1:5000/v2/a/b/tags/list?last=y"))
        );
        // Path-relative, as some registries send it.
        assert_eq!(
            next(r#"<list?last=z>; rel=next"#).expect("ok"),
            Some(url("http://127.0.0.1:5000/v2/a/b/tags/list?last=z"))
        );
        assert_eq!(next(r#"</v2/a/b/tags/list?last=p>; rel="prev""#).expect("ok"), None);
        assert_eq!(next_link(&HeaderMap::new(), &base).expect("ok"), None);
        // The next link may be in a second header.
        let two = headers(&[r#"</p>; rel="prev""#, r#"</v2/n>; rel="next""#]);
        assert_eq!(next_link(&two, &base).expect("ok"), Some(url("http://127.0.0.1:5000/v2/n")));
    }

    #[test]
    fn refuses_links_to_other_origins() {
        let base = url("https://ghcr.io/v2/a/tags/list");
        for target in [
            "https://evil.example/v2/a/tags/list?last=x",
            "http://ghcr.io/v2/a/tags/list?last=x",
            "https://ghcr.io:8443/v2/a/tags/list?last=x",
            "//evil.example/v2/a/tags/list",
        ] {
            let value = format!("<{target}>; rel=\"next\"");
            match next_link(&headers(&[&value]), &base) {
                Err(LinkError::ForeignHost { origin, .. }) => {
                    assert_eq!(origin, "https://ghcr.io", "{target}");
                }
                other => panic!("{target}: expected a refusal, got {other:?}"),
            }
        }
        // The default port written out is the same origin.
        let value = r#"<https://ghcr.io:443/v2/a/tags/list?last=x>; rel="next""#;
        assert!(next_link(&headers(&[value]), &base).is_ok());
        let err = resolve_same_origin("https://evil.example/x", &base).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "next-page link `https://evil.example/x` leaves `https://ghcr.io`; \
             only links to the same scheme and host are followed"
        );
    }

    #[test]
    fn tag_list_pages() {
        let page: TagList = serde_json::from_str(r#"{"name":"a","tags":["1","2"]}"#).expect("json");
        assert_eq!(page.tags, Some(vec!["1".to_owned(), "2".to_owned()]));
        for empty in [r#"{"name":"a","tags":null}"#, r#"{"name":"a"}"#] {
            let page: TagList = serde_json::from_str(empty).expect("json");
            assert_eq!(page.tags.unwrap_or_default(), Vec::<String>::new());
        }
    }

    #[test]
    fn page_size_in_first_url() {
        let base = url("https://ghcr.io/v2/a/tags/list");
        assert_eq!(first_page_url(base.clone(), None).as_str(), "https://ghcr.io/v2/a/tags/list");
        assert_eq!(first_page_url(base, Some(100)).as_str(), "https://ghcr.io/v2/a/tags/list?n=100");
    }
}
