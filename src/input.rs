//! Input collection: files, directories and stdin → a [`SourceSet`] (I/O shell).
//!
//! Directories are walked recursively for `*.yaml`, `*.yml` and `*.json` (hidden directories
//! and files skipped), and paths are sorted so output is deterministic. Files named explicitly are read
//! whatever their extension. Binary files, invalid UTF-8, unreadable paths and oversized files
//! become [`InputError`]s; the other inputs are still read.

use crate::source::{ReadAt, SourceFile, SourceSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Pieces are read back from the file they were read from (or the spooled standard input).
impl ReadAt for std::fs::File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

/// Largest file read whole ([`read_one`]: `check --fix`, which rewrites whole files, and
/// `recommend`'s manifest): with its parsed objects it stays below 256 MB of memory. Other
/// reads go in pieces and have no size limit.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Why an input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct InputError {
    /// The path as given (or `<stdin>`).
    pub path: String,
    /// What went wrong, with a hint.
    pub message: String,
}

/// The readable inputs and the errors for the others.
#[derive(Debug, Default)]
pub struct Collected {
    /// Readable sources, in order.
    pub sources: SourceSet,
    /// Inputs that could not be read.
    pub errors: Vec<InputError>,
}

/// Expands `inputs` (paths, directories, `-`) into the list of files to read, in order. Files
/// found in directories keep their exact path, also when it is not valid UTF-8.
pub fn expand(inputs: &[String]) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        if input == "-" {
            files.push(PathBuf::from("-"));
            continue;
        }
        let p = Path::new(input);
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                walk(p, &mut found, &mut errors);
                found.sort();
                if found.is_empty() {
                    errors.push(InputError {
                        path: input.clone(),
                        message: "directory has no *.yaml, *.yml or *.json files".into(),
                    });
                }
                files.extend(found);
            }
            Ok(_) => files.push(p.to_path_buf()),
            Err(e) => errors.push(InputError {
                path: input.clone(),
                message: describe_io(&e),
            }),
        }
    }
    (files, errors)
}

/// `path` as text: its bytes that are not UTF-8 written as `\xNN` (so the name can be shown
/// and told apart from other names, while the file itself is opened by its exact path).
pub fn path_name(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(InputError {
                path: path_name(dir),
                message: describe_io(&e),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = entry.file_type() else { continue };
        // Hidden entries are skipped: `.git/`, and dotfiles such as the `.kcpu.yaml` policy.
        if name.starts_with('.') {
            continue;
        }
        if ft.is_dir() {
            walk(&path, out, errors);
        } else if (ft.is_file() || ft.is_symlink())
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext))
        {
            out.push(path);
        }
    }
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Bytes of input after which a piece ends at the next document marker.
pub const PIECE_BYTES: usize = 4 << 20;

/// Largest piece: one document (or the stretch between two document markers) may be this
/// large; the documents themselves are limited further by the loader (32 MiB).
pub const MAX_PIECE_BYTES: usize = 64 << 20;

/// Reads every input in pieces that end at YAML document markers (`---` at column 0), each
/// checked (binary data, UTF-8) and then unloaded: memory stays at about one piece whatever
/// the input's size. Standard input is copied to an unlinked temporary file as it is read, so
/// its pieces can be read back too. A file that fails midway keeps the pieces before the
/// failure and adds an [`InputError`].
pub fn collect(inputs: &[String]) -> Collected {
    let (files, errors) = expand(inputs);
    let mut c = Collected {
        sources: SourceSet::default(),
        errors,
    };
    for f in files {
        let res = read_pieces(&f, &mut |mut piece| {
            piece.unload();
            c.sources.add(piece);
        });
        if let Err(e) = res {
            c.errors.push(e);
        }
    }
    c
}

/// True when `line` starts a YAML document (`---` alone or followed by a blank), the boundary
/// [`crate::manifest::split_documents`] splits on too.
fn starts_document(line: &[u8]) -> bool {
    line.strip_prefix(b"---")
        .is_some_and(|rest| matches!(rest.first(), None | Some(b'\n' | b'\r' | b' ' | b'\t')))
}

/// Whether `path` is `-` (standard input), and the name diagnostics show for it: `<stdin>`,
/// else the path with bytes that are not UTF-8 shown as `\xNN`.
fn input_name(path: &Path) -> (bool, String) {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        path_name(path)
    };
    (stdin, name)
}

/// Reads `path` (or stdin for `-`) line by line and hands each piece to `on_piece`.
pub fn read_pieces(path: &Path, on_piece: &mut dyn FnMut(SourceFile)) -> Result<(), InputError> {
    let (stdin, name) = input_name(path);
    let err = |message: String| InputError {
        path: name.clone(),
        message,
    };
    let (reader, backing, spool): (Box<dyn BufRead>, _, _) = if stdin {
        // Spooled so pieces can be read back; without a temporary file they stay in memory.
        let spool = tempfile::tempfile().ok().map(std::sync::Arc::new);
        (Box::new(std::io::stdin().lock()), spool.clone(), spool)
    } else {
        let f = std::fs::File::open(path).map_err(|e| err(describe_io(&e)))?;
        let f = std::sync::Arc::new(f);
        let reader = std::io::BufReader::with_capacity(1 << 16, ArcReader(f.clone()));
        (Box::new(reader), Some(f), None)
    };
    let mut r = PieceReader::new(
        &name,
        // A name that is not valid UTF-8 cannot be written back through `name` (`\xNN`).
        (!stdin && path.to_str().is_none()).then(|| path.to_path_buf()),
        backing.map(|f| f as std::sync::Arc<dyn ReadAt>),
        spool,
        PieceLimits::default(),
    );
    r.run(reader, on_piece).map_err(err)
}

/// Where [`read_pieces`] ends pieces: after `piece_bytes` at the next document marker, and
/// with an error when a stretch without a marker grows past `max_piece_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceLimits {
    /// Bytes after which a piece ends at the next document marker ([`PIECE_BYTES`]).
    pub piece_bytes: usize,
    /// Largest piece ([`MAX_PIECE_BYTES`]).
    pub max_piece_bytes: usize,
}

impl Default for PieceLimits {
    fn default() -> PieceLimits {
        PieceLimits {
            piece_bytes: PIECE_BYTES,
            max_piece_bytes: MAX_PIECE_BYTES,
        }
    }
}

/// The splitting of [`read_pieces`] over any reader, without files (the fuzz target drives
/// it): `reader` yields the input's bytes, `backing` (if any) holds the same bytes for
/// reading unloaded pieces back. The pieces, concatenated, are the input without its
/// byte-order mark; each piece's `first_line` and `first_byte` count the lines and bytes
/// before it, and every piece but the first starts with a document marker.
pub fn split_pieces(
    name: &str,
    reader: &mut dyn BufRead,
    limits: PieceLimits,
    backing: Option<std::sync::Arc<dyn ReadAt>>,
    on_piece: &mut dyn FnMut(SourceFile),
) -> Result<(), InputError> {
    let mut r = PieceReader::new(name, None, backing, None, limits);
    r.run(Box::new(reader), on_piece)
        .map_err(|message| InputError {
            path: name.to_string(),
            message,
        })
}

/// A `Read` over a shared file (the same handle later reads pieces back).
struct ArcReader(std::sync::Arc<std::fs::File>);

impl Read for ArcReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(buf)
    }
}

/// The state of [`read_pieces`].
struct PieceReader<'a> {
    name: &'a str,
    path: Option<std::path::PathBuf>,
    backing: Option<std::sync::Arc<dyn ReadAt>>,
    spool: Option<std::sync::Arc<std::fs::File>>,
    limits: PieceLimits,
    /// Bytes read from the input (and written to the spool).
    disk: u64,
    /// Bytes of text (after a byte-order mark).
    logical: u64,
    line_no: usize,
    piece: Vec<u8>,
    piece_line: usize,
    piece_logical: u64,
    piece_disk: u64,
    emitted: bool,
}

impl<'a> PieceReader<'a> {
    /// A reader at the start of its input.
    fn new(
        name: &'a str,
        path: Option<std::path::PathBuf>,
        backing: Option<std::sync::Arc<dyn ReadAt>>,
        spool: Option<std::sync::Arc<std::fs::File>>,
        limits: PieceLimits,
    ) -> PieceReader<'a> {
        PieceReader {
            name,
            path,
            backing,
            spool,
            limits,
            disk: 0,
            logical: 0,
            line_no: 0,
            piece: Vec::new(),
            piece_line: 0,
            piece_logical: 0,
            piece_disk: 0,
            emitted: false,
        }
    }

    fn run(
        &mut self,
        mut reader: Box<dyn BufRead + '_>,
        on_piece: &mut dyn FnMut(SourceFile),
    ) -> Result<(), String> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| describe_io(&e))?;
            if n == 0 {
                break;
            }
            if let Some(spool) = &self.spool {
                use std::io::Write;
                if (&**spool).write_all(&line).is_err() {
                    self.spool = None;
                    self.backing = None;
                }
            }
            let mut text: &[u8] = &line;
            if self.disk == 0 {
                if let Some(rest) = line.strip_prefix(b"\xEF\xBB\xBF") {
                    // A UTF-8 byte-order mark is stripped, as YAML parsers do.
                    text = rest;
                    self.piece_disk = 3;
                    self.disk = 3;
                }
            }
            self.check(text)?;
            if self.piece.len() >= self.limits.piece_bytes && starts_document(text) {
                self.emit(on_piece);
            }
            if self.piece.len() + text.len() > self.limits.max_piece_bytes {
                return Err(format!(
                    "more than {} MiB without a document marker (`---`) before line {}; split the document, or check that this is really a manifest",
                    self.limits.max_piece_bytes >> 20,
                    self.line_no + 1
                ));
            }
            self.piece.extend_from_slice(text);
            self.logical += text.len() as u64;
            self.disk += text.len() as u64;
            self.line_no += 1;
        }
        if !self.piece.is_empty() || !self.emitted {
            self.emit(on_piece);
        }
        Ok(())
    }

    /// Rejects NUL bytes (binary files) and invalid UTF-8 in one line, with its position.
    fn check(&self, text: &[u8]) -> Result<(), String> {
        if text.contains(&0) {
            return Err(
                "looks like a binary file (it contains NUL bytes); expected YAML or JSON".into(),
            );
        }
        if let Err(e) = std::str::from_utf8(text) {
            let valid = e.valid_up_to();
            let col = String::from_utf8_lossy(&text[..valid]).chars().count() + 1;
            return Err(format!(
                "invalid UTF-8 at line {}, column {col} (byte offset {}); re-save the file as UTF-8",
                self.line_no + 1,
                self.logical + valid as u64
            ));
        }
        Ok(())
    }

    fn emit(&mut self, on_piece: &mut dyn FnMut(SourceFile)) {
        let bytes = std::mem::take(&mut self.piece);
        let len = bytes.len();
        // Every line was checked as UTF-8.
        let text = String::from_utf8(bytes).unwrap_or_default();
        let backing = self.backing.as_ref().map(|f| crate::source::Backing {
            file: f.clone(),
            offset: self.piece_disk,
            len,
        });
        let mut piece = SourceFile::piece(
            self.name,
            text,
            self.piece_line,
            self.piece_logical,
            backing,
        );
        piece.path = self.path.clone();
        on_piece(piece);
        self.emitted = true;
        self.piece_line = self.line_no;
        self.piece_logical = self.logical;
        self.piece_disk = self.disk;
    }
}

/// Reads every input into memory whole (for `check --fix`, which rewrites whole files).
pub fn collect_whole(inputs: &[String]) -> Collected {
    let (files, errors) = expand(inputs);
    let mut c = Collected {
        sources: SourceSet::default(),
        errors,
    };
    for f in files {
        match read_path(&f) {
            Ok(src) => {
                c.sources.add(src);
            }
            Err(e) => c.errors.push(e),
        }
    }
    c
}

/// Reads one file (or stdin for `-`), checking size, binary content and UTF-8.
pub fn read_one(path: &str) -> Result<SourceFile, InputError> {
    read_path(Path::new(path))
}

/// [`read_one`] for a path that need not be valid UTF-8 (its name then shows `\xNN`).
pub fn read_path(path: &Path) -> Result<SourceFile, InputError> {
    let (stdin, name) = input_name(path);
    let err = |message: String| InputError {
        path: name.clone(),
        message,
    };
    let mut bytes = Vec::new();
    let res = if stdin {
        std::io::stdin()
            .lock()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
    };
    res.map_err(|e| err(describe_io(&e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(err(format!(
            "larger than {} MiB, the most `check --fix` and `recommend` read whole; split it into smaller files (`check` without --fix and the other commands read any size)",
            MAX_FILE_BYTES >> 20
        )));
    }
    let mut file = decode(&name, bytes)?;
    if path.to_str().is_none() {
        file.path = Some(path.to_path_buf());
    }
    Ok(file)
}

/// Checks and decodes file content: rejects binary data and invalid UTF-8 with a position.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<SourceFile, InputError> {
    let err = |message: String| InputError {
        path: name.to_string(),
        message,
    };
    if bytes.contains(&0) {
        return Err(err(
            "looks like a binary file (it contains NUL bytes); expected YAML or JSON".into(),
        ));
    }
    // Strip a UTF-8 byte-order mark, as YAML parsers do.
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    match String::from_utf8(body) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let line = prefix.matches('\n').count() + 1;
            let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            // The path is printed once, by `InputError`'s Display.
            Err(err(format!("invalid UTF-8 at line {line}, column {col} (byte offset {valid}); re-save the file as UTF-8")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_binary_and_bad_utf8() {
        assert!(decode("a", b"kind: Pod\0".to_vec())
            .unwrap_err()
            .message
            .contains("binary"));
        let e = decode("a", b"a: 1\nb: \xff\n".to_vec()).unwrap_err();
        assert!(
            e.message.contains("invalid UTF-8 at line 2, column 4"),
            "{}",
            e.message
        );
        assert!(
            e.to_string().starts_with("a: invalid UTF-8"),
            "the path once: {e}"
        );
        assert_eq!(
            decode("a", b"\xEF\xBB\xBFx: 1".to_vec()).map(|s| s.text),
            Ok("x: 1".to_string())
        );
    }

    #[test]
    fn pieces_end_at_document_markers_and_read_back() {
        let doc = "---\nkind: ConfigMap\ndata: {a: \"-- x\"}\n";
        let n = PIECE_BYTES / doc.len() * 2 + 7;
        let text: String = std::iter::once("\u{feff}".to_string())
            .chain((0..n).map(|_| doc.to_string()))
            .collect();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.yaml");
        std::fs::write(&p, &text).unwrap();
        let mut pieces = Vec::new();
        read_pieces(&p, &mut |mut f| {
            f.unload();
            pieces.push(f);
        })
        .unwrap();
        assert_eq!(pieces.len(), 3);
        let mut joined = String::new();
        let mut line = 0;
        for f in &pieces {
            assert_eq!(f.first_line, line);
            assert_eq!(f.first_byte as usize, joined.len());
            assert!(f.text.is_empty(), "unloaded");
            f.with_text(|t, _| {
                assert!(t.starts_with("---\n"));
                joined.push_str(t);
            });
            line += f.with_text(|t, _| t.lines().count());
        }
        assert_eq!(joined, text.trim_start_matches('\u{feff}'));
        // Positions count in the whole file.
        let last = &pieces[2];
        assert_eq!(last.position(4).line, last.first_line + 2);
        // A bad byte in a later piece is reported at its line in the file.
        let mut bad = text.into_bytes();
        bad.extend_from_slice(b"x: \xff\n");
        std::fs::write(&p, &bad).unwrap();
        let e = read_pieces(&p, &mut |_| {}).unwrap_err();
        assert!(
            e.message
                .contains(&format!("invalid UTF-8 at line {}, column 4", 3 * n + 1)),
            "{}",
            e.message
        );
    }

    /// The splitting over any reader, with limits small enough to cross: pieces end at the
    /// first marker after `piece_bytes`, concatenate to the input and start at their line.
    /// An empty input is one empty piece whose positions work once unloaded (fuzz regression
    /// `fuzz/regressions/pieces/crash-28d86c…`).
    #[test]
    fn split_pieces_over_a_reader() {
        let text = "---\na: 1\n---\nb: 2\n--- # c\nc: 3\n";
        let limits = PieceLimits {
            piece_bytes: 4,
            max_piece_bytes: 64,
        };
        let mut pieces = Vec::new();
        split_pieces("s", &mut text.as_bytes(), limits, None, &mut |p| {
            pieces.push(p)
        })
        .unwrap();
        let texts: Vec<&str> = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["---\na: 1\n", "---\nb: 2\n", "--- # c\nc: 3\n"]);
        let firsts: Vec<(usize, u64)> = pieces
            .iter()
            .map(|p| (p.first_line, p.first_byte))
            .collect();
        assert_eq!(firsts, [(0, 0), (2, 9), (4, 18)]);
        assert_eq!(pieces[2].position(8).line, 6);

        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("empty.yaml");
        std::fs::write(&p, "").unwrap();
        let file: std::sync::Arc<dyn ReadAt> =
            std::sync::Arc::new(std::fs::File::open(&p).unwrap());
        let mut empty = Vec::new();
        split_pieces(
            "e",
            &mut &b""[..],
            PieceLimits::default(),
            Some(file),
            &mut |mut p| {
                p.unload();
                empty.push(p);
            },
        )
        .unwrap();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].line_col(0), (1, 1));

        let long = "a: 1\n".repeat(20);
        let tight = PieceLimits {
            piece_bytes: 4,
            max_piece_bytes: 1 << 20,
        };
        let e = split_pieces(
            "l",
            &mut long.as_bytes(),
            PieceLimits {
                max_piece_bytes: 50,
                ..tight
            },
            None,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.message.contains("before line 11"), "{}", e.message);
    }

    #[test]
    fn walks_directories_sorted_and_reports_missing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        std::fs::create_dir_all(d.path().join(".git")).unwrap();
        for f in [
            "b.yaml",
            "a.yml",
            "sub/c.json",
            "notes.txt",
            ".git/x.yaml",
            ".kcpu.yaml",
        ] {
            std::fs::write(d.path().join(f), "kind: x\n").unwrap();
        }
        let root = d.path().display().to_string();
        let (files, errors) = expand(&[root.clone(), format!("{root}/missing.yaml")]);
        let rel: Vec<_> = files
            .iter()
            .map(|f| path_name(f).trim_start_matches(&root).to_string())
            .collect();
        assert_eq!(rel, ["/a.yml", "/b.yaml", "/sub/c.json"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("no such file"));
    }

    #[test]
    fn a_file_name_that_is_not_utf8_is_read_by_its_exact_path() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xE9.yaml");
        std::fs::write(d.path().join(name), "kind: Pod\n").unwrap();
        let root = d.path().display().to_string();
        let c = collect(std::slice::from_ref(&root));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let (_, file) = c.sources.iter().next().expect("the file was read");
        assert_eq!(file.name, format!("{root}/caf\\xE9.yaml"));
        assert_eq!(file.path.as_deref(), Some(d.path().join(name).as_path()));
        assert_eq!(file.write_path(), d.path().join(name));
    }
}
