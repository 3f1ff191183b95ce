//! Escaping untrusted text for human output (pure core).
//!
//! Names, messages and source lines come from the user's manifests. In text, Markdown and HTML
//! output a control character in them could start a new line that a CI runner reads as a
//! workflow command (`\n::error file=…::`), move the cursor, retitle the terminal (`ESC ]`) or
//! reorder what the reader sees (Unicode bidirectional controls, "Trojan Source",
//! CVE-2021-42574). Every such character is printed as its Rust escape (`\n`, `\u{1b}`,
//! `\u{202e}`) instead; everything else is unchanged. Machine formats (JSON, YAML, SARIF,
//! JUnit) escape with their own syntax and keep the exact text.

use std::borrow::Cow;

/// True for characters that must not reach a terminal or log raw: C0 and C1 controls, DEL,
/// and the Unicode bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every [`is_unsafe`] character replaced by its escape; borrowed when nothing
/// needed escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`], except that `\n` and `\t` are kept (for multi-line text the renderer itself
/// lays out, such as a diff).
pub fn escape_keep_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && c != '\n' && c != '\t' {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_only() {
        assert_eq!(escape("web-1"), "web-1");
        assert!(matches!(escape("web-1"), Cow::Borrowed(_)));
        assert_eq!(escape("p\n::error x"), "p\\n::error x");
        assert_eq!(escape("a\u{1b}[31mb\u{7}"), "a\\u{1b}[31mb\\u{7}");
        assert_eq!(escape("a\r\u{9b}b"), "a\\r\\u{9b}b");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape("naïve 名前 \"q\" \\"), "naïve 名前 \"q\" \\");
        assert_eq!(escape_keep_lines("a\n\tb\u{1b}"), "a\n\tb\\u{1b}");
    }
}
