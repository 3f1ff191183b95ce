//! The one policy loader (I/O shell): finds `.kcpu.yaml`, reads it and parses it into a
//! [`Policy`], for `check` (rules) and `report` (node shapes).

use crate::lint::policy::{PathAnchor, Policy};
use std::path::{Path, PathBuf};

/// Policy file names, in lookup order.
pub const POLICY_FILES: [&str; 2] = [".kcpu.yaml", ".kcpu.yml"];

/// Finds the policy file: `.kcpu.yaml` (or `.kcpu.yml`) in the first input's directory or
/// one of its parents, else in the current directory or one of its parents.
pub fn discover(paths: &[String]) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Some(first) = paths.iter().find(|p| p.as_str() != "-") {
        let p = Path::new(first);
        let dir = if p.is_dir() {
            p.to_path_buf()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let dir = if dir.as_os_str().is_empty() {
            cwd.clone()
        } else {
            dir
        };
        if let Ok(abs) = std::fs::canonicalize(&dir) {
            starts.push(abs);
        }
    }
    starts.push(std::fs::canonicalize(&cwd).unwrap_or(cwd.clone()));
    let cwd_abs = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    for start in starts {
        for dir in start.ancestors() {
            for name in POLICY_FILES {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Some(match candidate.strip_prefix(&cwd_abs) {
                        Ok(rel) => rel.to_path_buf(),
                        Err(_) => candidate,
                    });
                }
            }
        }
    }
    None
}

/// Loads the policy at `explicit`, else the one [`discover`] finds for `inputs`: `Ok(None)`
/// when there is none, else the policy and the path as shown to the user. The error is the
/// message for the user (`policy file X: no such file`, `X:line:col: invalid policy: …`).
pub fn load(
    explicit: Option<&Path>,
    inputs: &[String],
) -> Result<Option<(Policy, String)>, String> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match discover(inputs) {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
            _ => e.to_string(),
        };
        format!("policy file {shown}: {why}")
    })?;
    match Policy::from_yaml(&text) {
        Ok(mut p) => {
            p.anchor = anchor(&path);
            Ok(Some((p, shown)))
        }
        Err(e) => Err(format!(
            "{shown}:{}:{}: invalid policy: {}",
            e.line.max(1),
            e.column.max(1),
            e.message
        )),
    }
}

/// The anchor of the path patterns of the policy file at `path`: its directory and the working
/// directory relative to it (both resolved, so `..` and symlinks do not matter).
fn anchor(path: &Path) -> Option<PathAnchor> {
    let dir = std::fs::canonicalize(path).ok()?.parent()?.to_path_buf();
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let cwd_in_policy_dir = cwd
        .as_deref()
        .and_then(|c| c.strip_prefix(&dir).ok())
        .and_then(|r| r.to_str().map(str::to_string));
    Some(PathAnchor {
        policy_dir: dir.to_str()?.to_string(),
        cwd_in_policy_dir,
    })
}
