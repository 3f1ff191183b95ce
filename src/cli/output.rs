//! Where command output goes (I/O shell): the one atomic file writer and the one progress bar.
//!
//! - [`write_new`]: an output file kcpu creates (report pages, charts, `check --output`): a
//!   temporary file in the same directory, then a rename, so a reader never sees half a file;
//!   the mode is `0666` minus the umask, like any file the shell creates.
//! - [`replace_atomically`]: a user file rewritten on an explicit flag (`check --fix`): the
//!   same, keeping the original permissions, resolving a symlink so its target is replaced.
//! - [`bar`]: a progress bar shown only on a terminal, never in pipes or CI.

use crate::render::chart::ChartFormat;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::Permissions;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `bytes` to `path` (created or replaced) through a temporary file in the same
/// directory and a rename. The file gets mode `0666 & !umask` (tempfile creates with the
/// given mode, and the kernel applies the umask to it).
pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".kcpu-")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Replaces the existing file `path` with `bytes` atomically: a temporary file in the same
/// directory, the original permissions, `fsync`, then a rename. A symlink is resolved so its
/// target is replaced.
pub fn replace_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let target =
        std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let dir = target
        .parent()
        .context("the file has no parent directory")?;
    let perms = std::fs::metadata(&target)
        .with_context(|| format!("reading metadata of {}", target.display()))?
        .permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".kcpu-fix-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), perms)?;
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming over {}", target.display()))?;
    Ok(())
}

/// The chart format of `--chart FILE` from its extension (`.svg` or `.png`).
pub fn chart_format(path: Option<&Path>) -> anyhow::Result<Option<ChartFormat>> {
    path.map(|p| {
        ChartFormat::from_path(p).with_context(|| {
            format!(
                "--chart {}: the file name must end in .svg or .png",
                p.display()
            )
        })
    })
    .transpose()
}

/// A bar over `len` steps, hidden in pipes, CI (`CI` set) and for a single step.
pub fn bar(len: u64, label: &str) -> ProgressBar {
    let visible = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() && len > 1;
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(label.to_string());
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_replaces_and_honours_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.txt");
        write_new(&p, b"one").unwrap();
        write_new(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        let umask = rustix::process::umask(rustix::fs::Mode::empty());
        rustix::process::umask(umask);
        assert_eq!(mode, 0o666 & !umask.bits(), "mode {mode:o}");
        // Nothing but the file is left in the directory.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_keeps_permissions_and_follows_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.yaml");
        std::fs::write(&p, "a").unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let link = d.path().join("link.yaml");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        replace_atomically(&link, b"b").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn bar_is_hidden_for_one_step() {
        assert!(bar(1, "x").is_hidden());
    }
}
