//! The fidelity suite's replay (issue 11): every scenario recorded on a real kernel under
//! `tests/data/fidelity/<kernel>-<cgroup>/` (by `scripts/fidelity-measure.sh`) is simulated again
//! at its recorded phases on the kernel model of its release and HZ, and compared run by run with
//! the tolerances: same throttled/not verdict, throttled-period ratio ±0.05, usage ±2 %,
//! p50 within max(1 ms, 3 %), p99 within 10 %. No root needed.
//!
//! Known deviations are listed in [`KNOWN`] with their reason (README "How accurate is
//! simulate"); every other figure of every run must agree, and a listed figure that starts to
//! agree fails the test too, so the list cannot silently go stale. The agreement table is written
//! to `target/fidelity.md` (the README's table is pasted from it).

use kcpu::sim::fidelity::{parse_scenario, replay, ReplayedRun, Scenario};
use kcpu::sim::load::{parse_load, parse_trace_csv, LoadProfile};
use kcpu::stats::Figure;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (data set, scenario, figure, reason): figures the model does not yet reproduce.
const KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "6.18.44-fc-v1272-v1",
        "above-quota",
        "p50",
        "demand 120 % of quota: the real backlog serves some requests one period later than the model (p50 +95 ms in 3 of 4 runs); not understood yet",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "below-quota",
        "p50",
        "unthrottled tail: wake-up delays from the other engineers' builds on the shared 2-CPU machine (no background load in the model)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "below-quota",
        "p99",
        "unthrottled tail: wake-up delays from the other engineers' builds on the shared 2-CPU machine (no background load in the model)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "burst-full",
        "p99",
        "unthrottled tail: wake-up delays from the other engineers' builds on the shared 2-CPU machine (no background load in the model)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "burst-partial",
        "p50",
        "phase 17 ms: real cycle ends 4.6 ms later than the model (burst bank of the previous cycle)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "eq-quota",
        "ratio",
        "demand = quota: one run throttled in 30 % of periods against 5 % simulated (real per-request overhead varies, the model uses a fixed 50 us)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "eq-quota",
        "p99",
        "demand = quota: when the 1 ms silo carries run out a request waits for the next period (p99 14-84 ms); the model keeps the carry and predicts 5 ms",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period20ms",
        "ratio",
        "20 ms period with 2 threads: phase-dependent ratio swaps 0.2/0.4 against the model; not understood yet",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period20ms",
        "p50",
        "see period20ms ratio",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period20ms",
        "p99",
        "see period20ms ratio",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period500ms",
        "ratio",
        "500 ms period: real counts one more throttled period (3 of 5 against 2.5 of 5)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period5ms",
        "p50",
        "5 ms period = slice: real requests finish one period (4 ms) later than the model",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period5ms",
        "p99",
        "see period5ms p50",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "poisson",
        "ratio",
        "Poisson: one run 0.16 real vs 0.26 simulated",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "poisson",
        "p99",
        "unthrottled tail: wake-up delays from the other engineers' builds on the shared 2-CPU machine (no background load in the model)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "ref-edge",
        "p50",
        "phase 99 ms (1 ms before an edge): real p50 2-6 ms later than the model in 3 of 4 runs",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "trace",
        "ratio",
        "trace: real throttles in 6-13 points more periods than the model",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "trace",
        "p50",
        "see trace ratio",
    ),
];

fn data_sets() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fidelity");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/data/fidelity exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn scenarios(dir: &Path) -> Vec<(PathBuf, Scenario)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("data set readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("scenario readable");
            let s = parse_scenario(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, s)
        })
        .collect()
}

fn trace_of(s: &Scenario) -> Option<Vec<kcpu::sim::load::Request>> {
    match parse_load(&s.load).ok()? {
        LoadProfile::Trace { path } => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            let text = std::fs::read_to_string(&p).expect("trace file of the scenario");
            Some(parse_trace_csv(&text).expect("trace parses"))
        }
        _ => None,
    }
}

fn figure_name(f: Figure) -> &'static str {
    match f {
        Figure::Usage => "usage",
        Figure::ThrottledRatio => "ratio",
        Figure::P50 => "p50",
        Figure::P99 => "p99",
    }
}

/// The figures of a run that are outside tolerance ("verdict" for a different verdict).
fn failures(r: &ReplayedRun) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = r
        .figures
        .iter()
        .filter(|f| f.ok == Some(false))
        .map(|f| figure_name(f.figure))
        .collect();
    if !r.verdict_ok {
        v.push("verdict");
    }
    v
}

fn cell(r: &ReplayedRun, f: Figure) -> String {
    let d = r.figures.iter().find(|d| d.figure == f);
    match d {
        Some(d) if d.ok.is_some() => {
            let mark = if d.ok == Some(true) { "" } else { " ✗" };
            match f {
                Figure::Usage | Figure::ThrottledRatio => {
                    format!("{:.3} / {:.3}{mark}", d.measured, d.simulated)
                }
                _ => format!("{:.1} / {:.1}{mark}", d.measured, d.simulated),
            }
        }
        _ => "–".into(),
    }
}

#[test]
fn recorded_scenarios_replay_within_tolerance() {
    let mut table = String::from(
        "| data set | scenario | phase ms | usage cores (real / sim) | throttled ratio | p50 ms | p99 ms | agrees |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut problems = Vec::new();
    let mut known_seen = vec![false; KNOWN.len()];
    let (mut runs, mut agreeing, mut total_scenarios) = (0, 0, 0);
    for dir in data_sets() {
        let set = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let list = scenarios(&dir);
        total_scenarios += list.len();
        for (path, s) in list {
            let replayed =
                replay(&s, trace_of(&s)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !replayed.is_empty(),
                "{}: every run was noisy; re-measure",
                path.display()
            );
            for r in &replayed {
                runs += 1;
                let fails = failures(r);
                if fails.is_empty() {
                    agreeing += 1;
                }
                for f in &fails {
                    match KNOWN
                        .iter()
                        .position(|k| k.0 == set && k.1 == s.scenario && k.2 == *f)
                    {
                        Some(i) => known_seen[i] = true,
                        None => problems.push(format!(
                            "{set}/{} run {} (phase {} ms): {f} outside tolerance",
                            s.scenario,
                            r.measured.run,
                            r.measured.phase_us / 1000
                        )),
                    }
                }
                writeln!(
                    table,
                    "| {set} | {} | {:.1} | {} | {} | {} | {} | {} |",
                    s.scenario,
                    r.measured.phase_us as f64 / 1000.0,
                    cell(r, Figure::Usage),
                    cell(r, Figure::ThrottledRatio),
                    cell(r, Figure::P50),
                    cell(r, Figure::P99),
                    if fails.is_empty() { "yes" } else { "no" }
                )
                .unwrap();
            }
        }
    }
    writeln!(table, "\n{agreeing} of {runs} runs agree on every figure.").unwrap();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fidelity.md");
    // The table is the test's report (README "How accurate is simulate" is pasted from it).
    let _ = std::fs::write(&out, &table);
    assert!(
        total_scenarios >= 15,
        "the grid has {total_scenarios} scenarios, issue 11 asks for at least 15"
    );
    for (i, seen) in known_seen.iter().enumerate() {
        if !seen {
            problems.push(format!(
                "known deviation {:?} no longer occurs: remove it from KNOWN",
                KNOWN[i]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
