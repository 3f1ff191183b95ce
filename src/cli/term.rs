//! Terminal facts (I/O shell): the width human output fits into.
//!
//! Styling goes through `anstream`, which honours `NO_COLOR`, `CLICOLOR` and `CLICOLOR_FORCE`
//! (<https://bixense.com/clicolors/>, <https://no-color.org/>) and strips styles when the
//! stream is not a terminal; renderers emit `anstyle` styles and never decide themselves.

use std::io::IsTerminal;

/// Columns human output fits into: `COLUMNS` when set to a positive number (also when piped,
/// so `COLUMNS=80 kcpu translate … | less` fits), else the terminal's width when stdout is
/// one, else [`crate::render::plan::DEFAULT_WIDTH`].
pub fn width() -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    if std::io::stdout().is_terminal() {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return usize::from(w);
        }
    }
    crate::render::plan::DEFAULT_WIDTH
}

/// Columns diagnostics on stderr wrap at: `COLUMNS` when set, else the terminal's width when
/// stderr is one; `None` (one line per diagnostic, for `grep` and CI logs) otherwise.
pub fn stderr_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    if std::io::stderr().is_terminal() {
        if let Some((terminal_size::Width(w), _)) =
            terminal_size::terminal_size_of(std::io::stderr())
        {
            return Some(usize::from(w));
        }
    }
    None
}
