//! First-contact conveniences (I/O shell): the kubectl plugin name, shell completions and man
//! pages, all generated from the one clap definition in [`super::Cli`].
//!
//! Installed (or linked) as `kubectl-kcpu` on `PATH`, kcpu is a kubectl plugin: kubectl runs it
//! for `kubectl kcpu …` (kubectl's plugin mechanism looks up `kubectl-<name>` executables, see
//! kubernetes/kubectl `pkg/cmd/plugin/plugin.go`). kcpu then recognises its name from `argv[0]`
//! and says `kubectl kcpu …` in its usage lines and examples.

use super::{exit, Cli};
use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The executable name under which kubectl finds the plugin.
pub const PLUGIN_EXECUTABLE: &str = "kubectl-kcpu";
/// How the plugin is invoked through kubectl.
pub const PLUGIN_INVOCATION: &str = "kubectl kcpu";

/// Arguments of `kcpu completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `kcpu man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `kcpu.1` and one `kcpu-<command>.1` per subcommand into this directory instead of
    /// printing `kcpu.1` to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// True when `argv0` names the kubectl plugin executable (`kubectl-kcpu`, `kubectl-kcpu.exe`,
/// with any directory in front).
pub fn is_plugin_name(argv0: &std::ffi::OsStr) -> bool {
    let path = std::path::Path::new(argv0);
    path.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == PLUGIN_EXECUTABLE)
}

/// Rewrites `kcpu …` example lines of a help text into `kubectl kcpu …`.
pub fn plugin_examples(text: &str) -> String {
    text.lines()
        .map(|l| {
            let body = l.trim_start();
            let indent = &l[..l.len() - body.len()];
            let body = body
                .replace("| kcpu ", &format!("| {PLUGIN_INVOCATION} "))
                .replace("sudo kcpu ", &format!("sudo {PLUGIN_INVOCATION} "));
            match body.strip_prefix("kcpu ") {
                Some(rest) => format!("{indent}{PLUGIN_INVOCATION} {rest}"),
                None => format!("{indent}{body}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The clap command, named for how it was invoked (`kcpu` or `kubectl kcpu`).
pub fn command(plugin: bool) -> clap::Command {
    let cmd = Cli::command();
    if !plugin {
        return cmd;
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd
        .bin_name(PLUGIN_INVOCATION)
        .display_name(PLUGIN_EXECUTABLE);
    for name in names {
        cmd = cmd.mut_subcommand(name, |s| match s.get_after_help().map(|h| h.to_string()) {
            Some(h) => s.after_help(plugin_examples(&h)),
            None => s,
        });
    }
    cmd
}

/// Parses the command line (`args` includes `argv[0]`).
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Cli, clap::Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    let plugin = args.first().is_some_and(|a| is_plugin_name(a));
    let mut cmd = command(plugin);
    let bad = args
        .iter()
        .skip(1)
        .find(|a| a.to_str().is_none())
        .map(|a| crate::input::path_name(std::path::Path::new(a)));
    let matches = cmd.try_get_matches_from_mut(args).map_err(|e| match (&bad, e.kind()) {
        (Some(arg), clap::error::ErrorKind::InvalidUtf8) => clap::Error::raw(
            clap::error::ErrorKind::InvalidUtf8,
            format!(
                "the argument \"{}\" is not valid UTF-8 (shown with \\xNN for its other bytes); \
                 pass the directory that holds the file instead (files found in directories are read \
                 by their exact name), or rename it",
                crate::render::escape::escape(arg)
            ),
        )
        .format(&mut cmd),
        _ => e,
    })?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

fn plugin_from_env() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|a| is_plugin_name(&a))
}

/// `kcpu completions SHELL`: the completion script on stdout.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let plugin = plugin_from_env();
    let mut cmd = command(plugin);
    // Completions attach to the executable's own name. kubectl's own plugin completion (a
    // `kubectl_complete-kcpu` executable answering Cobra's `__complete` protocol) is not provided.
    let name = if plugin { PLUGIN_EXECUTABLE } else { "kcpu" };
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut out);
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(&out)
        .context("writing the completion script")?;
    lock.flush().context("writing the completion script")?;
    Ok(exit::code(exit::OK))
}

/// `kcpu man`: the man page on stdout, or every page into `--dir`.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = command(plugin_from_env());
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            eprintln_written(&dir);
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("rendering the man page")?;
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(&out).context("writing the man page")?;
            lock.flush().context("writing the man page")?;
        }
    }
    Ok(exit::code(exit::OK))
}

#[allow(clippy::print_stderr)]
fn eprintln_written(dir: &std::path::Path) {
    eprintln!("wrote man pages into {}", dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_name_detection() {
        assert!(is_plugin_name("kubectl-kcpu".as_ref()));
        assert!(is_plugin_name("/usr/local/bin/kubectl-kcpu".as_ref()));
        assert!(is_plugin_name("kubectl-kcpu.exe".as_ref()));
        assert!(!is_plugin_name("kcpu".as_ref()));
        assert!(!is_plugin_name("/bin/kubectl-kcpux".as_ref()));
    }

    #[test]
    fn examples_are_rewritten_for_the_plugin() {
        let t = "Examples:\n  kcpu translate a.yaml\n  helm template . | kcpu check -\n  sudo kcpu run\nkcpuish";
        assert_eq!(
            plugin_examples(t),
            "Examples:\n  kubectl kcpu translate a.yaml\n  helm template . | kubectl kcpu check -\n  sudo kubectl kcpu run\nkcpuish"
        );
    }

    #[test]
    fn every_visible_subcommand_has_examples() {
        let cmd = command(false);
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let help = s
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let block: Vec<&str> = help
                .lines()
                .skip_while(|l| *l != "Examples:")
                .skip(1)
                .collect();
            assert!(
                block.iter().all(|l| l.starts_with("  ")),
                "{}: the help does not end with its examples: {block:?}",
                s.get_name()
            );
            let examples = block.iter().filter(|l| l.contains("kcpu ")).count();
            assert!(
                (2..=3).contains(&examples),
                "{} has {examples} examples (two or three)",
                s.get_name()
            );
        }
    }

    #[test]
    fn plugin_usage_says_kubectl_kcpu() {
        let mut cmd = command(true);
        let help = cmd.render_help().to_string();
        assert!(help.contains("Usage: kubectl kcpu"), "{help}");
        let err = parse(["kubectl-kcpu", "translate"].map(OsString::from)).unwrap_err();
        assert!(err.to_string().contains("kubectl kcpu translate"), "{err}");
    }
}
