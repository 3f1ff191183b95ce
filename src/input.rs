//! Input collection: files, directories and stdin → a [`SourceSet`] (I/O shell).
//!
//! Directories are walked recursively for `*.yaml`, `*.yml` and `*.json` (hidden directories
//! and files skipped), and paths are sorted so output is deterministic. Files named explicitly are read
//! whatever their extension. Binary files, invalid UTF-8, unreadable paths and oversized files
//! become [`InputError`]s; the other inputs are still read.

use crate::source::{SourceFile, SourceSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest input file kcpu reads.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

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

/// Reads every input into memory.
pub fn collect(inputs: &[String]) -> Collected {
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
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        path_name(path)
    };
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
            "larger than {} MiB; split it into smaller files",
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
