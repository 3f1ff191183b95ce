//! Source identity and spans (pure core).
//!
//! Spans stay byte offsets until rendering; [`LineIndex`] turns them into 1-based
//! `line:column` (column counted in characters) so every output format agrees.

use serde::Serialize;

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
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
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

/// One input text with its display name and line index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display name (path as given, or `<stdin>`; bytes of a path that are not UTF-8 shown as
    /// `\xNN`).
    pub name: String,
    /// The file's path when it was read from one whose name is not valid UTF-8 (so that `name`
    /// cannot be used to write it back); `None` otherwise.
    pub path: Option<std::path::PathBuf>,
    /// Full text (valid UTF-8).
    pub text: String,
    /// Line starts of `text`.
    pub lines: LineIndex,
}

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
        }
    }

    /// The path to write the file back to: its path, else its name.
    pub fn write_path(&self) -> std::path::PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(&self.name))
    }

    /// Position of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let (line, column) = self.lines.line_col(&self.text, offset);
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
    /// Number of sources.
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
}
