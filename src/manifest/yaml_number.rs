//! Unquoted YAML numbers on the API path (pure core).
//!
//! `kubectl apply` and the API server read YAML through `sigs.k8s.io/yaml` `YAMLToJSON`: go-yaml
//! v2 resolves every plain scalar to a Go value, `convertToJSONableObject` keeps it (a
//! `Quantity` has its own `UnmarshalJSON`, so no string target), and `encoding/json` marshals
//! it; only then does `Quantity.UnmarshalJSON` parse the JSON text. A quoted `"1.00000000000000001"`
//! therefore stays exact (1001m, rounded up), while the same digits unquoted become float64
//! 1.0 and then `1` (1000m). [`api_text`] reproduces that conversion so kcpu reads the value
//! the cluster will use, and the loader warns when it differs from the digits as written.
//!
//! Upstream (cited, not copied):
//! - kubernetes-sigs/yaml `yaml.go` `yamlToJSONTarget`, `convertToJSONableObject`;
//! - go-yaml v2 `resolve.go` `resolve` (kubernetes-sigs/yaml `goyaml.v2/resolve.go`): the first
//!   byte selects the candidates (`+ - 0-9` → int, uint, then float when the text matches
//!   `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`; `.` → float), `_` is removed
//!   first, `strconv.ParseInt(plain, 0, 64)` takes `0x`, `0o`, `0b` and a leading `0` as
//!   octal, `.inf`/`.nan` come from the resolve map, and `YYYY-` prefixes are timestamps;
//! - Go `encoding/json` `encode.go` `floatEncoder`: `strconv.AppendFloat(f, 'f', -1, 64)`, or
//!   `'e'` when `|f| < 1e-6` or `|f| >= 1e21`, with `e-07` shortened to `e-7`; NaN and ±Inf
//!   cannot be marshalled.
//!
//! JSON documents are decoded by `encoding/json` directly (kubectl's `YAMLOrJSONDecoder`
//! picks JSON when the input starts with `{`), so their number text is kept as written.

/// What the API path makes of a plain YAML scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiScalar {
    /// Not a number for go-yaml (a string, a timestamp, a boolean…): the text is kept.
    Text,
    /// An integer (int64 or uint64): its decimal JSON text.
    Integer(String),
    /// A float64: its JSON text, or `None` for NaN/±Inf, which `encoding/json` refuses.
    Float(Option<String>),
}

/// Resolves a plain (unquoted, untagged) scalar as go-yaml v2 does, and prints the value as
/// `encoding/json` would.
pub fn api_text(plain: &str) -> ApiScalar {
    let Some(&first) = plain.as_bytes().first() else {
        return ApiScalar::Text;
    };
    match plain {
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return ApiScalar::Float(None),
        _ => {}
    }
    match first {
        b'.' => match plain.parse::<f64>() {
            Ok(f) if f.is_finite() && !plain.contains(['_', 'i', 'I', 'n', 'N', 'x', 'X']) => {
                ApiScalar::Float(Some(json_float(f)))
            }
            _ => ApiScalar::Text,
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp_prefix(plain) {
                return ApiScalar::Text;
            }
            let plain: String = plain.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return ApiScalar::Integer(i.to_string());
            }
            if let Some(u) = go_parse_uint(&plain) {
                return ApiScalar::Integer(u.to_string());
            }
            if is_yaml_style_float(&plain) {
                if let Ok(f) = plain.parse::<f64>() {
                    if f.is_finite() {
                        return ApiScalar::Float(Some(json_float(f)));
                    }
                }
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Ok(u) = u64::from_str_radix(rest, 2) {
                    return ApiScalar::Integer(u.to_string());
                }
            }
            if let Some(rest) = plain.strip_prefix("-0b") {
                if let Ok(i) = i64::from_str_radix(&format!("-{rest}"), 2) {
                    return ApiScalar::Integer(i.to_string());
                }
            }
            ApiScalar::Text
        }
        _ => ApiScalar::Text,
    }
}

/// `parseTimestamp`'s quick check: four digits then `-`.
fn is_timestamp_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.strip_prefix('.') {
        Some(frac) => digits(frac),
        None => match mantissa.split_once('.') {
            Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
            None => digits(mantissa),
        },
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

/// Base and digits of Go's base-0 integer syntax (`0x`, `0o`, `0b`, leading `0` = octal).
fn go_base(s: &str) -> Option<(u32, &str)> {
    let (base, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (2, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    // from_str_radix accepts a sign; Go does not accept one after the prefix.
    (!digits.is_empty() && !digits.starts_with(['+', '-'])).then_some((base, digits))
}

/// `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (base, digits) = go_base(body)?;
    let magnitude = u64::from_str_radix(digits, base).ok()?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `strconv.ParseUint(s, 0, 64)` (no sign).
fn go_parse_uint(s: &str) -> Option<u64> {
    let (base, digits) = go_base(s)?;
    u64::from_str_radix(digits, base).ok()
}

/// `encoding/json`'s float64 text.
pub fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` is the shortest round-trip mantissa like Go's 'e' with precision -1;
        // Go writes the exponent with a sign and at least one digit (`1e+21`, `1e-7`).
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        // Shortest round-trip digits without an exponent, as 'f' with precision -1.
        let s = format!("{f}");
        if s == "-0" {
            "-0".into()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApiScalar::*;

    fn int(s: &str) -> ApiScalar {
        Integer(s.into())
    }
    fn float(s: &str) -> ApiScalar {
        Float(Some(s.into()))
    }

    #[test]
    fn resolves_like_go_yaml_v2() {
        assert_eq!(api_text("1.00000000000000001"), float("1"));
        assert_eq!(api_text("1.5"), float("1.5"));
        assert_eq!(api_text("0.1"), float("0.1"));
        assert_eq!(api_text(".5"), float("0.5"));
        assert_eq!(api_text("1."), float("1"));
        assert_eq!(api_text("2"), int("2"));
        assert_eq!(api_text("+2"), int("2"));
        assert_eq!(api_text("1_000"), int("1000"));
        assert_eq!(api_text("0x10"), int("16"));
        assert_eq!(api_text("010"), int("8"));
        assert_eq!(api_text("0o17"), int("15"));
        assert_eq!(api_text("08"), float("8"));
        assert_eq!(api_text("9223372036854775807"), int("9223372036854775807"));
        assert_eq!(api_text("9223372036854775808"), int("9223372036854775808"));
        assert_eq!(
            api_text("-9223372036854775808"),
            int("-9223372036854775808")
        );
        assert_eq!(
            api_text("99999999999999999999"),
            float("100000000000000000000")
        );
        assert_eq!(api_text("1e25"), float("1e+25"));
        assert_eq!(api_text("1e3"), float("1000"));
        assert_eq!(api_text("0.0000001"), float("1e-7"));
        assert_eq!(api_text("1e400"), Text);
        assert_eq!(api_text(".inf"), Float(None));
        assert_eq!(api_text("500m"), Text);
        assert_eq!(api_text("100M"), Text);
        assert_eq!(api_text("1Gi"), Text);
        assert_eq!(api_text("2024-01-01"), Text);
        assert_eq!(api_text("-"), Text);
        assert_eq!(api_text(""), Text);
    }

    #[test]
    fn json_float_matches_go() {
        assert_eq!(json_float(1.0), "1");
        assert_eq!(json_float(1e20), "100000000000000000000");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1.5e-7), "1.5e-7");
        assert_eq!(json_float(0.000001), "0.000001");
        assert_eq!(json_float(0.0), "0");
        assert_eq!(json_float(-2.5), "-2.5");
    }
}
