//! CPU `resource.Quantity` parsing with exact apimachinery semantics (pure core).
//!
//! Everything here follows kubernetes/apimachinery `pkg/api/resource` at commit
//! `eed236ceee2c19c2753a3d93ac0631dc20750454` (v0.37.0-beta.0 line): `quantity.go`
//! (`parseQuantityString`, `ParseQuantity`, `UnmarshalJSON`, `ScaledValue`), `suffix.go`
//! (`fastLookup.interpret`, `suffixHandler.interpret`), `amount.go` (`AsScaledInt64`,
//! `AsCanonicalBytes`), `math.go` (`negativeScaleInt64`, `maxAllowed`) and `scale_int.go`
//! (`scaledValue`).
//!
//! A [`Quantity`] stores the exact value in nano-units as an `i128`. Parsing reproduces the
//! upstream scanner byte for byte, including its quirks (an empty number is zero, so `.`, `+`,
//! `k` and `Mi` parse as 0; `1E` is exa but `1e` is an error; `Pi` and `e-10` without digits are
//! errors because they reach the `inf.Dec` path), rounds anything finer than 1n up (away from
//! zero) and caps binary-SI magnitudes at 2^63-1. The one deliberate difference: values whose
//! magnitude does not fit in `i128` nanos (above about 1.7e29) are rejected as "too large",
//! where apimachinery keeps them as arbitrary-precision decimals.
//!
//! On error, [`QuantityError`] carries a reason and, when we can tell what was meant, a hint
//! whose suggestions are checked to parse (`"1,5"` → `did you mean "1.5" or "1500m"?`).

use crate::units::MilliCpu;

/// Nano-units per unit (the finest amount a parsed quantity keeps is 1n).
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Nano-units per milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;
/// apimachinery `math.go` `maxAllowed` (2^63-1), in nanos: the cap on binary-SI magnitudes.
const BINARY_CAP_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;
/// apimachinery `maxInt64Factors`: the decimal fast path takes at most 18 digits.
const MAX_INT64_FACTORS: usize = 18;
/// The characters `parseQuantityString` accepts as suffix letters.
const SUFFIX_CHARS: &[u8] = b"eEinumkKMGTP";
/// apimachinery `splitREString`, quoted in the upstream format error.
const SPLIT_RE: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// An exact quantity, in nano-units (10^-9), rounded up at nano scale as apimachinery does.
///
/// Equality and ordering compare the exact value, like upstream `Quantity.Cmp`: `1` == `1000m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    /// Value × 10^9.
    pub nanos: i128,
}

impl Quantity {
    /// The quantity `0`.
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    /// The exact quantity for a number of millicores (`NewMilliQuantity`).
    pub fn from_millicores(m: MilliCpu) -> Quantity {
        Quantity {
            nanos: i128::from(m.0) * NANOS_PER_MILLI,
        }
    }

    /// `MilliValue()` (`ScaledValue(Milli)`): the value in milli-units, rounded up.
    ///
    /// For positive values this is ceil(q × 1000), what the kubelet uses for every CPU
    /// formula. Negative values round away from zero, as upstream's `int64Amount` path
    /// (`negativeScaleInt64`) does for every value with at most 18 significant digits and no
    /// sub-nano part. (Upstream's `inf.Dec` path, taken for longer or binary-fraction inputs,
    /// returns truncation + 1 for an inexact negative value; that depends on the spelling, which
    /// a `Quantity` does not keep. Negative CPU fails validation anyway.)
    ///
    /// Unlike upstream, which silently wraps or returns 0 on overflow, the result saturates at
    /// `i64::MAX` / `i64::MIN`.
    pub fn milli_value(&self) -> i64 {
        scaled_away_from_zero(self.nanos, NANOS_PER_MILLI)
    }

    /// `Value()` (`ScaledValue(0)`): the value in whole units, rounded up (away from zero for
    /// negatives, see [`Quantity::milli_value`]); saturates at the `i64` bounds.
    pub fn value(&self) -> i64 {
        scaled_away_from_zero(self.nanos, NANOS_PER_UNIT)
    }

    /// True for zero (`IsZero()`).
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// True below zero (`Sign() < 0`).
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Millicores, as the kubelet sees them: `MilliCpu(self.milli_value())`.
    pub fn millicpu(&self) -> MilliCpu {
        MilliCpu(self.milli_value())
    }

    /// Sum of two quantities, saturating at the `i128` nano bounds (upstream `Add` is exact;
    /// saturation only matters far beyond any real cluster).
    pub fn saturating_add(self, other: Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }

    /// The canonical decimal-SI text of this value, as the API server prints a decimal-suffixed
    /// quantity (`AsCanonicalBytes`: no fraction digits, largest suffix that loses nothing):
    /// `1.5` → `1500m`, `0.0001` → `100u`, `2000` → `2k`, `10000000000000000000` → `10E`.
    ///
    /// Binary-SI spellings are printed in decimal (`1Ki` → `1024`). Beyond `E` the exponent form
    /// `e21` is used (upstream would print the mantissa with no suffix there).
    pub fn canonical_decimal(&self) -> String {
        format_scaled(self.nanos, -9)
    }
}

impl std::ops::Add for Quantity {
    type Output = Quantity;
    /// Saturating addition, see [`Quantity::saturating_add`].
    fn add(self, other: Quantity) -> Quantity {
        self.saturating_add(other)
    }
}

impl std::iter::Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::ZERO, Quantity::saturating_add)
    }
}

/// ceil(|nanos| / unit) with the sign of `nanos`, clamped to `i64`.
fn scaled_away_from_zero(nanos: i128, unit: i128) -> i64 {
    let scaled = nanos.unsigned_abs().div_ceil(unit.unsigned_abs());
    if nanos < 0 {
        if scaled >= u128::from(i64::MIN.unsigned_abs()) {
            i64::MIN
        } else {
            -(scaled as i64)
        }
    } else {
        scaled.min(i64::MAX as u128) as i64
    }
}

/// Which check a quantity failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityErrorKind {
    /// The empty string (upstream `ErrFormatWrong`).
    Empty,
    /// A character the scanner does not accept (upstream `ErrFormatWrong`).
    Syntax,
    /// An unknown suffix such as `K`, `mi`, `1e` (upstream `ErrSuffix`).
    Suffix,
    /// No digits where upstream's `inf.Dec` path needs some: `Pi`, `Ei`, `e-10` (upstream
    /// `ErrNumeric`).
    Numeric,
    /// Accepted by apimachinery but beyond what kcpu represents (about 1.7e29).
    TooLarge,
    /// A negative CPU amount ([`parse_cpu`] only; upstream validation rejects it).
    Negative,
}

impl QuantityErrorKind {
    /// The error text `resource.ParseQuantity` returns for this kind, if it rejects the input.
    pub fn upstream_error(self) -> Option<String> {
        match self {
            QuantityErrorKind::Empty | QuantityErrorKind::Syntax => Some(format!(
                "quantities must match the regular expression '{SPLIT_RE}'"
            )),
            QuantityErrorKind::Suffix => Some("unable to parse quantity's suffix".to_string()),
            QuantityErrorKind::Numeric => {
                Some("unable to parse numeric part of quantity".to_string())
            }
            QuantityErrorKind::TooLarge | QuantityErrorKind::Negative => None,
        }
    }
}

/// Why a quantity does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}")]
pub struct QuantityError {
    /// The input, exactly as given.
    pub input: String,
    /// What is wrong.
    pub reason: String,
    /// A suggestion (`did you mean "1.5" or "1500m"?`); every quoted candidate after
    /// `did you mean` parses.
    pub hint: Option<String>,
    /// Which check failed.
    pub kind: QuantityErrorKind,
}

/// Parses a quantity exactly as `resource.ParseQuantity` does (no whitespace allowed).
pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
    parse_raw(input).map_err(|e| e.into_error(input, input))
}

/// Parses a quantity the way a manifest value is parsed: `Quantity.UnmarshalJSON` applies
/// `strings.TrimSpace` (Unicode white space, the same set as [`str::trim`]) before
/// `ParseQuantity`.
///
/// The caller passes the decoded scalar. (Upstream strips the JSON quotes without decoding
/// escapes, so a JSON string with `\u` escapes fails there; that is the loader's concern.)
pub fn parse_manifest(input: &str) -> Result<Quantity, QuantityError> {
    let trimmed = input.trim();
    parse_raw(trimmed).map_err(|e| e.into_error(input, trimmed))
}

/// Parses a CPU amount from a manifest ([`parse_manifest`]) and rejects negative values, as
/// API validation (`ValidateResourceRequirements`: "must be greater than or equal to 0")
/// does, returning the millicores the kubelet uses.
pub fn parse_cpu(input: &str) -> Result<MilliCpu, QuantityError> {
    let q = parse_manifest(input)?;
    if q.is_negative() {
        let positive = input.trim().strip_prefix('-').unwrap_or("");
        let hint = match parse_raw(positive) {
            Ok(p) if !p.is_zero() => Some(format!(
                "did you mean {positive:?}? To leave CPU unlimited, omit the limit instead"
            )),
            _ => None,
        };
        return Err(QuantityError {
            input: input.to_string(),
            reason: "CPU cannot be negative".to_string(),
            hint,
            kind: QuantityErrorKind::Negative,
        });
    }
    Ok(q.millicpu())
}

/// Canonical Kubernetes text for a number of millicores, as `NewMilliQuantity(m,
/// DecimalSI).String()` prints it: `0`, `1m`, `1500m`, `2`, `1234`, `2k`.
pub fn format_millicores(m: MilliCpu) -> String {
    format_scaled(i128::from(m.0), -3)
}

/// True when the value is not a whole number of millicores, so `MilliValue()` rounds it up
/// (`0.0001` → 1m, `1.0005` → 1001m).
pub fn has_sub_milli_precision(q: &Quantity) -> bool {
    q.nanos % NANOS_PER_MILLI != 0
}

/// The suffix as written after the number (`M`, `Mi`, `k`, `m`, `e3`), on the manifest-trimmed
/// text; `None` when there is none or the text does not scan. The suffix is not validated:
/// call [`parse`] for that.
pub fn suffix_of(input: &str) -> Option<&str> {
    let trimmed = input.trim();
    match scan(trimmed) {
        Ok(s) if !s.suffix.is_empty() => Some(s.suffix),
        _ => None,
    }
}

/// `AsCanonicalBytes` (`amount.go`): strip factors of ten, lower the exponent to a multiple
/// of three, then print the mantissa and the decimal-SI suffix for the exponent.
fn format_scaled(mantissa: i128, exponent: i32) -> String {
    if mantissa == 0 {
        return "0".to_string();
    }
    let (mut m, mut e) = (mantissa, exponent);
    while m % 10 == 0 {
        m /= 10;
        e += 1;
    }
    // Removing factors of ten made room: multiplying back never overflows.
    match e.rem_euclid(3) {
        1 => {
            m *= 10;
            e -= 1;
        }
        2 => {
            m *= 100;
            e -= 2;
        }
        _ => {}
    }
    let suffix = match e {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return format!("{m}e{e}"),
    };
    format!("{m}{suffix}")
}

/// A value as plain decimal text (`0.5`, `12`, `-0.000000001`), for hints.
fn plain_decimal(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    let unit = NANOS_PER_UNIT.unsigned_abs();
    let (int, frac) = (magnitude / unit, magnitude % unit);
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let digits = format!("{frac:09}");
    format!("{sign}{int}.{}", digits.trim_end_matches('0'))
}

// ---------------------------------------------------------------------------------------------
// Scanner and evaluation (`parseQuantityString` + `ParseQuantity`)
// ---------------------------------------------------------------------------------------------

/// What `parseQuantityString` extracts from the text.
#[derive(Debug, Clone, Copy)]
struct Scanned<'a> {
    /// A leading `-`.
    negative: bool,
    /// Integer digits after the leading zeros were stripped (empty means zero).
    int_digits: &'a [u8],
    /// Fraction digits as written (`denom`).
    frac_digits: &'a [u8],
    /// Whether upstream's `value` text contains a digit, i.e. whether `inf.Dec.SetString`
    /// accepts it on the slow path.
    has_digits: bool,
    /// The suffix text: suffix letters, then an optional sign and digits.
    suffix: &'a str,
}

/// `parseQuantityString`, byte for byte. On failure returns the byte offset of the first
/// character that is not accepted (`ErrFormatWrong`).
fn scan(s: &str) -> Result<Scanned<'_>, usize> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut negative = false;
    match b.first() {
        Some(b'-') => {
            negative = true;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    let zeros_start = pos;
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos == end {
        // Upstream returns num = value = "0" when only a sign and zeros remain (also for "+").
        return Ok(Scanned {
            negative,
            int_digits: &[],
            frac_digits: &[],
            has_digits: true,
            suffix: "",
        });
    }
    let stripped_zeros = pos > zeros_start;
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_digits = &b[num_start..pos];
    let mut frac_digits: &[u8] = &[];
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_digits = &b[frac_start..pos];
    }
    let has_digits = stripped_zeros || !int_digits.is_empty() || !frac_digits.is_empty();
    let suffix_start = pos;
    while pos < end && SUFFIX_CHARS.contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'+' || b[pos] == b'-') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(pos);
    }
    // Every byte before `suffix_start` is ASCII, so this is a char boundary.
    Ok(Scanned {
        negative,
        int_digits,
        frac_digits,
        has_digits,
        suffix: &s[suffix_start..],
    })
}

/// The multiplier a suffix stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Multiplier {
    /// × 10^exponent (decimal SI or `e`/`E` exponent).
    Decimal(i32),
    /// × 2^bits (binary SI).
    Binary(u32),
}

/// `fastLookup.interpret` + `suffixHandler.interpret` (`suffix.go`): the decimal table, then the
/// binary table, then `e`/`E` followed by an integer — only when the suffix is longer than one
/// character, so `E` alone is exa and `e` alone is an error. The exponent is parsed as int64
/// and converted with Go's `int32(parsed)`, which truncates.
fn interpret(suffix: &str) -> Option<Multiplier> {
    use Multiplier::{Binary, Decimal};
    Some(match suffix {
        "" => Decimal(0),
        "n" => Decimal(-9),
        "u" => Decimal(-6),
        "m" => Decimal(-3),
        "k" => Decimal(3),
        "M" => Decimal(6),
        "G" => Decimal(9),
        "T" => Decimal(12),
        "P" => Decimal(15),
        "E" => Decimal(18),
        "Ki" => Binary(10),
        "Mi" => Binary(20),
        "Gi" => Binary(30),
        "Ti" => Binary(40),
        "Pi" => Binary(50),
        "Ei" => Binary(60),
        _ => {
            let rest = suffix.strip_prefix(['e', 'E'])?;
            // Go's strconv.ParseInt(s, 10, 64) and Rust's i64 parser accept the same texts
            // here: an optional sign, then ASCII digits, nothing else.
            let parsed: i64 = rest.parse().ok()?;
            Decimal(parsed as i32)
        }
    })
}

/// A parse failure before it is dressed up with the input and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawError {
    kind: QuantityErrorKind,
    reason: String,
}

impl RawError {
    /// Builds the public error; `text` is what was parsed (trimmed for manifests).
    fn into_error(self, input: &str, text: &str) -> QuantityError {
        let hint = hints::hint_for(text, self.kind);
        QuantityError {
            input: input.to_string(),
            reason: self.reason,
            hint,
            kind: self.kind,
        }
    }
}

/// `ParseQuantity` without hints: the exact value in nanos or why upstream rejects it.
fn parse_raw(text: &str) -> Result<Quantity, RawError> {
    if text.is_empty() {
        return Err(RawError {
            kind: QuantityErrorKind::Empty,
            reason: "the value is empty".into(),
        });
    }
    let scanned = scan(text).map_err(|pos| RawError {
        kind: QuantityErrorKind::Syntax,
        reason: syntax_reason(text, pos),
    })?;
    let multiplier = interpret(scanned.suffix).ok_or_else(|| RawError {
        kind: QuantityErrorKind::Suffix,
        reason: suffix_reason(scanned.suffix),
    })?;
    let magnitude = match multiplier {
        Multiplier::Decimal(exponent) => decimal_nanos(&scanned, exponent)?,
        Multiplier::Binary(bits) => binary_nanos(&scanned, bits)?,
    };
    Ok(Quantity {
        nanos: if scanned.negative {
            -magnitude
        } else {
            magnitude
        },
    })
}

fn numeric_error(suffix: &str) -> RawError {
    RawError {
        kind: QuantityErrorKind::Numeric,
        reason: format!("no digits before the suffix {suffix:?} (apimachinery rejects this form)"),
    }
}

fn too_large() -> RawError {
    RawError {
        kind: QuantityErrorKind::TooLarge,
        reason: "value is too large (kcpu handles magnitudes up to about 1.7e29)".into(),
    }
}

/// Magnitude in nanos for a decimal-SI or exponent suffix.
///
/// Upstream (`ParseQuantity`) takes an int64 fast path when there are at most 18 digits and
/// `scale = exponent - len(denom) >= -9` (exact, int32 arithmetic), and otherwise parses the
/// `value` text as an `inf.Dec`, moves the scale by the exponent and rounds up to 9 decimal
/// places. Both give the exact value rounded up at nano scale; the path only matters for
/// errors (`inf.Dec` needs a digit) and for the int32 wrap-around of absurd exponents, which
/// this reproduces.
fn decimal_nanos(s: &Scanned<'_>, exponent: i32) -> Result<i128, RawError> {
    let int_len = s.int_digits.len().max(1); // upstream counts the "0" it substitutes
    let frac_len = s.frac_digits.len();
    let fast_scale = exponent.wrapping_sub(frac_len as i32);
    let scale: i64 = if int_len + frac_len <= MAX_INT64_FACTORS && fast_scale >= -9 {
        i64::from(fast_scale)
    } else {
        if !s.has_digits {
            return Err(numeric_error(s.suffix));
        }
        // amount.SetScale(amount.Scale() + Scale(exponent).infScale()), all int32.
        let inf_scale = (frac_len as i32).wrapping_add(exponent.wrapping_neg());
        -i64::from(inf_scale)
    };
    let (kept, dropped_nonzero) =
        shift_digits(s.int_digits, s.frac_digits, scale + 9).ok_or_else(too_large)?;
    kept.checked_add(i128::from(dropped_nonzero))
        .ok_or_else(too_large)
}

/// Magnitude in nanos for a binary-SI suffix: value × 2^bits rounded up at nano scale, then
/// capped at 2^63-1 (`maxAllowed`). Upstream's fast path (no fraction, few digits, no int64
/// overflow) is exact and never exceeds the cap, so only its "needs a digit" rule matters.
fn binary_nanos(s: &Scanned<'_>, bits: u32) -> Result<i128, RawError> {
    if !s.has_digits {
        // precision = 15 - len(num) - int32(float32(exponent)*3/10) - 1 with num = "0";
        // below zero the inf.Dec path runs and fails on the digit-less text ("Pi", "Ei").
        let precision = 15 - 1 - (bits as i32 * 3 / 10) - 1;
        if precision < 0 {
            return Err(numeric_error(s.suffix));
        }
        return Ok(0);
    }
    let multiplier: i128 = 1 << bits;
    let frac_len = s.frac_digits.len();
    // nanos = U × 10^(9 - frac_len) × 2^bits; digits beyond the ninth fraction digit are
    // multiplied separately so nothing overflows.
    let (head, tail): (&[u8], &[u8]) = if frac_len > 9 {
        (&s.frac_digits[..9], &s.frac_digits[9..])
    } else {
        (s.frac_digits, &[])
    };
    let shift = 9 - head.len() as i64;
    let Some((kept, _)) = shift_digits(s.int_digits, head, shift) else {
        return Ok(BINARY_CAP_NANOS);
    };
    let Some(whole) = kept.checked_mul(multiplier) else {
        return Ok(BINARY_CAP_NANOS);
    };
    let (carry, inexact) = multiply_fraction(tail, bits);
    let total = whole
        .saturating_add(carry)
        .saturating_add(i128::from(inexact));
    Ok(total.min(BINARY_CAP_NANOS))
}

/// The digits `int ++ frac` read as an integer U, times 10^shift: returns the integer part and
/// whether a non-zero digit was cut off (shift < 0). `None` when the integer part overflows.
fn shift_digits(int: &[u8], frac: &[u8], shift: i64) -> Option<(i128, bool)> {
    let total = (int.len() + frac.len()) as i64;
    let keep = total.saturating_add(shift).clamp(0, total) as usize;
    let mut acc: i128 = 0;
    let mut dropped_nonzero = false;
    for (i, &d) in int.iter().chain(frac.iter()).enumerate() {
        if i < keep {
            acc = acc.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
        } else if d != b'0' {
            dropped_nonzero = true;
            break;
        }
    }
    if shift > 0 && acc != 0 {
        let factor = 10i128.checked_pow(u32::try_from(shift).ok()?)?;
        acc = acc.checked_mul(factor)?;
    }
    Some((acc, dropped_nonzero))
}

/// 0.`digits` × 2^bits: the integer part and whether a fractional part remains. Long
/// multiplication from the last digit, so any number of digits works without overflow
/// (each step stays below 10 × 2^60).
fn multiply_fraction(digits: &[u8], bits: u32) -> (i128, bool) {
    let m: u128 = 1 << bits;
    let mut carry: u128 = 0;
    let mut inexact = false;
    for &d in digits.iter().rev() {
        let t = u128::from(d - b'0') * m + carry;
        inexact |= !t.is_multiple_of(10);
        carry = t / 10;
    }
    (carry as i128, inexact)
}

fn syntax_reason(text: &str, pos: usize) -> String {
    let c = text[pos..].chars().next().unwrap_or(' ');
    if c.is_whitespace() {
        if text.trim() != text && text.trim().chars().all(|c| !c.is_whitespace()) {
            return "leading or trailing white space is not allowed here (a manifest value is trimmed first)".into();
        }
        return "white space is not allowed inside a quantity".into();
    }
    if pos == 0 {
        format!("unexpected {c:?} at the start (a quantity starts with a sign, a digit or \".\")")
    } else {
        format!("unexpected {c:?} after {:?}", &text[..pos])
    }
}

fn suffix_reason(suffix: &str) -> String {
    if let Some(rest) = suffix.strip_prefix(['e', 'E']) {
        if suffix.len() > 1
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-')
        {
            return format!("exponent {rest:?} is not an integer");
        }
    }
    format!(
        "unknown suffix {suffix:?} (suffixes: n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or e/E followed by an integer exponent)"
    )
}

// ---------------------------------------------------------------------------------------------
// Hints
// ---------------------------------------------------------------------------------------------

mod hints {
    //! Suggestions for inputs that do not parse. Every candidate offered after "did you mean"
    //! is checked with the real parser first, so a hint never suggests another invalid value.

    use super::{
        format_millicores, has_sub_milli_precision, interpret, parse_raw, plain_decimal, scan,
        Quantity, QuantityErrorKind,
    };
    use crate::units::MilliCpu;

    /// Words people put after a number of CPUs; a plain number already means cores.
    const CORE_WORDS: &[&str] = &[
        "cpu", "cpus", "core", "cores", "vcpu", "vcpus", "vcore", "vcores",
    ];
    /// Words that mean millicores; the suffix is `m`.
    const MILLI_WORDS: &[&str] = &[
        "millicpu",
        "millicpus",
        "millicore",
        "millicores",
        "mcpu",
        "mcpus",
        "millis",
        "milli",
    ];
    /// Every suffix made of letters only, for case-insensitive repairs.
    const LETTER_SUFFIXES: &[&str] = &[
        "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    /// Words that ask for "no limit".
    const UNLIMITED_WORDS: &[&str] = &["unlimited", "max", "none", "inf", "infinity", "\u{221E}"];
    /// Number words.
    const NUMBER_WORDS: &[(&str, &str)] = &[
        ("zero", "0"),
        ("one", "1"),
        ("two", "2"),
        ("three", "3"),
        ("four", "4"),
        ("five", "5"),
        ("six", "6"),
        ("seven", "7"),
        ("eight", "8"),
        ("nine", "9"),
        ("ten", "10"),
        ("half", "0.5"),
        ("quarter", "0.25"),
    ];

    /// The hint for `text`, the exact text that was parsed (bare `parse` keeps surrounding
    /// white space, which it rejects; manifest values arrive trimmed).
    pub(super) fn hint_for(text: &str, kind: QuantityErrorKind) -> Option<String> {
        if kind == QuantityErrorKind::TooLarge {
            return None;
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Some(
                "write a number of CPUs such as \"1\" or \"0.5\", or millicores such as \"500m\""
                    .into(),
            );
        }
        let mut notes: Vec<String> = Vec::new();
        if trimmed != text {
            // Only bare `parse` sees this: manifest values are trimmed before parsing.
            notes.push("remove the surrounding white space".into());
        }
        if let Some(h) = whole_text_hint(trimmed) {
            return Some(h);
        }
        let mut fix = Fix {
            text: trimmed.to_string(),
            alternatives: Vec::new(),
            notes,
        };
        fix.unquote();
        fix.ascii();
        fix.cpu_words();
        fix.separators();
        fix.inner_space();
        fix.suffix_case();
        if fix.text != text || !fix.alternatives.is_empty() {
            if let Some(h) = fix.render() {
                return Some(h);
            }
        }
        explain(trimmed, kind)
    }

    /// Suggests `candidates` that parse (deduplicated), adding the millicore spelling of a
    /// fractional plain number; `None` if none parses.
    fn did_you_mean(candidates: &[String], notes: &[String]) -> Option<String> {
        let mut ok: Vec<String> = Vec::new();
        for c in candidates {
            let Ok(q) = parse_raw(c) else { continue };
            if !ok.contains(c) {
                ok.push(c.clone());
            }
            if let Some(m) = milli_spelling(c, q) {
                if !ok.contains(&m) {
                    ok.push(m);
                }
            }
        }
        if ok.is_empty() {
            return None;
        }
        let quoted: Vec<String> = ok.iter().map(|c| format!("{c:?}")).collect();
        let mut out = format!("did you mean {}?", join_or(&quoted));
        if !notes.is_empty() {
            out.push_str(" (");
            out.push_str(&notes.join("; "));
            out.push(')');
        }
        Some(out)
    }

    /// `1.5` → `1500m`: the millicore spelling of a plain fractional number of CPUs.
    fn milli_spelling(candidate: &str, q: Quantity) -> Option<String> {
        let plain = candidate
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'+');
        let whole = q.nanos % super::NANOS_PER_UNIT == 0;
        if plain && !whole && q.nanos > 0 && !has_sub_milli_precision(&q) && q.value() <= 1_000_000
        {
            Some(format_millicores(MilliCpu(q.milli_value())))
        } else {
            None
        }
    }

    fn join_or(items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }

    /// The repaired text, other readings, and what was changed.
    struct Fix {
        text: String,
        alternatives: Vec<String>,
        notes: Vec<String>,
    }

    impl Fix {
        fn render(&self) -> Option<String> {
            let mut candidates = vec![self.text.clone()];
            candidates.extend(self.alternatives.iter().cloned());
            did_you_mean(&candidates, &self.notes)
        }

        fn unquote(&mut self) {
            let t = &self.text;
            for q in ['"', '\''] {
                if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
                    self.text = t[1..t.len() - 1].trim().to_string();
                    self.notes.push("remove the quotes inside the value".into());
                    return;
                }
            }
        }

        fn ascii(&mut self) {
            let mut micro = false;
            let mapped: String = self
                .text
                .chars()
                .map(|c| match c {
                    '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                    '\u{2212}' | '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{FE63}' => '-',
                    '\u{00B5}' | '\u{03BC}' => {
                        micro = true;
                        'u'
                    }
                    _ => c,
                })
                .collect();
            if mapped != self.text {
                self.text = mapped;
                self.notes.push(if micro {
                    "micro is written \"u\"".into()
                } else {
                    "use plain ASCII digits, signs and letters".into()
                });
            }
        }

        fn cpu_words(&mut self) {
            let t = self.text.trim_end();
            let word_start = t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
            let (number, word) = t.split_at(word_start);
            let number = number.trim_end();
            if number.is_empty() || word.is_empty() {
                return;
            }
            let lower = word.to_ascii_lowercase();
            if CORE_WORDS.contains(&lower.as_str()) {
                self.text = number.to_string();
                self.notes.push(
                    "drop the unit: a plain number counts CPUs, \"m\" marks millicores".into(),
                );
            } else if MILLI_WORDS.contains(&lower.as_str()) {
                self.text = format!("{number}m");
                self.notes
                    .push("millicores are written with the suffix \"m\"".into());
            }
        }

        fn separators(&mut self) {
            let t = self.text.clone();
            let b = t.as_bytes();
            let between_digits = |i: usize| {
                i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit()
            };
            let grouping: Vec<usize> = (0..b.len())
                .filter(|&i| (b[i] == b'_' || b[i] == b'\'') && between_digits(i))
                .collect();
            if !grouping.is_empty() {
                self.text = t.chars().filter(|&c| c != '_' && c != '\'').collect();
                self.notes.push("digit separators are not allowed".into());
                return;
            }
            let commas: Vec<usize> = (0..b.len()).filter(|&i| b[i] == b',').collect();
            if commas.is_empty() || !commas.iter().all(|&i| between_digits(i)) {
                return;
            }
            let digits_after =
                |i: usize| b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let digits_before = |i: usize| {
                b[..i]
                    .iter()
                    .rev()
                    .take_while(|c| c.is_ascii_digit())
                    .count()
            };
            let thousands = commas.iter().enumerate().all(|(k, &i)| {
                let after_ok = digits_after(i) == 3;
                let before_ok = if k == 0 {
                    (1..=3).contains(&digits_before(i))
                } else {
                    digits_before(i) == 3
                };
                after_ok && before_ok
            });
            let removed: String = t.chars().filter(|&c| c != ',').collect();
            if commas.len() == 1 {
                self.text = t.replacen(',', ".", 1);
                self.notes.push("the decimal point is \".\"".into());
                if thousands {
                    self.alternatives.push(removed);
                    self.notes
                        .push("drop the comma if it separates thousands".into());
                }
            } else if thousands {
                self.text = removed;
                self.notes
                    .push("thousands separators are not allowed".into());
            }
        }

        fn inner_space(&mut self) {
            if self.text.chars().any(char::is_whitespace) {
                self.text = self.text.chars().filter(|c| !c.is_whitespace()).collect();
                self.notes.push("no spaces inside a quantity".into());
            }
        }

        /// Repairs the suffix letters: byte units (`Gb`, `MiB`), wrong case (`K`, `ki`, `MI`)
        /// and the `mi` mix-up between milli and mebi.
        fn suffix_case(&mut self) {
            let t = self.text.clone();
            let number_len = t
                .bytes()
                .enumerate()
                .take_while(|&(i, c)| {
                    c.is_ascii_digit() || c == b'.' || (i == 0 && (c == b'+' || c == b'-'))
                })
                .count();
            let (number, suffix) = t.split_at(number_len);
            if number.is_empty()
                || suffix.is_empty()
                || !suffix.bytes().all(|c| c.is_ascii_alphabetic())
            {
                return;
            }
            // "1e" is an exponent without digits; "1E" (exa) is not what was meant.
            if interpret(suffix).is_some() || suffix.eq_ignore_ascii_case("e") {
                return;
            }
            // Byte units: quantities have none.
            if suffix.len() >= 2 && suffix.ends_with(['b', 'B']) {
                let stem = &suffix[..suffix.len() - 1];
                let stem_ci = |s: &str| {
                    LETTER_SUFFIXES
                        .iter()
                        .copied()
                        .filter(|v| v.eq_ignore_ascii_case(s))
                        .collect::<Vec<_>>()
                };
                let mut found = Vec::new();
                if stem.len() == 1 {
                    // "GB", "Gb", "kB": decimal and binary readings.
                    for v in stem_ci(stem) {
                        if v.len() == 1 && v.chars().all(|c| c.is_ascii_uppercase() || c == 'k') {
                            found.push(v.to_string());
                        }
                    }
                    for v in stem_ci(&format!("{stem}i")) {
                        found.push(v.to_string());
                    }
                } else {
                    found.extend(stem_ci(stem).into_iter().map(str::to_string));
                }
                if let Some((first, rest)) = found.split_first() {
                    self.text = format!("{number}{first}");
                    self.alternatives
                        .extend(rest.iter().map(|s| format!("{number}{s}")));
                    self.notes.push("quantities have no byte unit \"B\"".into());
                }
                return;
            }
            if suffix.eq_ignore_ascii_case("mi") {
                self.text = format!("{number}m");
                self.alternatives.push(format!("{number}Mi"));
                self.notes
                    .push("\"m\" means milli, \"Mi\" means 2^20".into());
                return;
            }
            let matches: Vec<&str> = LETTER_SUFFIXES
                .iter()
                .copied()
                .filter(|v| v.eq_ignore_ascii_case(suffix))
                .collect();
            if let Some((first, rest)) = matches.split_first() {
                self.text = format!("{number}{first}");
                self.alternatives
                    .extend(rest.iter().map(|s| format!("{number}{s}")));
                self.notes.push(if suffix == "K" {
                    "the kilo suffix is a lower-case \"k\"; \"Ki\" is 1024".into()
                } else {
                    "suffixes are case-sensitive".into()
                });
            }
        }
    }

    /// Hints that look at the whole text: percentages, fractions, number words, hex, "no
    /// limit" words.
    fn whole_text_hint(t: &str) -> Option<String> {
        let lower = t.to_ascii_lowercase();
        if let Some(p) = t.strip_suffix('%') {
            let p = p.trim_end();
            let q = parse_raw(p)
                .ok()
                .filter(|q| q.nanos >= 0 && p.bytes().all(|b| b.is_ascii_digit() || b == b'.'))?;
            if q.nanos % 100 != 0 {
                return Some("percentages are not quantities: write the number of CPUs (100% of one CPU is \"1\")".into());
            }
            let cores = Quantity {
                nanos: q.nanos / 100,
            };
            let candidate = plain_decimal(cores.nanos);
            let note = format!("percentages are not quantities; {p}% of one CPU is {candidate}");
            return did_you_mean(&[candidate], &[note]);
        }
        if let Some((a, b)) = t.split_once('/') {
            let (a, b) = (a.trim(), b.trim());
            if let (Ok(n), Ok(d)) = (a.parse::<u64>(), b.parse::<u64>()) {
                if d != 0 && (u128::from(n) * 1_000_000_000) % u128::from(d) == 0 {
                    let nanos = (i128::from(n) * super::NANOS_PER_UNIT) / i128::from(d);
                    return did_you_mean(
                        &[plain_decimal(nanos)],
                        &["fractions are not supported".into()],
                    );
                }
                return Some("fractions are not supported: write a decimal number".into());
            }
        }
        if let Some((_, v)) = NUMBER_WORDS.iter().find(|(w, _)| *w == lower) {
            return did_you_mean(&[v.to_string()], &["write the number in digits".into()]);
        }
        if let Some(hex) = lower.strip_prefix("0x") {
            if let Ok(v) = u64::from_str_radix(hex, 16) {
                return did_you_mean(&[v.to_string()], &["hexadecimal is not supported".into()]);
            }
        }
        if UNLIMITED_WORDS.contains(&lower.as_str()) {
            return Some(
                "there is no \"unlimited\" value: to leave CPU unlimited, omit the limit".into(),
            );
        }
        None
    }

    /// Explanations when no repaired value can be offered.
    fn explain(t: &str, kind: QuantityErrorKind) -> Option<String> {
        let scanned = scan(t);
        let b = t.as_bytes();
        if b.len() >= 2 && matches!(b[0], b'+' | b'-') && matches!(b[1], b'+' | b'-') {
            return Some("use at most one sign".into());
        }

        match kind {
            QuantityErrorKind::Numeric => {
                let s = scanned.map(|s| s.suffix).unwrap_or("");
                return Some(format!("put a number before {s:?}, for example \"1{s}\""));
            }
            QuantityErrorKind::Suffix => {
                let s = scanned.map(|s| s.suffix).unwrap_or("");
                if s == "e" {
                    return Some("an exponent needs digits after \"e\" (\"1e3\" is 1000); \"E\" alone means exa (10^18)".into());
                }
                if let Some(rest) = s.strip_prefix(['e', 'E']) {
                    if rest == "+" || rest == "-" {
                        return Some("an exponent needs digits after its sign (\"1e-3\")".into());
                    }
                    if rest.bytes().any(|b| b.is_ascii_alphabetic()) {
                        return Some(
                            "use either an exponent or a suffix, not both (\"1e3\" or \"1k\")"
                                .into(),
                        );
                    }
                }
                if s == "i" {
                    return Some("\"i\" needs a binary prefix: \"Ki\", \"Mi\", \"Gi\", \"Ti\", \"Pi\" or \"Ei\"".into());
                }
                if s.bytes().any(|b| b.is_ascii_digit()) {
                    return Some(
                        "nothing may follow the suffix except an exponent after \"e\"/\"E\"".into(),
                    );
                }
                return Some("valid suffixes are n u m k M G T P E and Ki Mi Gi Ti Pi Ei; CPU is usually a plain number (\"2\") or millicores (\"500m\")".into());
            }
            _ => {}
        }
        if t.matches('.').count() > 1 {
            return Some("only one decimal point is allowed".into());
        }
        if let Err(pos) = scanned {
            let rest = &t[pos..];
            if t[..pos].contains(['e', 'E']) {
                if rest.starts_with('.') {
                    return Some("exponents must be whole numbers (\"1e3\", \"5e-1\")".into());
                }
                return Some(
                    "use either an exponent or a suffix, not both (\"1e3\" or \"1k\")".into(),
                );
            }
            if (rest.starts_with('.') || rest.starts_with(['+', '-'])) && pos > 0 {
                return Some(
                    "a sign or decimal point may only appear at the start of the number".into(),
                );
            }
        }
        Some(
            "a quantity is a number with an optional suffix, e.g. \"2\", \"0.5\" or \"500m\""
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ONE: i128 = 1_000_000_000;

    fn nanos(s: &str) -> i128 {
        match parse(s) {
            Ok(q) => q.nanos,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn milli(s: &str) -> i64 {
        match parse(s) {
            Ok(q) => q.milli_value(),
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn kind(s: &str) -> QuantityErrorKind {
        match parse(s) {
            Ok(q) => panic!("{s:?} should not parse, got {q:?}"),
            Err(e) => e.kind,
        }
    }

    fn hint(s: &str) -> String {
        match parse(s) {
            Ok(q) => panic!("{s:?} should not parse, got {q:?}"),
            Err(e) => e.hint.unwrap_or_default(),
        }
    }

    /// Independent reading of a plain decimal (`-12.5`): integer and fraction digits only.
    fn plain_nanos(s: &str) -> i128 {
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        assert!(frac.len() <= 9, "{s}");
        let int: i128 = int.parse().unwrap_or_else(|_| panic!("{s}"));
        let frac_nanos: i128 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().unwrap_or(0)
        };
        let v = int * ONE + frac_nanos;
        if neg {
            -v
        } else {
            v
        }
    }

    // -----------------------------------------------------------------------------------------
    // Shared vectors
    // -----------------------------------------------------------------------------------------

    #[test]
    fn vectors_quantity_to_millicores() {
        let tsv = include_str!("../tests/data/vectors/quantity_to_millicores.tsv");
        let mut failures = Vec::new();
        let mut rows = 0;
        for (n, line) in tsv.lines().enumerate().skip(1) {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            rows += 1;
            let Some((input_json, expected)) = line.split_once('\t') else {
                failures.push(format!("line {}: not two columns: {line:?}", n + 1));
                continue;
            };
            let input: String = match serde_json::from_str(input_json) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("line {}: bad JSON {input_json}: {e}", n + 1));
                    continue;
                }
            };
            match (expected, parse(&input)) {
                ("ERROR", Ok(q)) => failures.push(format!(
                    "line {}: {input:?} parsed to {q:?}, want an error",
                    n + 1
                )),
                ("ERROR", Err(_)) => {}
                (want, Ok(q)) => match want.parse::<i64>() {
                    Ok(w) if w == q.milli_value() => {}
                    Ok(w) => failures.push(format!(
                        "line {}: {input:?}: milli {} want {w}",
                        n + 1,
                        q.milli_value()
                    )),
                    Err(_) => failures.push(format!("line {}: bad expectation {want:?}", n + 1)),
                },
                (want, Err(e)) => failures.push(format!(
                    "line {}: {input:?}: want {want}, got error {e}",
                    n + 1
                )),
            }
        }
        assert!(rows >= 70, "only {rows} rows read");
        assert!(
            failures.is_empty(),
            "{} of {rows} rows failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    // -----------------------------------------------------------------------------------------
    // Upstream tables (apimachinery quantity_test.go)
    // -----------------------------------------------------------------------------------------

    /// k8s-translation.md §6.5: input, exact nanos, MilliValue().
    #[test]
    fn reference_table_6_5() {
        let table: &[(&str, i128, i64)] = &[
            ("0", 0, 0),
            ("0m", 0, 0),
            ("1", ONE, 1000),
            ("5n", 5, 1),
            ("4u", 4_000, 1),
            ("3m", 3_000_000, 3),
            ("9", 9 * ONE, 9000),
            ("8k", 8_000 * ONE, 8_000_000),
            ("1E-3", 1_000_000, 1),
            ("1e3", 1_000 * ONE, 1_000_000),
            ("1E6", 1_000_000 * ONE, 1_000_000_000),
            ("1Ki", 1024 * ONE, 1_024_000),
            ("8Ki", 8192 * ONE, 8_192_000),
            ("100.035k", 100_035 * ONE, 100_035_000),
            ("0.001", 1_000_000, 1),
            ("0.0005k", 500_000_000, 500),
            ("0.005", 5_000_000, 5),
            ("0.05", 50_000_000, 50),
            ("0.5", 500_000_000, 500),
            ("0.5e0", 500_000_000, 500),
            ("0.5e-1", 50_000_000, 50),
            ("0.5e-2", 5_000_000, 5),
            ("1.2e3", 1_200 * ONE, 1_200_000),
            ("1.3E+6", 1_300_000 * ONE, 1_300_000_000),
            ("9.01", 9_010_000_000, 9010),
            ("3.001n", 4, 1),
            ("1.1E-9", 2, 1),
            ("0.0000000001", 1, 1),
            ("0.0000000005", 1, 1),
            ("0.5e-9", 1, 1),
            ("0.9n", 1, 1),
            ("0.00000012345", 124, 1),
            ("100.035Ki", 102_435_840_000_000, 102_435_840),
            ("0.5Mi", 524_288 * ONE, 524_288_000),
            ("0.000000000001Ki", 2, 1),
            (".001", 1_000_000, 1),
            (".0001k", 100_000_000, 100),
            ("1.", ONE, 1000),
            ("1.G", 1_000_000_000 * ONE, 1_000_000_000_000),
        ];
        for &(input, want_nanos, want_milli) in table {
            let q = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(q.nanos, want_nanos, "{input}");
            assert_eq!(q.milli_value(), want_milli, "{input}");
        }
    }

    /// Every row of upstream `TestQuantityParse` (value = mantissa × 10^exponent), plus its
    /// negated and `+`-prefixed forms, as the upstream test does.
    #[test]
    fn upstream_test_quantity_parse() {
        let table: &[(&str, i64, i32)] = &[
            ("0", 0, 0),
            ("0n", 0, 0),
            ("0u", 0, 0),
            ("0m", 0, 0),
            ("0Ki", 0, 0),
            ("0k", 0, 0),
            ("0Mi", 0, 0),
            ("0M", 0, 0),
            ("0Gi", 0, 0),
            ("0G", 0, 0),
            ("0Ti", 0, 0),
            ("0T", 0, 0),
            ("1", 1, 0),
            ("1Ki", 1024, 0),
            ("8Ki", 8192, 0),
            ("7Mi", 7340032, 0),
            ("6Gi", 6442450944, 0),
            ("5Ti", 5497558138880, 0),
            ("4Pi", 4503599627370496, 0),
            ("3Ei", 3458764513820540928, 0),
            ("10Ti", 10995116277760, 0),
            ("100Ti", 109951162777600, 0),
            ("5n", 5, -9),
            ("4u", 4, -6),
            ("3m", 3, -3),
            ("9", 9, 0),
            ("8k", 8, 3),
            ("50k", 5, 4),
            ("7M", 7, 6),
            ("6G", 6, 9),
            ("5T", 5, 12),
            ("40T", 4, 13),
            ("300T", 3, 14),
            ("2P", 2, 15),
            ("1E", 1, 18),
            ("1E-3", 1, -3),
            ("1e3", 1, 3),
            ("1E6", 1, 6),
            ("1e9", 1, 9),
            ("1E12", 1, 12),
            ("1e15", 1, 15),
            ("1E18", 1, 18),
            ("1e14", 1, 14),
            ("1e13", 1, 13),
            ("1e3", 1, 3),
            ("100.035k", 100035, 0),
            ("0.001", 1, -3),
            ("0.0005k", 5, -1),
            ("0.005", 5, -3),
            ("0.05", 5, -2),
            ("0.5", 5, -1),
            ("0.00050k", 5, -1),
            ("0.00500", 5, -3),
            ("0.05000", 5, -2),
            ("0.50000", 5, -1),
            ("0.5e0", 5, -1),
            ("0.5e-1", 5, -2),
            ("0.5e-2", 5, -3),
            ("0.5e0", 5, -1),
            ("10.035M", 10035, 3),
            ("1.2e3", 12, 2),
            ("1.3E+6", 13, 5),
            ("1.40e9", 14, 8),
            ("1.53E12", 153, 10),
            ("1.6e15", 16, 14),
            ("1.7E18", 17, 17),
            ("9.01", 901, -2),
            ("8.1k", 81, 2),
            ("7.123456M", 7123456, 0),
            ("6.987654321G", 6987654321, 0),
            ("5.444T", 5444, 9),
            ("40.1T", 401, 11),
            ("300.2T", 3002, 11),
            ("2.5P", 25, 14),
            ("1.01E", 101, 16),
            ("3.001n", 4, -9),
            ("1.1E-9", 2, -9),
            ("0.0000000001", 1, -9),
            ("0.0000000005", 1, -9),
            ("0.00000000050", 1, -9),
            ("0.5e-9", 1, -9),
            ("0.9n", 1, -9),
            ("0.00000012345", 124, -9),
            ("0.00000012354", 124, -9),
            ("12E", 12, 18),
            ("100.035Ki", 10243584, -2),
            ("0.5Mi", 524288, 0),
            ("0.05Gi", 536870912, -1),
            ("0.025Ti", 274877906944, -1),
            ("0.000000000001Ki", 2, -9),
            (".001", 1, -3),
            (".0001k", 100, -3),
            ("1.", 1, 0),
            ("1.G", 1, 9),
        ];
        let cap = BINARY_CAP_NANOS;
        let mut rows: Vec<(&str, i128)> = table
            .iter()
            .map(|&(s, m, e)| (s, i128::from(m) * 10i128.pow((e + 9) as u32)))
            .collect();
        rows.push(("9Ei", cap));
        rows.push(("9223372036854775807Ki", cap));
        for (input, want) in rows {
            assert_eq!(nanos(input), want, "{input}");
            assert_eq!(nanos(&format!("-{input}")), -want, "-{input}");
            assert_eq!(nanos(&format!("+{input}")), want, "+{input}");
        }
    }

    /// The invalid inputs of upstream `TestQuantityParse` (k8s-translation.md §4.1).
    #[test]
    fn upstream_invalid_inputs() {
        for input in [
            "", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-",
            " 1", "1 ",
        ] {
            assert!(parse(input).is_err(), "{input:?} parsed");
        }
        assert_eq!(kind(""), QuantityErrorKind::Empty);
        assert_eq!(kind("1.1.M"), QuantityErrorKind::Syntax);
        assert_eq!(kind("0.1mi"), QuantityErrorKind::Suffix);
        assert_eq!(kind("1i"), QuantityErrorKind::Suffix);
        assert_eq!(kind("-3.01e-"), QuantityErrorKind::Suffix);
        assert_eq!(kind(" 1"), QuantityErrorKind::Syntax);
    }

    /// Upstream `TestParseQuantity`: values around the int64 limits and their canonical text.
    #[test]
    fn upstream_test_parse_quantity_canonical() {
        let table: &[(&str, &str, &str)] = &[
            (
                "-999999999999999999",
                "-999999999999999999",
                "-999999999999999999",
            ),
            (
                "999999999999999999",
                "999999999999999999",
                "999999999999999999",
            ),
            (
                "-999999999999999999.0",
                "-999999999999999999",
                "-999999999999999999",
            ),
            (
                "999999999999999999.0",
                "999999999999999999",
                "999999999999999999",
            ),
            (
                "-999999999999999999.1",
                "-999999999999999999.1",
                "-999999999999999999100m",
            ),
            (
                "999999999999999999.1",
                "999999999999999999.1",
                "999999999999999999100m",
            ),
            (
                "-9999999999999999999",
                "-9999999999999999999",
                "-9999999999999999999",
            ),
            (
                "9999999999999999999",
                "9999999999999999999",
                "9999999999999999999",
            ),
            ("-1E", "-1000000000000000000", "-1E"),
            ("1E", "1000000000000000000", "1E"),
            ("-1000000000000000000", "-1000000000000000000", "-1E"),
            ("1000000000000000000", "1000000000000000000", "1E"),
            (
                "-9999999999999999999.0",
                "-9999999999999999999",
                "-9999999999999999999",
            ),
            (
                "9999999999999999999.0",
                "9999999999999999999",
                "9999999999999999999",
            ),
            ("-1.0E", "-1000000000000000000", "-1E"),
            ("1.0E", "1000000000000000000", "1E"),
            ("-1000000000000000000.0", "-1000000000000000000", "-1E"),
            ("1000000000000000000.0", "1000000000000000000", "1E"),
            (
                "-9999999999999999999000m",
                "-9999999999999999999",
                "-9999999999999999999",
            ),
            (
                "9999999999999999999000m",
                "9999999999999999999",
                "9999999999999999999",
            ),
            (
                "-9999999999999999999.1",
                "-9999999999999999999.1",
                "-9999999999999999999100m",
            ),
            (
                "9999999999999999999.1",
                "9999999999999999999.1",
                "9999999999999999999100m",
            ),
            (
                "-1.0000000000000000001E",
                "-1000000000000000000.1",
                "-1000000000000000000100m",
            ),
            (
                "1.0000000000000000001E",
                "1000000000000000000.1",
                "1000000000000000000100m",
            ),
            (
                "-1000000000000000000.1",
                "-1000000000000000000.1",
                "-1000000000000000000100m",
            ),
            (
                "1000000000000000000.1",
                "1000000000000000000.1",
                "1000000000000000000100m",
            ),
            (
                "-1.000000000000000001E",
                "-1000000000000000001",
                "-1000000000000000001",
            ),
            (
                "1.000000000000000001E",
                "1000000000000000001",
                "1000000000000000001",
            ),
            (
                "-1000000000000000001",
                "-1000000000000000001",
                "-1000000000000000001",
            ),
            (
                "1000000000000000001",
                "1000000000000000001",
                "1000000000000000001",
            ),
            ("-10E", "-10000000000000000000", "-10E"),
            ("10E", "10000000000000000000", "10E"),
            ("-10000000000000000000", "-10000000000000000000", "-10E"),
            ("10000000000000000000", "10000000000000000000", "10E"),
            ("-10.0E", "-10000000000000000000", "-10E"),
            ("10.0E", "10000000000000000000", "10E"),
            ("-10000000000000000000.0", "-10000000000000000000", "-10E"),
            ("10000000000000000000.0", "10000000000000000000", "10E"),
            ("-10000000000000000000000m", "-10000000000000000000", "-10E"),
            ("10000000000000000000000m", "10000000000000000000", "10E"),
            (
                "-10.0000000000000000001E",
                "-10000000000000000000.1",
                "-10000000000000000000100m",
            ),
            (
                "10.0000000000000000001E",
                "10000000000000000000.1",
                "10000000000000000000100m",
            ),
            (
                "-10000000000000000000.1",
                "-10000000000000000000.1",
                "-10000000000000000000100m",
            ),
            (
                "10000000000000000000.1",
                "10000000000000000000.1",
                "10000000000000000000100m",
            ),
            (
                "-10.000000000000000001E",
                "-10000000000000000001",
                "-10000000000000000001",
            ),
            (
                "10.000000000000000001E",
                "10000000000000000001",
                "10000000000000000001",
            ),
            (
                "-10000000000000000001",
                "-10000000000000000001",
                "-10000000000000000001",
            ),
            (
                "10000000000000000001",
                "10000000000000000001",
                "10000000000000000001",
            ),
            (
                "-9223372036854775809",
                "-9223372036854775809",
                "-9223372036854775809",
            ),
            (
                "9223372036854775806",
                "9223372036854775806",
                "9223372036854775806",
            ),
            (
                "-9223372036854775809.0",
                "-9223372036854775809",
                "-9223372036854775809",
            ),
            (
                "9223372036854775806.0",
                "9223372036854775806",
                "9223372036854775806",
            ),
            (
                "-9223372036854775809000m",
                "-9223372036854775809",
                "-9223372036854775809",
            ),
            (
                "9223372036854775806000m",
                "9223372036854775806",
                "9223372036854775806",
            ),
            (
                "-9223372036854775809.1",
                "-9223372036854775809.1",
                "-9223372036854775809100m",
            ),
            (
                "9223372036854775806.1",
                "9223372036854775806.1",
                "9223372036854775806100m",
            ),
            (
                "-9223372036854775808",
                "-9223372036854775808",
                "-9223372036854775808",
            ),
            (
                "9223372036854775807",
                "9223372036854775807",
                "9223372036854775807",
            ),
            (
                "-9223372036854775808.0",
                "-9223372036854775808",
                "-9223372036854775808",
            ),
            (
                "9223372036854775807.0",
                "9223372036854775807",
                "9223372036854775807",
            ),
            (
                "-9223372036854775808000m",
                "-9223372036854775808",
                "-9223372036854775808",
            ),
            (
                "9223372036854775807000m",
                "9223372036854775807",
                "9223372036854775807",
            ),
            (
                "-9223372036854775808.1",
                "-9223372036854775808.1",
                "-9223372036854775808100m",
            ),
            (
                "9223372036854775807.1",
                "9223372036854775807.1",
                "9223372036854775807100m",
            ),
            (
                "-9223372036854775807",
                "-9223372036854775807",
                "-9223372036854775807",
            ),
            (
                "9223372036854775808",
                "9223372036854775808",
                "9223372036854775808",
            ),
            (
                "-9223372036854775807.0",
                "-9223372036854775807",
                "-9223372036854775807",
            ),
            (
                "9223372036854775808.0",
                "9223372036854775808",
                "9223372036854775808",
            ),
            (
                "-9223372036854775807000m",
                "-9223372036854775807",
                "-9223372036854775807",
            ),
            (
                "9223372036854775808000m",
                "9223372036854775808",
                "9223372036854775808",
            ),
            (
                "-9223372036854775807.1",
                "-9223372036854775807.1",
                "-9223372036854775807100m",
            ),
            (
                "9223372036854775808.1",
                "9223372036854775808.1",
                "9223372036854775808100m",
            ),
        ];
        for &(input, dec, canonical) in table {
            let q = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(q.nanos, plain_nanos(dec), "{input}");
            assert_eq!(q.canonical_decimal(), canonical, "{input}");
        }
    }

    /// Upstream `TestQuantityParseEmit` (decimal outputs) and `TestMilliNewSet`.
    #[test]
    fn upstream_canonical_text() {
        for (input, want) in [
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            (".000000000001Ki", "2n"),
            ("0.0001", "100u"),
            ("1.5", "1500m"),
            ("0", "0"),
        ] {
            assert_eq!(
                parse(input).map(|q| q.canonical_decimal()),
                Ok(want.to_string()),
                "{input}"
            );
            if want != "0" {
                assert_eq!(
                    parse(&format!("-{input}")).map(|q| q.canonical_decimal()),
                    Ok(format!("-{want}"))
                );
            }
        }
        for (m, want) in [
            (0, "0"),
            (1, "1m"),
            (1000, "1"),
            (1_234_000, "1234"),
            (1024, "1024m"),
            (1500, "1500m"),
        ] {
            assert_eq!(format_millicores(MilliCpu(m)), want);
        }
        assert_eq!(format_millicores(MilliCpu(2_000_000)), "2k");
        assert_eq!(format_millicores(MilliCpu(-1500)), "-1500m");
        assert_eq!(format_millicores(MilliCpu(10)), "10m");
        assert_eq!(format_millicores(MilliCpu(100_000)), "100");
        assert_eq!(
            format_millicores(MilliCpu(i64::MAX)),
            "9223372036854775807m"
        );
        assert_eq!(
            Quantity {
                nanos: 10i128.pow(30)
            }
            .canonical_decimal(),
            "1e21"
        );
    }

    /// Upstream `TestScaledValue` (to milli and to units) and `TestQuantityRoundUp` at scale 0.
    #[test]
    fn upstream_scaled_values() {
        assert_eq!(Quantity { nanos: 1 }.milli_value(), 1);
        assert_eq!(Quantity { nanos: 1_000 }.milli_value(), 1);
        assert_eq!(Quantity { nanos: 1_000_000 }.milli_value(), 1);
        assert_eq!(Quantity { nanos: ONE }.milli_value(), 1000);
        assert_eq!(Quantity { nanos: 1 }.value(), 1);
        assert_eq!(parse("9.01").map(|q| q.value()), Ok(10));
        assert_eq!(parse("-9.01").map(|q| q.value()), Ok(-10));
    }

    // -----------------------------------------------------------------------------------------
    // Scanner quirks and limits
    // -----------------------------------------------------------------------------------------

    #[test]
    fn empty_number_quirks() {
        for zero in [
            ".", "+", "-", "k", "m", "Mi", "Ti", "+.", "-.Ki", "e-9", "0Pi", "0.Ei", "0e-10",
            "000", "-0",
        ] {
            assert_eq!(nanos(zero), 0, "{zero:?}");
        }
        // Digit-less text that reaches upstream's inf.Dec path fails with ErrNumeric.
        for numeric in ["Pi", "Ei", "+Pi", ".Ei", "e-10", "-.E-12"] {
            assert_eq!(kind(numeric), QuantityErrorKind::Numeric, "{numeric:?}");
        }
        assert_eq!(
            parse("Pi").map_err(|e| e.hint),
            Err(Some(
                "put a number before \"Pi\", for example \"1Pi\"".into()
            ))
        );
    }

    #[test]
    fn exponents() {
        assert_eq!(nanos("1E"), 10i128.pow(18) * ONE);
        assert_eq!(kind("1e"), QuantityErrorKind::Suffix);
        assert_eq!(nanos("1e+2"), 100 * ONE);
        assert_eq!(nanos("1e-0"), ONE);
        assert_eq!(nanos("1e007"), 10_000_000 * ONE);
        assert_eq!(kind("1e+-2"), QuantityErrorKind::Syntax);
        assert_eq!(kind("1E3E"), QuantityErrorKind::Syntax);
        // Go converts the int64 exponent with int32(), which truncates: 2^32 becomes 0.
        assert_eq!(nanos("1e4294967296"), ONE);
        // 4294967286 truncates to -10: 1e-10 rounds up to 1n.
        assert_eq!(nanos("1e4294967286"), 1);
        assert_eq!(kind("1e99999999999999999999"), QuantityErrorKind::Suffix);
        // -2^31 negates to itself in int32 on the inf.Dec path: a huge value.
        assert_eq!(kind("1e-2147483648"), QuantityErrorKind::TooLarge);
        assert_eq!(nanos("1e-2147483647"), 1);
    }

    #[test]
    fn rounding_and_limits() {
        let long_zeros = format!("0.{}1", "0".repeat(10_000));
        assert_eq!(nanos(&long_zeros), 1);
        assert_eq!(nanos(&format!("-{long_zeros}")), -1);
        assert_eq!(nanos(&format!("1.{}", "0".repeat(10_000))), ONE);
        assert_eq!(nanos(&format!("1.{}1Ki", "0".repeat(40))), 1024 * ONE + 1);
        assert_eq!(nanos("0.0000000001Ki"), 103); // 102.4n rounds up
        assert_eq!(nanos("12E"), 12 * 10i128.pow(18) * ONE); // decimal values are not capped
        assert_eq!(nanos("1.7e29"), 17 * 10i128.pow(28) * ONE);
        assert_eq!(kind("1.8e29"), QuantityErrorKind::TooLarge);
        assert_eq!(kind("1e999"), QuantityErrorKind::TooLarge);
        assert_eq!(kind(&"9".repeat(50)), QuantityErrorKind::TooLarge);
        assert_eq!(nanos("0e999999"), 0);
        assert_eq!(nanos(&format!("{}Ki", "9".repeat(60))), BINARY_CAP_NANOS);
        assert_eq!(nanos(&format!("-{}Ei", "9".repeat(60))), -BINARY_CAP_NANOS);
        assert_eq!(nanos("7Ei"), 7 * (1i128 << 60) * ONE);
        assert_eq!(nanos("8Ei"), BINARY_CAP_NANOS); // 2^63 is one above the cap
        assert!(parse("1.8e29").unwrap_err().reason.contains("too large"));
    }

    #[test]
    fn milli_value_rounding_and_saturation() {
        assert_eq!(milli("0.0015"), 2);
        assert_eq!(milli("-0.0015"), -2); // int64Amount path rounds away from zero
        assert_eq!(milli("-1.5"), -1500);
        assert_eq!(milli("1001u"), 2);
        assert_eq!(milli("1e20"), i64::MAX);
        assert_eq!(milli("-1e20"), i64::MIN);
        assert_eq!(parse("9Ei").map(|q| q.value()), Ok(i64::MAX));
        assert_eq!(parse("-9Ei").map(|q| q.value()), Ok(-i64::MAX));
        assert_eq!(Quantity { nanos: i128::MAX }.milli_value(), i64::MAX);
        assert_eq!(Quantity { nanos: i128::MIN }.milli_value(), i64::MIN);
        assert_eq!(Quantity { nanos: i128::MIN }.value(), i64::MIN);
        assert_eq!(parse("1.5").map(|q| q.millicpu()), Ok(MilliCpu(1500)));
    }

    #[test]
    fn comparisons_and_sums() {
        assert_eq!(parse("1"), parse("1000m"));
        assert_eq!(parse("1"), parse("1e0"));
        assert!(parse("1Ki").unwrap_or_default() > parse("1k").unwrap_or_default());
        assert!(parse("-1").unwrap_or_default() < parse("0").unwrap_or_default());
        assert!(parse("-1").unwrap_or_default().is_negative());
        assert!(parse("-0").unwrap_or_default().is_zero());
        let total: Quantity = ["100m", "0.25", "1n"]
            .iter()
            .filter_map(|s| parse(s).ok())
            .sum();
        assert_eq!(total.nanos, 350_000_001);
        assert_eq!(total.milli_value(), 351);
        assert_eq!(
            (Quantity { nanos: i128::MAX } + Quantity { nanos: 1 }).nanos,
            i128::MAX
        );
        assert_eq!(
            Quantity::from_millicores(MilliCpu(250)),
            parse("250m").unwrap_or_default()
        );
    }

    #[test]
    fn manifest_and_cpu_entry_points() {
        assert_eq!(parse_manifest(" 1"), parse("1"));
        assert_eq!(parse_manifest("\t500m\n"), parse("500m"));
        assert_eq!(parse_manifest("\u{a0}2\u{3000}"), parse("2"));
        assert_eq!(
            parse_manifest("   ").map_err(|e| e.kind),
            Err(QuantityErrorKind::Empty)
        );
        let e = parse_manifest(" 1,5 ").unwrap_err();
        assert_eq!(e.input, " 1,5 ");
        assert_eq!(
            e.to_string(),
            "invalid quantity \" 1,5 \": unexpected ',' after \"1\""
        );
        assert_eq!(parse_cpu(" 250m "), Ok(MilliCpu(250)));
        assert_eq!(parse_cpu("0.0001"), Ok(MilliCpu(1)));
        assert_eq!(parse_cpu("-0"), Ok(MilliCpu(0)));
        let neg = parse_cpu("-1").unwrap_err();
        assert_eq!(neg.kind, QuantityErrorKind::Negative);
        assert_eq!(neg.reason, "CPU cannot be negative");
        assert_eq!(
            neg.hint.as_deref(),
            Some("did you mean \"1\"? To leave CPU unlimited, omit the limit instead")
        );
        assert_eq!(
            parse_cpu("-1e999").map_err(|e| e.kind),
            Err(QuantityErrorKind::TooLarge)
        );
    }

    #[test]
    fn helper_functions() {
        assert_eq!(suffix_of("500m"), Some("m"));
        assert_eq!(suffix_of("0.5Mi"), Some("Mi"));
        assert_eq!(suffix_of(" 1k "), Some("k"));
        assert_eq!(suffix_of("2M"), Some("M"));
        assert_eq!(suffix_of("1e3"), Some("e3"));
        assert_eq!(suffix_of("1K"), Some("K"));
        assert_eq!(suffix_of("2"), None);
        assert_eq!(suffix_of("1,5"), None);
        assert_eq!(suffix_of(""), None);
        let sub = |s: &str| has_sub_milli_precision(&parse(s).unwrap_or_default());
        assert!(sub("0.0001"));
        assert!(sub("1001u"));
        assert!(sub("1.0005"));
        assert!(sub("-1n"));
        assert!(!sub("1.5"));
        assert!(!sub("100m"));
        assert!(!sub("1Ki"));
        assert_eq!(
            QuantityErrorKind::Syntax.upstream_error().as_deref(),
            Some("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        );
        assert_eq!(
            QuantityErrorKind::Suffix.upstream_error().as_deref(),
            Some("unable to parse quantity's suffix")
        );
        assert_eq!(
            QuantityErrorKind::Numeric.upstream_error().as_deref(),
            Some("unable to parse numeric part of quantity")
        );
        assert_eq!(QuantityErrorKind::TooLarge.upstream_error(), None);
    }

    #[test]
    fn error_reasons() {
        let reason = |s: &str| parse(s).map_err(|e| e.reason).err().unwrap_or_default();
        assert_eq!(reason(""), "the value is empty");
        assert_eq!(
            reason("one"),
            "unexpected 'o' at the start (a quantity starts with a sign, a digit or \".\")"
        );
        assert_eq!(reason("1 "), "leading or trailing white space is not allowed here (a manifest value is trimmed first)");
        assert_eq!(
            reason("500 m"),
            "white space is not allowed inside a quantity"
        );
        assert!(reason("1K").starts_with("unknown suffix \"K\""));
        assert_eq!(reason("3e+"), "exponent \"+\" is not an integer");
        assert_eq!(
            reason("Ei"),
            "no digits before the suffix \"Ei\" (apimachinery rejects this form)"
        );
    }

    // -----------------------------------------------------------------------------------------
    // Hints
    // -----------------------------------------------------------------------------------------

    /// The quoted candidates after "did you mean", in order.
    fn candidates(hint: &str) -> Vec<String> {
        let Some(rest) = hint.strip_prefix("did you mean ") else {
            return Vec::new();
        };
        let list = rest.split('?').next().unwrap_or("");
        list.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    const HINT_CASES: &[(&str, &str)] = &[
        ("1,5", "did you mean \"1.5\" or \"1500m\"?"),
        ("0,25", "did you mean \"0.25\" or \"250m\"?"),
        ("1,500", "did you mean \"1.500\", \"1500m\" or \"1500\"?"),
        ("1,000,000", "did you mean \"1000000\"?"),
        ("1_000", "did you mean \"1000\"?"),
        ("500 m", "did you mean \"500m\"?"),
        ("1.5 m", "did you mean \"1.5m\"?"),
        (
            " 2",
            "did you mean \"2\"? (remove the surrounding white space)",
        ),
        (
            "1K",
            "did you mean \"1k\"? (the kilo suffix is a lower-case \"k\"",
        ),
        ("1ki", "did you mean \"1Ki\"?"),
        ("1KI", "did you mean \"1Ki\"?"),
        ("2g", "did you mean \"2G\"?"),
        ("500mi", "did you mean \"500m\" or \"500Mi\"?"),
        ("0.5mi", "did you mean \"0.5m\" or \"0.5Mi\"?"),
        ("1Gb", "did you mean \"1G\" or \"1Gi\"?"),
        ("1kB", "did you mean \"1k\" or \"1Ki\"?"),
        ("512MiB", "did you mean \"512Mi\"?"),
        (
            "1 cpu",
            "did you mean \"1\"? (drop the unit: a plain number counts CPUs",
        ),
        ("2cores", "did you mean \"2\"?"),
        ("1.5CPU", "did you mean \"1.5\" or \"1500m\"?"),
        ("0.5 vCPUs", "did you mean \"0.5\" or \"500m\"?"),
        (
            "500 millicores",
            "did you mean \"500m\"? (millicores are written with the suffix \"m\")",
        ),
        ("250mcpu", "did you mean \"250m\"?"),
        (
            "100%",
            "did you mean \"1\"? (percentages are not quantities; 100% of one CPU is 1)",
        ),
        ("50%", "did you mean \"0.5\" or \"500m\"?"),
        (
            "\"500m\"",
            "did you mean \"500m\"? (remove the quotes inside the value)",
        ),
        ("\u{FF11}", "did you mean \"1\"? (use plain ASCII"),
        (
            "500\u{B5}",
            "did you mean \"500u\"? (micro is written \"u\")",
        ),
        ("one", "did you mean \"1\"?"),
        ("half", "did you mean \"0.5\" or \"500m\"?"),
        (
            "0x10",
            "did you mean \"16\"? (hexadecimal is not supported)",
        ),
        (
            "1/2",
            "did you mean \"0.5\" or \"500m\"? (fractions are not supported)",
        ),
        ("1/3", "fractions are not supported: write a decimal number"),
        ("unlimited", "omit the limit"),
        ("\u{221E}", "omit the limit"),
        ("", "or millicores such as \"500m\""),
        ("1e", "\"E\" alone means exa"),
        ("3e+", "an exponent needs digits after its sign"),
        ("1e2.5", "exponents must be whole numbers"),
        ("1e3k", "use either an exponent or a suffix, not both"),
        ("5em", "use either an exponent or a suffix, not both"),
        ("1i", "\"i\" needs a binary prefix"),
        ("1.2.3", "only one decimal point is allowed"),
        ("--1", "use at most one sign"),
        (
            "1+1.0M",
            "a sign or decimal point may only appear at the start",
        ),
        ("2m2", "nothing may follow the suffix"),
        ("e-10", "put a number before \"e-10\""),
        ("aoeu", "a quantity is a number with an optional suffix"),
        ("0.1am", "a quantity is a number with an optional suffix"),
    ];

    #[test]
    fn hints_are_specific() {
        let mut failures = Vec::new();
        for &(input, want) in HINT_CASES {
            let got = hint(input);
            if !got.contains(want) {
                failures.push(format!("{input:?}: hint {got:?} does not contain {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn hint_suggestions_parse_and_mean_the_same_amount() {
        for &(input, _) in HINT_CASES {
            let h = hint(input);
            for c in candidates(&h) {
                assert!(
                    parse(&c).is_ok(),
                    "{input:?}: suggestion {c:?} does not parse"
                );
            }
        }
        // "1,5" offers two spellings of one amount.
        let c = candidates(&hint("1,5"));
        assert_eq!(c.len(), 2);
        assert_eq!(parse(&c[0]), parse(&c[1]));
        // A manifest value is trimmed first, so no white-space note there.
        let e = parse_manifest(" 1,5 ").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("did you mean \"1.5\" or \"1500m\"? (the decimal point is \".\")")
        );
        assert_eq!(parse("1e999").unwrap_err().hint, None);
    }

    // -----------------------------------------------------------------------------------------
    // Properties
    // -----------------------------------------------------------------------------------------

    const DECIMAL_SUFFIXES: &[(&str, i32)] = &[
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("", 0),
        ("k", 3),
        ("M", 6),
        ("G", 9),
    ];
    const BINARY_SUFFIXES: &[(&str, u32)] = &[("Ki", 10), ("Mi", 20), ("Gi", 30)];

    /// A decimal written as `<int>.<frac><suffix>` and its exact value as the fraction
    /// num/den, computed with u128 arithmetic independently of the parser.
    #[derive(Debug, Clone)]
    struct Written {
        text: String,
        num: u128,
        den: u128,
    }

    fn written(
        max_int: u64,
        max_frac_digits: usize,
        large_suffixes: bool,
    ) -> impl Strategy<Value = Written> {
        // Without large suffixes: n u m "" k and Ki only, so products of two values stay
        // below 10^34 (u128 holds 3.4e38).
        let (dec_count, bin_count) = if large_suffixes {
            (DECIMAL_SUFFIXES.len(), BINARY_SUFFIXES.len())
        } else {
            (5, 1)
        };
        let suffixes = dec_count + bin_count;
        (
            0..=max_int,
            proptest::collection::vec(0u8..10, 0..=max_frac_digits),
            0..suffixes,
            any::<bool>(),
        )
            .prop_map(move |(int, frac, s, dot)| {
                let frac_text: String = frac.iter().map(|d| char::from(b'0' + d)).collect();
                let frac_value = frac.iter().fold(0u128, |acc, &d| acc * 10 + u128::from(d));
                let mut num = u128::from(int) * 10u128.pow(frac.len() as u32) + frac_value;
                let mut den = 10u128.pow(frac.len() as u32);
                let suffix = if s < dec_count {
                    let (sfx, e) = DECIMAL_SUFFIXES[s];
                    if e >= 0 {
                        num *= 10u128.pow(e as u32);
                    } else {
                        den *= 10u128.pow((-e) as u32);
                    }
                    sfx
                } else {
                    let (sfx, bits) = BINARY_SUFFIXES[s - dec_count];
                    num <<= bits;
                    sfx
                };
                let point = if frac.is_empty() && !dot { "" } else { "." };
                Written {
                    text: format!("{int}{point}{frac_text}{suffix}"),
                    num,
                    den,
                }
            })
    }

    fn ceil_div(a: u128, b: u128) -> u128 {
        a / b + u128::from(!a.is_multiple_of(b))
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in any::<String>()) {
            let _ = parse(&s);
            let _ = parse_manifest(&s);
            let _ = parse_cpu(&s);
            let _ = suffix_of(&s);
        }

        #[test]
        fn never_panics_on_quantity_alphabet(s in "[0-9.+\\-eEinumkKMGTP ,%_]{0,40}") {
            let _ = parse(&s);
            let _ = parse_manifest(&s);
            let _ = parse_cpu(&s);
            let _ = suffix_of(&s);
        }

        #[test]
        fn hint_candidates_always_parse(s in "[0-9.+\\-eEinumkKMGTPbB ,%_/a-z]{0,16}") {
            if let Err(e) = parse(&s) {
                for c in candidates(&e.hint.unwrap_or_default()) {
                    prop_assert!(parse(&c).is_ok(), "{:?} suggested {:?}", s, c);
                }
            }
        }

        #[test]
        fn signs_mirror_the_value(s in "[0-9.eEinumkKMGTP]{1,20}") {
            let plain = parse(&s);
            let neg = parse(&format!("-{s}"));
            let pos = parse(&format!("+{s}"));
            prop_assert_eq!(plain.as_ref().map(|q| -q.nanos).map_err(|e| e.kind), neg.map(|q| q.nanos).map_err(|e| e.kind));
            prop_assert_eq!(plain.map(|q| q.nanos).map_err(|e| e.kind), pos.map(|q| q.nanos).map_err(|e| e.kind));
        }

        #[test]
        fn manifest_trims_white_space(s in "[0-9.eEinumkKMGTP]{1,12}", pad in "[ \t\n]{0,3}") {
            let padded = format!("{pad}{s}{pad}");
            prop_assert_eq!(parse_manifest(&padded).map_err(|e| e.kind), parse(&s).map_err(|e| e.kind));
        }

        #[test]
        fn millicores_round_trip(m in 0i64..=1_000_000_000) {
            let text = format_millicores(MilliCpu(m));
            let q = parse(&text);
            prop_assert_eq!(q.as_ref().map(|q| q.milli_value()), Ok(m), "{}", text);
            prop_assert_eq!(q.map(|q| q.canonical_decimal()), Ok(text.clone()));
            prop_assert_eq!(parse_cpu(&text), Ok(MilliCpu(m)));
        }

        #[test]
        fn decimals_match_exact_arithmetic(w in written(1_000_000, 12, true)) {
            let q = parse(&w.text);
            prop_assert!(q.is_ok(), "{} failed", w.text);
            let q = q.unwrap_or_default();
            let want_nanos = ceil_div(w.num * 1_000_000_000, w.den);
            let want_milli = ceil_div(w.num * 1_000, w.den);
            prop_assert_eq!(q.nanos, want_nanos as i128, "{}", w.text);
            prop_assert_eq!(q.milli_value(), want_milli as i64, "{}", w.text);
            prop_assert_eq!(has_sub_milli_precision(&q), q.nanos % 1_000_000 != 0);
        }

        #[test]
        fn milli_value_is_monotonic(a in written(10_000, 9, false), b in written(10_000, 9, false)) {
            let (qa, qb) = (parse(&a.text).unwrap_or_default(), parse(&b.text).unwrap_or_default());
            // a <= b  ⇔  a.num × b.den <= b.num × a.den (all below 10^34).
            if a.num * b.den <= b.num * a.den {
                prop_assert!(qa.milli_value() <= qb.milli_value(), "{} vs {}", a.text, b.text);
                prop_assert!(qa <= qb, "{} vs {}", a.text, b.text);
            } else {
                prop_assert!(qa.milli_value() >= qb.milli_value(), "{} vs {}", a.text, b.text);
                prop_assert!(qa >= qb, "{} vs {}", a.text, b.text);
            }
        }
    }
}
