//! The marker grammars: `<namespace>:<name>[:part]` values and `imgpolicy.dev/setters` field
//! paths. Properties: no panic; whatever parses prints back to text that parses to the same.
#![no_main]

use imgpolicy::marker::MarkerValue;
use imgpolicy::yaml::FieldPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(marker) = MarkerValue::parse(text) {
        let printed = marker.to_string();
        assert_eq!(MarkerValue::parse(&printed).as_ref(), Ok(&marker), "marker `{text}` printed as `{printed}`");
    }
    if let Ok(path) = FieldPath::parse(text) {
        let printed = path.to_string();
        assert_eq!(FieldPath::parse(&printed).as_ref(), Ok(&path), "path `{text}` printed as `{printed}`");
    }
});
