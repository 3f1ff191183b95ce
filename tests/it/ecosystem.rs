//! First contact and ecosystem fit: completions, man pages, the kubectl plugin name, colour
//! through NO_COLOR/CLICOLOR/CLICOLOR_FORCE, carets under values behind wide characters, and
//! messages that say what is allowed.

use assert_cmd::Command;

fn kcpu() -> Command {
    let mut c = Command::cargo_bin("kcpu").expect("kcpu binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("COLUMNS", "80");
    c
}

fn out(c: &mut Command) -> (i32, String, String) {
    let o = c.output().expect("run kcpu");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kcpu"),
        ("fish", "complete -c kcpu"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, stdout, stderr) = out(kcpu().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell} script lacks {marker:?}");
        for sub in ["translate", "check", "simulate", "report"] {
            assert!(stdout.contains(sub), "{shell} script lacks {sub}");
        }
    }
    let (code, _, stderr) = out(kcpu().args(["completions", "tcsh"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("bash"), "{stderr}");
}

#[test]
fn man_pages() {
    let (code, stdout, _) = out(kcpu().arg("man"));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(".ie") || stdout.contains(".TH kcpu"),
        "{stdout}"
    );
    assert!(stdout.contains("translate"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = out(kcpu().args(["man", "--dir"]).arg(dir.path()));
    assert_eq!(code, 0, "{stderr}");
    for page in [
        "kcpu.1",
        "kcpu-translate.1",
        "kcpu-check.1",
        "kcpu-report.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).expect(page);
        assert!(text.contains(".TH"), "{page}");
    }
    let ex = std::fs::read_to_string(dir.path().join("kcpu-translate.1")).expect("page");
    assert!(ex.contains("Examples"), "the examples reach the man page");
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    let (_, top, _) = out(kcpu().arg("--help"));
    let subs: Vec<&str> = top
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .collect();
    assert!(subs.len() >= 11, "{subs:?}");
    for sub in subs {
        let (code, stdout, _) = out(kcpu().args([sub, "--help"]));
        assert_eq!(code, 0);
        let tail = stdout
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub} --help has no examples"));
        // The help ends with the examples: nothing but indented example lines after them.
        assert!(
            tail.lines()
                .skip(1)
                .all(|l| l.starts_with("  ") || l.is_empty()),
            "{sub} --help does not end with its examples:{tail}"
        );
        let n = tail
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains("kcpu "))
            .count();
        assert!((2..=3).contains(&n), "{sub}: {n} examples (two or three)");
        // On an 80-column terminal no example is wrapped (a wrapped command or comment would
        // paste as two commands): the block is the same as on a wide one, every line fits.
        let (_, narrow, _) = out(kcpu().env("COLUMNS", "80").args([sub, "--help"]));
        let (_, wide, _) = out(kcpu().env("COLUMNS", "1000").args([sub, "--help"]));
        let block = |h: &str| h.split("Examples:").nth(1).unwrap_or_default().to_string();
        assert_eq!(
            block(&narrow),
            block(&wide),
            "{sub}: an example is wrapped at 80 columns"
        );
        for l in block(&wide).lines() {
            assert!(
                l.chars().count() <= 80,
                "{sub}: {} columns: {l}",
                l.chars().count()
            );
        }
    }
}

#[test]
fn kubectl_plugin_says_kubectl_kcpu() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join("kubectl-kcpu");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("kcpu"), &plugin).expect("link");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(&plugin)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("COLUMNS", "80")
            .output()
            .expect("run kubectl-kcpu");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage: kubectl kcpu <COMMAND>"), "{stdout}");
    let (_, stdout, _) = run(&["translate", "--help"]);
    assert!(stdout.contains("Usage: kubectl kcpu translate"), "{stdout}");
    assert!(
        stdout.contains("  kubectl kcpu translate fixtures/web.yaml"),
        "{stdout}"
    );
    assert!(stdout.contains("| kubectl kcpu translate -"), "{stdout}");
    let (code, _, stderr) = run(&["translate"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("kubectl kcpu translate"), "{stderr}");
    // The real work is the same.
    let (code, stdout, _) = run(&["translate", "fixtures/web.yaml"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Deployment shop/web"));
}

#[test]
fn krew_manifest_is_complete() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/krew/kcpu.yaml.in"))
        .expect("krew manifest template");
    for needle in [
        "apiVersion: krew.googlecontainertools.github.com/v1alpha2",
        "kind: Plugin",
        "name: kcpu",
        "bin: kubectl-kcpu",
        "sha256: \"@SHA256@\"",
        "os: linux",
    ] {
        assert!(text.contains(needle), "manifest lacks {needle:?}");
    }
}

const WIDE: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - {name: 日本語のコンテナ, image: x, resources: {requests: {cpu: 100M}}}
";

#[test]
fn colour_follows_no_color_and_clicolor() {
    let ansi = |envs: &[(&str, &str)]| {
        let mut c = kcpu();
        c.args(["check", "-"]).write_stdin(WIDE);
        for (k, v) in envs {
            c.env(k, v);
        }
        out(&mut c).1.contains("\u{1b}[")
    };
    assert!(!ansi(&[]), "a pipe gets no colour");
    assert!(
        ansi(&[("CLICOLOR_FORCE", "1")]),
        "CLICOLOR_FORCE forces colour"
    );
    assert!(
        !ansi(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]),
        "NO_COLOR wins"
    );
    let mut c = kcpu();
    c.args(["check", "-", "--color", "always"])
        .write_stdin(WIDE);
    assert!(out(&mut c).1.contains("\u{1b}["), "--color always");
}

#[test]
fn carets_sit_under_the_value_behind_wide_characters() {
    let mut c = kcpu();
    c.args(["check", "-", "--fail-on", "never"])
        .write_stdin(WIDE);
    let (code, stdout, _) = out(&mut c);
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let mut checked = 0;
    for (i, l) in lines.iter().enumerate() {
        let Some(src) = l.split_once("| ").map(|(_, s)| s) else {
            continue;
        };
        if !src.contains("日本語") {
            continue;
        }
        let Some(next) = lines.get(i + 1) else {
            continue;
        };
        let Some(caret) = next.find('^') else {
            continue;
        };
        // Display columns of the caret and of the flagged text must agree.
        let gutter = l.find("| ").unwrap_or(0) + 2;
        let caret_col = unicode_width::UnicodeWidthStr::width(&next[..caret]);
        let prefix_cols = |needle: &str| {
            src.find(needle)
                .map(|b| gutter + unicode_width::UnicodeWidthStr::width(&src[..b]))
        };
        let candidates: Vec<usize> = ["100M"].iter().filter_map(|n| prefix_cols(n)).collect();
        assert!(
            candidates.contains(&caret_col),
            "caret at display column {caret_col} is under none of the values {candidates:?}:\n{l}\n{next}"
        );
        checked += 1;
    }
    assert!(checked > 0, "no snippet on the wide line:\n{stdout}");
}

#[test]
fn duration_messages_say_what_is_allowed() {
    let (code, _, stderr) =
        out(kcpu().args(["simulate", "--quota=-100ms", "--load", "spin:threads=1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be negative"), "{stderr}");
    let (code, _, stderr) =
        out(kcpu().args(["simulate", "--quota", "3h", "--load", "spin:threads=1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("ns, us, ms, s and m"), "{stderr}");
    // `run --runs 0` is refused exactly as in `simulate`: same bounds, same words.
    let (code, _, run_err) = out(kcpu().args(["run", "--runs", "0", "--load", "spin:threads=1"]));
    assert_eq!(code, 2);
    let (code, _, sim_err) =
        out(kcpu().args(["simulate", "--runs", "0", "--load", "spin:threads=1"]));
    assert_eq!(code, 2);
    for stderr in [&run_err, &sim_err] {
        assert!(stderr.contains("'0' for '--runs"), "{stderr}");
        assert!(stderr.contains("1..=100000"), "{stderr}");
    }
}

/// A file whose name is not UTF-8: found in a directory it is read (and fixed) by its exact
/// name, shown with `\xNN`; named on the command line it gets a message that names it.
#[test]
fn file_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let name = std::ffi::OsStr::from_bytes(b"caf\xE9.yaml");
    let file = dir.path().join(name);
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    resources: {requests: {cpu: 100m}, limits: {cpu: \"1,5\"}}\n",
    )
    .expect("write");
    // Read by its exact name (the bad value is found in it), shown with \xE9.
    let (code, _, stderr) = out(kcpu().arg("translate").arg(dir.path()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("caf\\xE9.yaml:8:54"), "{stderr}");
    let (code, stdout, stderr) = out(kcpu()
        .args(["check", "--no-policy", "--fix"])
        .arg(dir.path()));
    assert_eq!(code, 0, "fixed, nothing left\n{stdout}\n{stderr}");
    let fixed = std::fs::read_to_string(&file).expect("the file is still there");
    assert!(
        fixed.contains("1500m") || fixed.contains("\"1.5\""),
        "{fixed}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    let (code, stdout, stderr) = out(kcpu().arg("translate").arg(dir.path()));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("caf\\xE9.yaml:1"), "{stdout}");
    let (code, _, stderr) = out(kcpu().arg("check").arg(&file));
    assert_eq!(code, 2);
    assert_eq!(stderr.matches("caf\\xE9.yaml").count(), 1, "{stderr}");
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
}

/// The examples at the end of every `--help` that use the bundled fixtures run as printed
/// (in a scratch directory holding a link to `fixtures/`, so output files land there).
#[test]
fn help_examples_on_the_fixtures_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        dir.path().join("fixtures"),
    )
    .expect("link");
    let mut ran = 0;
    for sub in ["translate", "check", "simulate", "report"] {
        // Wide, so that no example is wrapped.
        let (_, help, _) = out(kcpu().env("COLUMNS", "1000").args([sub, "--help"]));
        let examples = help.split("Examples:").nth(1).unwrap_or_default();
        for line in examples.lines().map(str::trim) {
            let cmd = line.split("  #").next().unwrap_or_default().trim();
            if !cmd.starts_with("kcpu ") || !cmd.contains("fixtures/") || cmd.contains('|') {
                continue;
            }
            let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
            let (code, stdout, stderr) = out(kcpu().current_dir(dir.path()).args(&args));
            assert!(
                code == 0 || (sub == "check" && code == 1),
                "`{cmd}` exited {code}\n{stdout}\n{stderr}"
            );
            ran += 1;
        }
    }
    assert!(ran >= 5, "only {ran} examples use fixtures/");
}

#[test]
fn simulate_dir_carries_on_past_bad_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("good.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: good, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n        resources: {requests: {cpu: 250m}, limits: {cpu: 500m}}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        resources: {limits: {cpu: 1.5.5}}\n",
    )
    .expect("write");
    let mut c = kcpu();
    c.args(["simulate"])
        .arg(dir.path())
        .args(["--cpus", "2", "--duration", "1s", "--runs", "1"])
        .args(["--default-load", "spin:threads=1"]);
    let (code, stdout, stderr) = out(&mut c);
    assert_eq!(code, 2, "input errors exit 2\n{stdout}\n{stderr}");
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(
        stdout.contains("good"),
        "the good workload is still simulated:\n{stdout}"
    );
}

/// At COLUMNS=80 every line translate prints fits, the note about skipped kinds on stderr too
/// (the public corpus has 37 kinds without a pod template).
#[test]
fn translate_stderr_fits_80_columns() {
    let mut text = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n",
    );
    for i in 0..40 {
        text.push_str(&format!(
            "---\napiVersion: example.com/v1\nkind: SomeLongCustomResourceKind{i}\nmetadata: {{name: x}}\n"
        ));
    }
    let (code, stdout, stderr) = out(kcpu().args(["translate", "-"]).write_stdin(text));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("SomeLongCustomResourceKind39 1"),
        "{stderr}"
    );
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

/// At COLUMNS=80 translate's diagnostics on stderr wrap too; a location is never cut (a long
/// path stands alone on its line) and every message word is still printed.
#[test]
fn translate_diagnostics_fit_80_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir
        .path()
        .join("a-rather-long-directory-name/with/several/levels/of-nesting-inside");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("values.yaml"), "replicaCount: 1\n").unwrap();
    std::fs::write(dir.path().join("dup.yaml"), "kind: Pod\nkind: Pod\n").unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = out(kcpu().env("COLUMNS", "80").arg("translate").arg(dir.path()));
    assert_eq!(code, 2, "{stderr}");
    let long_path = format!("{}/values.yaml:1:1:", sub.display());
    for line in stdout.lines().chain(stderr.lines()) {
        let w = line.chars().count();
        assert!(w <= 80 || line == long_path, "{w} columns: {line}");
    }
    assert!(stderr.lines().any(|l| l == long_path), "{stderr}");
    assert!(stderr.contains("duplicate mapping key"), "{stderr}");
    let words = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("document has no `kind`; skipped"),
        "{stderr}"
    );
}

/// The policy's `exclude: {paths: …}` is anchored at the policy file's directory: it holds
/// when kcpu runs in a subdirectory (`kcpu check .`) and for absolute paths.
#[test]
fn policy_path_patterns_hold_from_any_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("deploy/vendor")).unwrap();
    let pod = |name: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{containers: [{{name: c, image: x, resources: {{requests: {{cpu: \"1,5\"}}}}}}]}}\n")
    };
    std::fs::write(root.join("deploy/app.yaml"), pod("app")).unwrap();
    std::fs::write(root.join("deploy/vendor/lib.yaml"), pod("lib")).unwrap();
    std::fs::write(
        root.join(".kcpu.yaml"),
        "exclude: {paths: [\"/deploy/vendor/*\"]}\n",
    )
    .unwrap();
    let runs = [
        (root.to_path_buf(), "deploy".to_string()),
        (root.join("deploy"), ".".to_string()),
        (root.join("deploy/vendor"), "..".to_string()),
        (
            std::env::temp_dir(),
            root.join("deploy").display().to_string(),
        ),
    ];
    for (cwd, input) in runs {
        let (_, stdout, stderr) = out(kcpu().current_dir(&cwd).args(["check", &input]));
        assert!(
            stdout.contains("Checked 1 workload")
                && stdout.contains("the policy excluded 1 workload"),
            "in {}: kcpu check {input}\n{stdout}\n{stderr}",
            cwd.display()
        );
    }
}

/// No message names the YAML library's configuration or prints Rust debug output, whatever
/// file kcpu parses: manifests, the policy file, simulate's scenario file.
#[test]
fn yaml_messages_never_name_library_internals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dup = |first: &str| format!("{first}\n{first}\n");
    let scenario = dir.path().join("node.yaml");
    std::fs::write(
        &scenario,
        dup("cpus: 2") + "groups: [{name: a, load: spin}]\n",
    )
    .unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, dup("fail-on: error")).unwrap();
    let manifest = dir.path().join("pod.yaml");
    std::fs::write(&manifest, dup("kind: Pod")).unwrap();
    let deep = dir.path().join("deep.yaml");
    std::fs::write(&deep, format!("a: {}{}\n", "[".repeat(70), "]".repeat(70))).unwrap();
    let runs = [
        kcpu()
            .args(["simulate", "--duration", "1s", "--scenario"])
            .arg(&scenario)
            .output(),
        kcpu()
            .args(["check", "--policy"])
            .arg(&policy)
            .arg(&manifest)
            .output(),
        kcpu()
            .args(["check", "--no-policy"])
            .arg(&manifest)
            .arg(&deep)
            .output(),
        kcpu().arg("translate").arg(&manifest).arg(&deep).output(),
    ];
    for o in runs {
        let o = o.expect("run kcpu");
        let text =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}");
        for internal in [
            "DuplicateKeyPolicy",
            "Options",
            "Depth {",
            "<input>",
            "budget breached",
        ] {
            assert!(!text.contains(internal), "{internal}: {text}");
        }
        assert!(
            text.contains("duplicate mapping key") || text.contains("may appear only once"),
            "{text}"
        );
    }
}
