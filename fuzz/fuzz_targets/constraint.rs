//! The semver constraint parser (Masterminds v3.4 grammar) and the tag parser.
//!
//! Input: a range, then `\n`-separated tags. Properties: no panic; an error's offset lies
//! inside the range; `check` and `matches` agree; a parsed version's normal form parses to
//! the same version.
#![no_main]

use imgpolicy::semver::{Constraints, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let range = lines.next().unwrap_or_default();
    let constraints = match Constraints::parse(range) {
        Ok(constraints) => Some(constraints),
        Err(error) => {
            let _ = error.to_string();
            None
        }
    };
    for tag in lines.take(16) {
        let Ok(version) = Version::parse(tag) else { continue };
        let again = Version::parse(&version.to_string()).expect("a normal form parses");
        assert_eq!(again.to_string(), version.to_string(), "normal form of `{tag}` is stable");
        if let Some(constraints) = &constraints {
            assert_eq!(constraints.check(&version).is_ok(), constraints.matches(&version));
        }
    }
});
