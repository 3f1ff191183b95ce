//! The piecewise input reader (`input::split_pieces`, the splitting `read_pieces` uses for
//! every file and standard input): the pieces, concatenated, give back the input without its
//! byte-order mark; each piece starts after the lines and bytes before it, every piece but the
//! first starts at a document marker, positions inside a piece count lines in the whole input,
//! and an unloaded piece reads back the same text. An error names the first bad line.
//!
//! Input: two bytes choose the limits (small, so short inputs cross them), one the reader's
//! buffer size, the rest is the input.
#![no_main]
use kcpu::input::{split_pieces, PieceLimits};
use kcpu::source::{ReadAt, SourceFile};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

/// The input's bytes, for reading unloaded pieces back.
#[derive(Debug)]
struct Bytes(Vec<u8>);

impl ReadAt for Bytes {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| std::io::ErrorKind::InvalidInput)?;
        let src = self
            .0
            .get(start..start + buf.len())
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

fn starts_document(text: &str) -> bool {
    text.strip_prefix("---")
        .is_some_and(|rest| matches!(rest.as_bytes().first(), None | Some(b'\n' | b'\r' | b' ' | b'\t')))
}

/// Checks the pieces read so far against the input `body` (without the byte-order mark).
fn check_pieces(body: &[u8], pieces: &[SourceFile], limits: PieceLimits) -> usize {
    let mut at = 0usize;
    for (i, p) in pieces.iter().enumerate() {
        let text = p.with_text(|t, _| t.to_string());
        assert_eq!(p.first_byte, at as u64, "piece {i} starts after the bytes before it");
        let before = &body[..at];
        let lines_before = before.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(p.first_line, lines_before, "piece {i} starts after the lines before it");
        assert_eq!(
            &body[at..at + text.len()],
            text.as_bytes(),
            "piece {i} is the next stretch of the input"
        );
        assert!(text.len() <= limits.max_piece_bytes, "piece {i} within the limit");
        if i > 0 {
            assert!(starts_document(&text), "piece {i} starts at a marker: {text:?}");
            let prev = pieces[i - 1].with_text(|t, _| t.len());
            assert!(prev >= limits.piece_bytes, "piece {} ended early", i - 1);
        }
        if pieces.len() > 1 {
            assert!(!text.is_empty(), "only an empty input has an empty piece");
        }
        // Every line start, and the end, is at column 1 of its line in the whole input.
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(j, _)| j + 1))
            .collect::<Vec<_>>();
        for (k, &o) in starts.iter().enumerate() {
            let pos = p.position(o);
            assert_eq!((pos.line, pos.column), (lines_before + k + 1, 1), "piece {i} offset {o}");
        }
        // The last character of the piece: its column counts characters of its line.
        if let Some((o, _)) = text.char_indices().last() {
            let line_start = text[..o].rfind('\n').map_or(0, |j| j + 1);
            let pos = p.position(o);
            assert_eq!(pos.line, lines_before + text[..o].matches('\n').count() + 1);
            assert_eq!(pos.column, text[line_start..o].chars().count() + 1);
        }
        at += text.len();
    }
    at
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, input @ ..] = data else {
        return;
    };
    let limits = PieceLimits {
        piece_bytes: 1 + usize::from(*a) % 64,
        max_piece_bytes: 1 + usize::from(*a) % 64 + usize::from(*b) * 16,
    };
    let capacity = 1 + usize::from(*c) % 32;
    let mut reader = std::io::BufReader::with_capacity(capacity, input);
    let backing: Arc<dyn ReadAt> = Arc::new(Bytes(input.to_vec()));
    let mut pieces = Vec::new();
    let res = split_pieces("fuzz", &mut reader, limits, Some(backing), &mut |mut p| {
        let text = p.text.clone();
        p.unload();
        assert_eq!(p.with_text(|t, _| t.to_string()), text, "reads back");
        pieces.push(p);
    });
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let read = check_pieces(body, &pieces, limits);
    // The first line with a NUL byte or invalid UTF-8 (a character never spans a newline).
    let lines: Vec<&[u8]> = body.split_inclusive(|&b| b == b'\n').collect();
    let first_bad = lines
        .iter()
        .position(|l| l.contains(&0) || std::str::from_utf8(l).is_err());
    match res {
        Ok(()) => {
            assert!(!pieces.is_empty(), "an empty input still gives one piece");
            assert_eq!(read, body.len(), "the pieces are the whole input");
            assert_eq!(first_bad, None, "a bad line is an error");
        }
        Err(e) => {
            let m = &e.message;
            assert!(read < body.len() || body.is_empty() || first_bad.is_some(), "{m}");
            if m.contains("NUL bytes") {
                let bad = first_bad.expect("a NUL byte");
                assert!(lines[bad].contains(&0), "{m}");
            } else if let Some(rest) = m.strip_prefix("invalid UTF-8 at line ") {
                let bad = first_bad.expect("a bad line");
                assert!(!lines[bad].contains(&0), "{m}");
                let valid = std::str::from_utf8(body).expect_err("invalid").valid_up_to();
                let line_start: usize = lines[..bad].iter().map(|l| l.len()).sum();
                let col = String::from_utf8_lossy(&body[line_start..valid]).chars().count() + 1;
                let want = format!("{}, column {col} (byte offset {valid});", bad + 1);
                assert!(rest.starts_with(&want), "{m} (want {want})");
            } else {
                let (_, rest) = m.split_once("before line ").expect("the limit error");
                let line: usize = rest.split(';').next().and_then(|n| n.parse().ok()).expect("a line");
                assert!(line >= 1 && line <= lines.len(), "{m}");
                assert!(first_bad.map_or(true, |bad| line - 1 < bad), "{m}");
                // The pieces before the error end at a line start before the long stretch.
                assert!(read <= lines[..line - 1].iter().map(|l| l.len()).sum::<usize>(), "{m}");
            }
        }
    }
});
