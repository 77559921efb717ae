//! The `Link` header parser behind tag-list pagination. Properties: no panic, and a next page
//! is only ever on the origin (scheme, host, port) of the listing.
#![no_main]

use imgpolicy::registry::next_page_link;
use libfuzzer_sys::fuzz_target;

const LISTINGS: [(&str, &str); 2] = [
    ("https://r.example:5000/v2/team/app/tags/list?n=2", "https://r.example:5000/"),
    ("http://127.0.0.1/v2/a/tags/list", "http://127.0.0.1/"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    for (listing, origin) in LISTINGS {
        if let Ok(Some(next)) = next_page_link(header, listing) {
            assert!(next.starts_with(origin), "`{header}` led from `{listing}` to `{next}`");
        }
    }
});
