//! The fast YAML scanner against granit-parser. Input: a YAML stream. Property: whenever the
//! fast scanner accepts it, its events are granit-parser's, spans included (and it never
//! panics, whatever it is given).
#![no_main]

use imgpolicy::yaml::scanner_difference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if let Some(difference) = scanner_difference(source) {
        panic!("{difference}\nin {source:?}");
    }
});
