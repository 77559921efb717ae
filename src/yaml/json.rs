//! A JSON view of a YAML node, for typed (serde) reading of configuration objects.

use granit_parser::ScalarStyle;
use serde_json::{Map, Number, Value};

use super::{Node, NodeKind};

/// Converts `node` to JSON, resolving plain scalars by the YAML 1.2 core schema.
///
/// Quoted and block scalars are strings; plain ones become null, booleans, integers or floats
/// when the core schema says so. Mapping keys are their scalar text. Aliases are expanded.
pub fn to_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Scalar(scalar) if scalar.style != ScalarStyle::Plain || scalar.tagged => {
            Value::String(scalar.value.clone())
        }
        NodeKind::Scalar(scalar) => resolve_plain(&scalar.value),
        NodeKind::Alias(target) => to_json(target),
        NodeKind::Sequence { items, .. } => Value::Array(items.iter().map(to_json).collect()),
        NodeKind::Mapping { entries, .. } => {
            let mut map = Map::new();
            for entry in entries {
                let key = match to_json(&entry.key) {
                    Value::String(key) => key,
                    other => other.to_string(),
                };
                map.insert(key, to_json(&entry.value));
            }
            Value::Object(map)
        }
    }
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let is_decimal_integer = {
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if is_decimal_integer && let Ok(integer) = text.parse::<i64>() {
        return Value::Number(integer.into());
    }
    let looks_numeric =
        text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric && let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_stream;

    #[test]
    fn plain_scalars_resolve_by_core_schema() {
        let stream = parse_stream("a: 1\nb: true\nc: ~\nd: '1'\ne: 1.5\nf: on\ng: [x, 2]\nh: 1.2.3\n").unwrap();
        let json = to_json(&stream.documents[0].root);
        assert_eq!(
            json,
            serde_json::json!({"a": 1, "b": true, "c": null, "d": "1", "e": 1.5, "f": "on", "g": ["x", 2], "h": "1.2.3"})
        );
    }
}
