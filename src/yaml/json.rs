//! A JSON view of a YAML node, for typed (serde) reading of configuration objects.
//!
//! This is the one place aliases are expanded, so it is where an alias bomb ("billion laughs":
//! ten aliases of ten aliases of ...) would cost memory and time exponential in its size. The
//! nodes an expansion produces are counted, and past [`MAX_ALIAS_NODES`] the conversion stops
//! with an error naming the alias. Depth needs no check here: the parser already refuses trees
//! that aliases nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH).

use granit_parser::ScalarStyle;
use serde_json::{Map, Number, Value};

use super::{Node, NodeKind};

/// How many nodes the aliases of one [`to_json`] call may add. Configuration that shares a
/// policy or a registry list through anchors stays far below it; a bomb reaches it in a few
/// milliseconds.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// An alias would expand the document past [`MAX_ALIAS_NODES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: the alias `*{name}` expands to more than {limit} nodes in all; \
     aliases may repeat a value, not multiply a document"
)]
pub struct AliasExpansionError {
    /// 1-based line of the alias whose expansion went past the limit.
    pub line: usize,
    /// The alias's name, without `*`.
    pub name: String,
    /// The limit, [`MAX_ALIAS_NODES`].
    pub limit: usize,
}

/// Converts `node` to JSON, resolving plain scalars by the YAML 1.2 core schema.
///
/// Quoted and block scalars are strings; plain ones become null, booleans, integers or floats
/// when the core schema says so. Mapping keys are their scalar text. Aliases are expanded.
///
/// # Errors
/// [`AliasExpansionError`] when aliases would add more than [`MAX_ALIAS_NODES`] nodes.
pub fn to_json(node: &Node) -> Result<Value, AliasExpansionError> {
    let mut budget = MAX_ALIAS_NODES;
    convert(node, None, &mut budget)
}

/// `node` as JSON; `alias` is the outermost alias being expanded (its line and name), and every
/// node produced under one is paid from `budget`.
fn convert(node: &Node, alias: Option<(usize, &str)>, budget: &mut usize) -> Result<Value, AliasExpansionError> {
    if let Some((line, name)) = alias {
        *budget = budget.checked_sub(1).ok_or_else(|| AliasExpansionError {
            line,
            name: name.to_owned(),
            limit: MAX_ALIAS_NODES,
        })?;
    }
    Ok(match &node.kind {
        NodeKind::Scalar(scalar) if scalar.style != ScalarStyle::Plain || scalar.is_tagged() => {
            Value::String(scalar.value.to_string())
        }
        NodeKind::Scalar(scalar) => resolve_plain(&scalar.value),
        NodeKind::Alias(target) => {
            let alias = alias.or(Some((node.line, target.name())));
            convert(target.node(), alias, budget)?
        }
        NodeKind::Sequence { items, .. } => {
            Value::Array(items.iter().map(|item| convert(item, alias, budget)).collect::<Result<_, _>>()?)
        }
        NodeKind::Mapping { entries, .. } => {
            let mut map = Map::new();
            for entry in entries.iter() {
                let key = match convert(&entry.key, alias, budget)? {
                    Value::String(key) => key,
                    other => other.to_string(),
                };
                map.insert(key, convert(&entry.value, alias, budget)?);
            }
            Value::Object(map)
        }
    })
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
    use crate::yaml::{alias_bomb, parse_stream};

    fn json(source: &str) -> Result<Value, AliasExpansionError> {
        to_json(&parse_stream(source).expect("parses").documents[0].root)
    }

    #[test]
    fn plain_scalars_resolve_by_core_schema() {
        let json = json("a: 1\nb: true\nc: ~\nd: '1'\ne: 1.5\nf: on\ng: [x, 2]\nh: 1.2.3\n").unwrap();
        assert_eq!(
            json,
            serde_json::json!({"a": 1, "b": true, "c": null, "d": "1", "e": 1.5, "f": "on", "g": ["x", 2], "h": "1.2.3"})
        );
    }

    #[test]
    fn aliases_expand() {
        let json = json("a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n").unwrap();
        assert_eq!(
            json,
            serde_json::json!({"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": [{"k": [1, 2]}, {"k": [1, 2]}]})
        );
    }

    #[test]
    fn alias_bombs_stop_at_the_limit_naming_the_alias() {
        // 10^3 nodes: fine. 10^9: refused at the line of the alias that overflowed, after
        // 100,000 nodes rather than a billion.
        assert!(json(&alias_bomb(3)).is_ok());
        let error = json(&alias_bomb(9)).unwrap_err();
        assert_eq!(error, AliasExpansionError { line: 5, name: "a3".into(), limit: MAX_ALIAS_NODES });
        assert_eq!(
            error.to_string(),
            "line 5: the alias `*a3` expands to more than 100000 nodes in all; \
             aliases may repeat a value, not multiply a document"
        );
    }
}
