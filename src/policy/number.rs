//! Exact decimal numbers for the numerical rule.
//!
//! Flux parses candidates with Go's `strconv.ParseFloat` and compares
//! float64s, so `9007199254740993` equals `9007199254740992` there. Here the
//! digits are compared exactly, at any length.
//!
//! Accepted (the decimal subset of `ParseFloat`): an optional sign, digits
//! with an optional fraction (`1`, `1.`, `.5`, `+2.50`), and an optional
//! exponent (`1e3`, `2E-2`). Rejected although Go accepts them: `inf`,
//! `infinity`, `nan` (any case), hexadecimal floats (`0x1p3`) and `_` digit
//! separators; these cannot be ranked exactly, and a tag spelled so is far
//! likelier a word than a number. Values beyond float64's range (`1e400`),
//! which Go rejects, are accepted and compared exactly.

use std::cmp::Ordering;

/// A decimal number, normalised so that equal values are equal structs:
/// `sign × 0.DIGITS × 10^exponent`, `DIGITS` without leading or trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    sign: Sign,
    digits: String,
    exponent: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sign {
    Negative,
    Zero,
    Positive,
}

impl Decimal {
    /// Parses `s`, or `None` when it is not a decimal number.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (negative, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let exp: i64 = match exp {
            None => 0,
            Some(e) => {
                let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
                if unsigned.is_empty() || !all_digits(unsigned) {
                    return None;
                }
                e.parse().ok()?
            }
        };
        let digits = format!("{int}{frac}");
        let leading = digits.bytes().take_while(|&b| b == b'0').count();
        let significant = digits[leading..].trim_end_matches('0');
        if significant.is_empty() {
            return Some(Self { sign: Sign::Zero, digits: String::new(), exponent: 0 });
        }
        let point = i64::try_from(int.len()).ok()? - i64::try_from(leading).ok()?;
        Some(Self {
            sign: if negative { Sign::Negative } else { Sign::Positive },
            digits: significant.to_owned(),
            exponent: point.checked_add(exp)?,
        })
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        self.exponent.cmp(&other.exponent).then_with(|| self.digits.cmp(&other.digits))
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sign.cmp(&other.sign).then_with(|| match self.sign {
            Sign::Zero => Ordering::Equal,
            Sign::Positive => self.cmp_magnitude(other),
            Sign::Negative => other.cmp_magnitude(self),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Decimal {
        Decimal::parse(s).unwrap_or_else(|| panic!("{s:?} should parse"))
    }

    macro_rules! parses {
        ($($name:ident: $input:expr => $ok:expr,)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(Decimal::parse($input).is_some(), $ok, "{:?}", $input);
            }
        )*};
    }

    parses! {
        integer: "42" => true,
        negative: "-1" => true,
        plus_fraction: "+2.50" => true,
        exponent: "1e3" => true,
        exponent_signed: "2E-2" => true,
        leading_point: ".5" => true,
        trailing_point: "5." => true,
        huge_exponent_ok: "1e400" => true,
        exponent_overflow: "1e99999999999999999999" => false,
        lone_point: "." => false,
        lone_sign: "-" => false,
        empty: "" => false,
        letters: "1a" => false,
        word: "b" => false,
        inf: "inf" => false,
        nan: "NaN" => false,
        hex_float: "0x1p3" => false,
        underscore: "1_000" => false,
        double_sign: "--1" => false,
        empty_exponent: "1e" => false,
        sign_only_exponent: "1e+" => false,
        two_points: "1.2.3" => false,
        space: " 1" => false,
    }

    macro_rules! order {
        ($($name:ident: $a:expr, $b:expr => $ord:expr,)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(num($a).cmp(&num($b)), $ord, "{} vs {}", $a, $b);
                assert_eq!(num($b).cmp(&num($a)), $ord.reverse(), "{} vs {}", $b, $a);
            }
        )*};
    }

    use Ordering::{Equal, Greater, Less};

    order! {
        ints: "73", "72" => Greater,
        negatives: "-88", "-62" => Less,
        neg_pos: "-1", "1" => Less,
        zero_signs: "-0", "+0.000" => Equal,
        zero_vs_neg: "0", "-0.001" => Greater,
        trailing_zeros: "2.50", "2.5" => Equal,
        leading_zeros: "007", "7" => Equal,
        exponent_equal: "1e3", "1000" => Equal,
        exponent_small: "25e-1", "2.5" => Equal,
        fraction_len: "0.12", "0.123" => Less,
        beyond_f64: "9007199254740993", "9007199254740992" => Greater,
        long_digits: "123456789012345678901234567890", "123456789012345678901234567889" => Greater,
        floats_from_flux: "53.47333823144817", "47.40896403322944" => Greater,
        neg_floats_from_flux: "-90.29082099756083", "-86.36934305697784" => Less,
        magnitude_vs_digits: "10", "9.99" => Greater,
        huge: "1e400", "1e399" => Greater,
    }
}
