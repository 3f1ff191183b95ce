//! Source identity and spans (pure core).
//!
//! Spans stay byte offsets until rendering; [`LineIndex`] turns them into 1-based
//! `line:column` (column counted in characters) so every output format agrees.

use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Index of an input in a [`SourceSet`](crate::source::SourceSet)-like list owned by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct SourceId(pub u32);

/// A byte range in one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Span {
    /// Which source the range is in.
    pub source: SourceId,
    /// Start byte offset (inclusive).
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` in `source`.
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span {
            source,
            start,
            end: end.max(start),
        }
    }
}

/// A resolved 1-based position, for rendering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    /// Display name of the file (`-` or `<stdin>` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Line-start table for one source text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

/// The index of an empty text (one line starting at 0): an unloaded piece holds it, and an
/// empty piece, which is never read back, answers positions from it.
impl Default for LineIndex {
    fn default() -> LineIndex {
        LineIndex::new("")
    }
}

impl LineIndex {
    /// Builds the index of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based (line, column) of byte `offset` in `text`; the column counts characters.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of 1-based `line` without its line terminator.
    pub fn line_text<'a>(&self, text: &'a str, line: usize) -> &'a str {
        let Some(&start) = self.starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self.starts.get(line).copied().unwrap_or(text.len());
        text.get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// Byte offset of the start of 1-based `line` (clamped to the last line).
    pub fn line_start(&self, line: usize) -> usize {
        let i = line.saturating_sub(1).min(self.starts.len() - 1);
        self.starts[i]
    }
}

/// One input text with its display name and line index: a whole file, or one piece of a
/// large file or stream ([`crate::input::collect`] reads inputs in pieces that end at document
/// boundaries, so memory does not grow with the input).
///
/// A piece is read, checked and then *unloaded*: its text is dropped and read back from the
/// file (or from the spooled copy of standard input) when it is needed again, through
/// [`SourceFile::with_text`]. One unloaded piece is kept in memory at a time.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display name (path as given, or `<stdin>`; bytes of a path that are not UTF-8 shown as
    /// `\xNN`).
    pub name: String,
    /// The file's path when it was read from one whose name is not valid UTF-8 (so that `name`
    /// cannot be used to write it back); `None` otherwise.
    pub path: Option<std::path::PathBuf>,
    /// Full text (valid UTF-8); empty while the piece is unloaded.
    pub text: String,
    /// Line starts of `text`.
    pub lines: LineIndex,
    /// Lines of the file before this piece (0 for a whole file).
    pub first_line: usize,
    /// Byte offset of this piece in the file (after a byte-order mark).
    pub first_byte: u64,
    backing: Option<Backing>,
}

/// Something a piece can be read back from by offset. The input shell implements it for
/// files, so this pure module names no file system type.
pub trait ReadAt: std::fmt::Debug + Send + Sync {
    /// Fills `buf` with the bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

/// Where an unloaded piece is read back from.
#[derive(Debug, Clone)]
pub struct Backing {
    /// The file (or the spooled copy of standard input).
    pub file: Arc<dyn ReadAt>,
    /// Offset of the piece in `file`.
    pub offset: u64,
    /// Length of the piece in bytes.
    pub len: usize,
}

/// The one piece read back most recently: (file, offset) → text and line index. The cache
/// holds the file itself, so that its address cannot be reused by another file while it is
/// the key (a fuzz run found pieces of a new input read back as a dropped one's text).
type Cached = (Arc<dyn ReadAt>, u64, Arc<(String, LineIndex)>);
static READ_BACK: Mutex<Option<Cached>> = Mutex::new(None);

impl SourceFile {
    /// Wraps a text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let lines = LineIndex::new(&text);
        SourceFile {
            name: name.into(),
            path: None,
            text,
            lines,
            first_line: 0,
            first_byte: 0,
            backing: None,
        }
    }

    /// The path to write the file back to: its path, else its name.
    pub fn write_path(&self) -> std::path::PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(&self.name))
    }

    /// A piece of a file: `text` starts after `first_line` lines, at byte `first_byte`, and
    /// can be read back from `backing` once unloaded.
    pub fn piece(
        name: impl Into<String>,
        text: String,
        first_line: usize,
        first_byte: u64,
        backing: Option<Backing>,
    ) -> SourceFile {
        SourceFile {
            first_line,
            first_byte,
            backing,
            ..SourceFile::new(name, text)
        }
    }

    /// Drops the text of a piece that can be read back; a no-op otherwise.
    pub fn unload(&mut self) {
        if self.backing.is_some() {
            self.text = String::new();
            self.lines = LineIndex::default();
        }
    }

    fn loaded(&self) -> bool {
        self.backing.is_none()
            || !self.text.is_empty()
            || self.backing.as_ref().is_some_and(|b| b.len == 0)
    }

    /// Calls `f` with the text and line index, reading an unloaded piece back (an unreadable
    /// piece reads as empty: it was read and checked before, so only a file changed or
    /// removed meanwhile gets there).
    pub fn with_text<R>(&self, f: impl FnOnce(&str, &LineIndex) -> R) -> R {
        let Some(b) = self.backing.as_ref().filter(|_| !self.loaded()) else {
            return f(&self.text, &self.lines);
        };
        let same = |c: &Cached| {
            std::ptr::addr_eq(Arc::as_ptr(&c.0), Arc::as_ptr(&b.file)) && c.1 == b.offset
        };
        let hit = READ_BACK
            .lock()
            .ok()
            .and_then(|c| c.as_ref().filter(|c| same(c)).map(|c| c.2.clone()));
        let data = hit.unwrap_or_else(|| {
            let mut buf = vec![0u8; b.len];
            let text = match b.file.read_exact_at(&mut buf, b.offset) {
                Ok(()) => String::from_utf8(buf).unwrap_or_default(),
                Err(_) => String::new(),
            };
            let lines = LineIndex::new(&text);
            let data = Arc::new((text, lines));
            if let Ok(mut c) = READ_BACK.lock() {
                *c = Some((b.file.clone(), b.offset, data.clone()));
            }
            data
        });
        f(&data.0, &data.1)
    }

    /// 1-based line (counted in the whole file) and character column of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let (line, col) = self.with_text(|t, l| l.line_col(t, offset));
        (line + self.first_line, col)
    }

    /// The text of the line holding byte `offset`, without its terminator.
    pub fn line_text_at(&self, offset: usize) -> String {
        self.with_text(|t, l| {
            let (line, _) = l.line_col(t, offset);
            l.line_text(t, line).to_string()
        })
    }

    /// The text of bytes `start..end`, if they are inside the piece.
    pub fn slice(&self, start: usize, end: usize) -> Option<String> {
        self.with_text(|t, _| t.get(start..end).map(str::to_string))
    }

    /// Byte offset in the whole file of byte `offset` of this piece.
    pub fn file_byte(&self, offset: usize) -> u64 {
        self.first_byte + offset as u64
    }

    /// Position of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let (line, column) = self.line_col(offset);
        Position {
            file: self.name.clone(),
            line,
            column,
        }
    }
}

/// The inputs of one invocation, indexed by [`SourceId`].
#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    files: Vec<SourceFile>,
}

impl SourceSet {
    /// Adds a source and returns its id.
    pub fn add(&mut self, file: SourceFile) -> SourceId {
        self.files.push(file);
        SourceId((self.files.len() - 1) as u32)
    }
    /// The source with id `id`.
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }
    /// Resolves a span's start to a position (`?:0:0` for an unknown source).
    pub fn position(&self, span: Span) -> Position {
        match self.get(span.source) {
            Some(f) => f.position(span.start),
            None => Position {
                file: "?".into(),
                line: 0,
                column: 0,
            },
        }
    }
    /// All sources in order.
    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f))
    }
    /// Mutable access to the source with id `id` (to unload a piece once it is read).
    pub fn get_mut(&mut self, id: SourceId) -> Option<&mut SourceFile> {
        self.files.get_mut(id.0 as usize)
    }
    /// Number of input files (a large file read in pieces counts once).
    pub fn file_count(&self) -> usize {
        let mut n = 0;
        let mut last: Option<&str> = None;
        for f in &self.files {
            if f.first_byte == 0 || last != Some(f.name.as_str()) {
                n += 1;
            }
            last = Some(f.name.as_str());
        }
        n
    }
    /// Number of sources (pieces).
    pub fn len(&self) -> usize {
        self.files.len()
    }
    /// True when no source was added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let t = "ab\ncé: x\n";
        let idx = LineIndex::new(t);
        assert_eq!(idx.line_col(t, 0), (1, 1));
        assert_eq!(idx.line_col(t, 3), (2, 1));
        // 'é' is two bytes; the ':' after it is the 3rd character.
        assert_eq!(idx.line_col(t, 6), (2, 3));
        assert_eq!(idx.line_text(t, 2), "cé: x");
        assert_eq!(idx.line_text(t, 9), "");
    }

    #[derive(Debug)]
    struct Bytes(Vec<u8>);

    impl ReadAt for Bytes {
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
            let start = offset as usize;
            buf.copy_from_slice(&self.0[start..start + buf.len()]);
            Ok(())
        }
    }

    fn unloaded(file: &Arc<dyn ReadAt>, text: &str, first_line: usize) -> SourceFile {
        let backing = Backing {
            file: file.clone(),
            offset: 0,
            len: text.len(),
        };
        let mut p = SourceFile::piece("p", text.to_string(), first_line, 0, Some(backing));
        p.unload();
        p
    }

    /// Fuzz regression `fuzz/regressions/pieces/crash-28d86c…`: an empty input is one empty
    /// piece; unloaded, its positions used to index an empty line table (overflow panic).
    #[test]
    fn an_unloaded_empty_piece_has_positions() {
        let file: Arc<dyn ReadAt> = Arc::new(Bytes(Vec::new()));
        let p = unloaded(&file, "", 3);
        assert_eq!(p.line_col(0), (4, 1));
        assert_eq!(p.line_text_at(0), "");
        assert_eq!(LineIndex::default().line_start(7), 0);
    }

    /// Fuzz regression `fuzz/regressions/pieces/crash-c08de4…`: the read-back cache was keyed
    /// by the file's address, so a file allocated where a dropped one was read back the dropped
    /// file's text. The cache now holds the file, so its address stays taken.
    #[test]
    fn the_read_back_cache_keeps_its_file_alive() {
        let file: Arc<dyn ReadAt> = Arc::new(Bytes(b"a: 1\n".to_vec()));
        let addr = Arc::as_ptr(&file) as *const () as usize;
        let p = unloaded(&file, "a: 1\n", 0);
        assert_eq!(p.slice(0, 4).as_deref(), Some("a: 1"));
        drop(p);
        drop(file);
        // Files of the same size, until one lands where the dropped one was (the allocator
        // hands that address out at once when nothing holds it).
        let mut held = Vec::new();
        for _ in 0..1000 {
            let other: Arc<dyn ReadAt> = Arc::new(Bytes(b"b: 2\n".to_vec()));
            if Arc::as_ptr(&other) as *const () as usize == addr {
                let q = unloaded(&other, "b: 2\n", 0);
                assert_eq!(q.slice(0, 4).as_deref(), Some("b: 2"), "its own text");
                break;
            }
            held.push(other);
        }
    }
}
