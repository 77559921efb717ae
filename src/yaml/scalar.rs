//! Writing a new value into an existing scalar: keep its quoting style where the value allows it.
//!
//! The trap this module exists for: a plain scalar whose new text YAML would read as something
//! other than a string. `1.10` is a float, `20240101` an integer, `on` a boolean in YAML 1.1
//! (which Kubernetes' own decoder still speaks), `2024-01-01` a timestamp. Such values are
//! double-quoted so that the manifest means what the registry said.

use std::sync::LazyLock;

use granit_parser::ScalarStyle;
use regex::Regex;

use super::Scalar;

/// Plain scalars that YAML 1.1 or the 1.2 core schema resolve to a non-string.
static NON_STRING: LazyLock<Regex> = LazyLock::new(|| {
    let patterns = [
        // null and booleans, YAML 1.1 and 1.2
        r"~|null|Null|NULL",
        r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        // integers: decimal, binary, octal (1.1 and 1.2), hex, sexagesimal (1.1)
        r"[-+]?(0|[1-9][0-9_]*)",
        r"[-+]?0b[01_]+",
        r"[-+]?0[0-7_]+",
        r"[-+]?0o[0-7]+",
        r"[-+]?0x[0-9a-fA-F_]+",
        r"[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+",
        // floats as parsers really resolve them (the 1.1 spec's regex would also take `1.2.3`,
        // which no Kubernetes decoder reads as a number): digits, one dot, exponent,
        // sexagesimal, inf, nan
        r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?",
        r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*",
        r"[-+]?\.(inf|Inf|INF)",
        r"\.(nan|NaN|NAN)",
        // timestamps (1.1)
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?",
        // merge and value keys (1.1)
        r"<<|=",
    ];
    let alternation = patterns.join("|");
    Regex::new(&format!("^(?:{alternation})$")).unwrap_or_else(|error| unreachable!("static pattern: {error}"))
});

/// Whether `value` must be quoted to be read back as this string when written as a plain scalar.
///
/// True for the empty string, for anything YAML 1.1 or 1.2 would resolve to null, a boolean,
/// a number or a timestamp, and for text that plain style cannot hold (leading indicators,
/// `: `, ` #`, flow punctuation, surrounding spaces, line breaks).
///
/// ```
/// use imgpolicy::yaml::needs_quotes;
/// assert!(needs_quotes("1.10"));
/// assert!(needs_quotes("on"));
/// assert!(needs_quotes("20240101"));
/// assert!(!needs_quotes("v1.2.3"));
/// assert!(!needs_quotes("ghcr.io/org/app:1.2.3@sha256:abc"));
/// ```
pub fn needs_quotes(value: &str) -> bool {
    NON_STRING.is_match(value) || !fits_plain(value)
}

/// Whether plain style can hold `value` at all, whatever type YAML would then give it.
fn fits_plain(value: &str) -> bool {
    let Some(first) = value.chars().next() else { return false };
    !("-?:,[]{}#&*!|>'\"%@`".contains(first)
        || value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.contains(['\n', '\r', '\t', ',', '[', ']', '{', '}'])
        || value.starts_with(' ')
        || value.ends_with(' '))
}

/// The text that replaces `old`'s bytes so that it reads back as `value`.
///
/// Plain stays plain unless [`needs_quotes`]; then it becomes double-quoted. A plain scalar
/// with an explicit tag (`!!str 1.10`) needs no quotes to stay a string, only to stay one
/// scalar. Single- and
/// double-quoted stay so, escaped as their style requires. A block scalar (`|`, `>`) keeps its
/// header and indentation and gets `value` as its one content line.
pub fn render_scalar(old: &Scalar, value: &str) -> String {
    match old.style {
        ScalarStyle::Plain if !needs_quotes(value) || (old.is_tagged() && fits_plain(value)) => value.to_owned(),
        ScalarStyle::SingleQuoted if !value.contains(['\n', '\r']) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        ScalarStyle::Literal | ScalarStyle::Folded if !value.contains(['\n', '\r']) && !value.starts_with(' ') => {
            format!("{value}\n")
        }
        _ => double_quoted(value),
    }
}

/// `value` as a YAML double-quoted scalar (JSON string escapes are valid YAML escapes).
fn double_quoted(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(style: ScalarStyle) -> Scalar<'static> {
        Scalar { value: "".into(), style, tag: None }
    }

    macro_rules! render_tests {
        ($($name:ident: $style:ident, $value:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(render_scalar(&scalar(ScalarStyle::$style), $value), $expected);
            }
        )*};
    }

    render_tests! {
        plain_tag: Plain, "1.2.3" => "1.2.3";
        plain_image: Plain, "ghcr.io/a/b:1.2.3@sha256:00" => "ghcr.io/a/b:1.2.3@sha256:00";
        plain_float_like: Plain, "1.10" => "\"1.10\"";
        plain_integer_like: Plain, "20240101" => "\"20240101\"";
        plain_exponent: Plain, "1e3" => "\"1e3\"";
        plain_yaml11_bool: Plain, "on" => "\"on\"";
        plain_yaml11_yes: Plain, "yes" => "\"yes\"";
        plain_octal: Plain, "0755" => "\"0755\"";
        plain_hex: Plain, "0x1f" => "\"0x1f\"";
        plain_sexagesimal: Plain, "1:20" => "\"1:20\"";
        plain_timestamp: Plain, "2024-01-02" => "\"2024-01-02\"";
        plain_null: Plain, "null" => "\"null\"";
        plain_empty: Plain, "" => "\"\"";
        plain_inf: Plain, ".inf" => "\".inf\"";
        plain_leading_dash: Plain, "-rc" => "\"-rc\"";
        plain_sha_tag: Plain, "0a1b2c3" => "0a1b2c3";
        plain_v_version: Plain, "v1.0" => "v1.0";
        plain_main_tag: Plain, "main-0a1b2c3-1700000000" => "main-0a1b2c3-1700000000";
        single_keeps_style: SingleQuoted, "1.10" => "'1.10'";
        single_doubles_quote: SingleQuoted, "it's" => "'it''s'";
        double_keeps_style: DoubleQuoted, "1.2.3" => "\"1.2.3\"";
        double_escapes: DoubleQuoted, "a\"b" => "\"a\\\"b\"";
        literal_block: Literal, "1.2.3" => "1.2.3\n";
        folded_block: Folded, "1.10" => "1.10\n";
    }

    #[test]
    fn tagged_plain_stays_plain() {
        let old = Scalar { value: "".into(), style: ScalarStyle::Plain, tag: Some("tag:yaml.org,2002:str".into()) };
        assert_eq!(render_scalar(&old, "1.10"), "1.10");
        // ... unless plain style cannot hold the value: the tag stays, the value is quoted.
        assert_eq!(render_scalar(&old, "a: b"), "\"a: b\"");
        assert_eq!(render_scalar(&old, ""), "\"\"");
    }
}
