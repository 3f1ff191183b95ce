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

use kcpu::sim::fidelity::{
    compare_repeat, parse_scenario, replay, replay_weights, ReplayedRun, Scenario, WeightScenario,
};
use kcpu::sim::load::{parse_load, parse_trace_csv, LoadProfile};
use kcpu::stats::Figure;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (data set, scenario, figure, reason): figures the model does not yet reproduce. The figure
/// `"*"` (every figure of the scenario) is used only for the cgroup v2 data set measured in the
/// emulated (TCG) VM, see [`TCG`]. A data set with a `*` matches every set it globs
/// (`6.18.44-fc-*-v1`: both cgroup v1 grids of kernel 6.18.44, builds v1272 and v1252).
const KNOWN: &[(&str, &str, &str, &str)] = &[
    ("6.1.0-57-cloud-amd64-v2", "above-quota", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "above-quota-loop", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "below-quota", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota-loop", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "period20ms", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "period20ms-loop", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "period5ms", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "poisson", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "ref-sweep-loop", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "threads4-q100", "*", TCG),
    ("6.1.0-57-cloud-amd64-v2", "trace", "*", TCG),
    (
        "6.1.0-57-cloud-amd64-v2",
        "burst-full",
        "p99",
        "TCG VM (see TCG): unthrottled with burst = quota, the slower request of each pair ends 12 ms later than the model's 80.1 ms in 1 of 6 runs (emulated wake-up and per-request cost)",
    ),
    (
        "6.1.0-57-cloud-amd64-v2",
        "burst-partial",
        "usage",
        "TCG VM (see TCG): 0.819 cores against 0.800 in 1 of 6 runs (per-request cost 1-1.7 ms of CPU per 80 ms request there)",
    ),
    (
        "6.1.0-57-cloud-amd64-v2",
        "ref-edge",
        "p50",
        "TCG VM, 3 of 6 runs (129.5-130.1 ms; the other 3 gave 125.6-125.9 as the model): the knife edge of the 6.18 ref-edge entry, here on both sides from run to run",
    ),
    (
        "6.1.0-57-cloud-amd64-v2",
        "ref-sweep",
        "p99",
        "TCG VM (see TCG), phase 60 ms, unthrottled: the slower request ends 10 ms after the model's 80.1 ms in 1 of 5 runs (emulated wake-up and per-request cost)",
    ),
    (
        "6.1.0-57-cloud-amd64-v2",
        "spin1-q50",
        "usage",
        "TCG VM, 1 of 6 runs outside ±2 % (emulated timer)",
    ),
    (
        "6.1.0-57-cloud-amd64-v2",
        "spin3-q100",
        "usage",
        "TCG VM, 1 of 6 runs outside ±2 % (emulated timer)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "above-quota",
        "usage",
        "measured before the runner's opening-sample fix: its first timeline sample, read at the load's start, waited behind the two workers for a tick (1.8 ms, seen with `perf record -e sched:sched_switch`), so usage over [0, 2 s) missed the first 1.8 ms of two busy CPUs (0.102-0.103 against the model's 0.105). The sample is now read 0.5 ms before the start (`runner::sampler::OPENING_LEAD_NS`); the 6.18.44-fc-v1252 grid, measured with it, agrees 4 of 4",
    ),
    (
        "6.18.44-fc-*-v1",
        "above-quota-loop",
        "usage",
        "`--burn loop` (no clock reads) at 120 % of quota, tick accounting: the model uses 0.105-0.109 cores, the kernel 0.101-0.105 (v1272, 5 of 6 runs, before the opening-sample fix; the v1252 grid, measured after it and replayed with its recorded tick positions, agrees 4 of 4); near the quota `simulate` prints a caveat instead of claiming these figures",
    ),
    (
        "6.18.44-fc-*-v1",
        "above-quota-loop",
        "p50",
        "see above-quota-loop usage: the backlog's size turns on where ticks fall (p50 off by up to 99 ms in 4 of 6 and 4 of 4 runs, by whole periods: the repeat grid at the same phases was off from the grid by as much)",
    ),
    (
        "6.18.44-fc-*-v1",
        "above-quota-loop",
        "p99",
        "see above-quota-loop usage (p99 off by up to 200 ms in 5 of 6 and 3 of 4 runs)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "below-quota",
        "ratio",
        "demand 80 % of quota: the runner's start-up leaves 1 ms per CPU silo taken from the first period's pool (`Startup`), which throttles the second thread's first request once; in 1 of 6 runs the kernel did not throttle it (its start-up left less than 1 ms on one CPU). The v1252 grid agrees 4 of 4",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "below-quota",
        "verdict",
        "see below-quota ratio",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "below-quota",
        "p99",
        "see below-quota ratio: the one start-up throttle sets p99 (real 6 ms or 82 ms, model 82 ms or 5 ms, per run)",
    ),
    (
        "6.18.44-fc-*-v1",
        "eq-quota",
        "p50",
        "demand = quota: one of the two threads is throttled in every period on both sides; in some runs (2 of 6 in v1272; none in the last v1252 grid) the kernel throttled the other thread first in some periods (p50 6.6-82 ms against 5.1)",
    ),
    (
        "6.18.44-fc-*-v1",
        "eq-quota-loop",
        "usage",
        "`--burn loop` at demand = quota, tick accounting: 0.098 real against 0.101 simulated in 1 of 6 runs (v1272). The loop burner's work per request rests on a calibration of its speed, which then varied by 18 % from trial to trial (tests/data/fidelity/traces/loop-calibration.txt); since it takes the median of five trials (`runner::worker::calibrate`) the v1252 grid agrees 4 of 4 (before: 2 of 4, usage 0.092-0.105 across grid and repeat)",
    ),
    (
        "6.18.44-fc-*-v1",
        "eq-quota-loop",
        "p50",
        "`--burn loop` at demand = quota: the kernel builds a backlog of one or more periods in 4 of 6 and 1 of 4 runs (p50 35-84 ms) where the model has none (5.1 ms) under either accounting (with the recorded tick positions it does reproduce another v1252 run's one-period backlog, 63.4 against 63.2 ms); whether a backlog grows turns on ~1 % of per-request overhead and tick timing, below the model's resolution, so `simulate` prints a near-quota caveat (sim::fidelity::NEAR_QUOTA)",
    ),
    (
        "6.18.44-fc-*-v1",
        "eq-quota-loop",
        "p99",
        "see eq-quota-loop p50",
    ),
    (
        "6.18.44-fc-*-v1",
        "period20ms",
        "p50",
        "20 ms period: real p50 1-6 ms later than the model in 3 of 6 runs (v1272) and 1 of 4 (v1252, 11.1 against 8.6 ms at phase 3.5 ms, where the repeat gave 8.8); not understood yet (candidates: the 1.5 ms base slice and wake-up placement of the two threads)",
    ),
    (
        "6.18.44-fc-*-v1",
        "period20ms",
        "p99",
        "see period20ms p50 (v1252: 27.1 against 23.1 ms in 1 of 4 runs; the repeat gave 23.5)",
    ),
    (
        "6.18.44-fc-*-v1",
        "period20ms-loop",
        "p50",
        "`--burn loop`, 20 ms period: real p50 2.5-8 ms later than the model in 3 of 6 and 2 of 4 runs, as with the clock burner in the older grid (see period20ms p50)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period20ms-loop",
        "ratio",
        "`--burn loop`, 20 ms period: in 2 of 6 runs the kernel throttled every fifth period (0.204-0.212), the model every second or third (0.398-0.408). Charged at ticks only, whether a request crosses an edge with runtime left turns on where the ticks fall between edges, which this grid did not record (the model drew it). The v1252 grid records each run's edge (`edge_ns`) and is replayed with the kernel's tick positions: 4 of 4 agree",
    ),
    (
        "6.18.44-fc-*-v1",
        "period20ms-loop",
        "p99",
        "see period20ms-loop p50 and ratio",
    ),
    (
        "6.18.44-fc-v1252-v1",
        "period20ms-loop",
        "usage",
        "`--burn loop`, 20 ms period: 0.330 and 0.347 real against 0.322 in 2 of 4 runs, the loop burner doing 2-8 % more work than asked even with the median-of-five calibration (see eq-quota-loop usage)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "period5ms",
        "verdict",
        "5 ms period, phase 3.3 ms: the model throttles once in 140 periods (ratio 0.007), the kernel never",
    ),
    (
        "6.18.44-fc-*-v1",
        "period5ms",
        "p99",
        "5 ms period = slice: real p99 0.5-5 ms above the model in 4 of 6 runs (v1272; the last v1252 grid agrees 4 of 4) (one request per run waits an extra period); not understood yet",
    ),
    (
        "6.18.44-fc-v1252-v1",
        "poisson",
        "ratio",
        "Poisson arrivals, 2 of 4 runs: 0.105 real against 0.158 and 0.053 simulated, one period in 19 either way, and the kernel repeated its 0.105 in both. Each flipped period is a knife edge: re-run with `kcpu run --phase` and compared with the model's timeline, the usage per 100 ms interval agrees within 1 %, and the flipped period (tests/data/fidelity/traces/poisson-flipped-periods.tsv) used 50.3 ms where the pool and silos held 50.35 (run 0: the model throttles, the kernel not) and 54.49 ms where they held 55.5, up to 1 ms of which can sit unused in the other CPU's silo (`min_cfs_rq_runtime`; run 1: the kernel throttles, the model not)",
    ),
    (
        "6.18.44-fc-v1252-v1",
        "poisson",
        "p99",
        "Poisson arrivals: p99 off by 25-50 % in 2 of 4 runs (10.2 against 15.2 ms; 15.2 against 11.5 ms), one request's wait to the next edge",
    ),
    (
        "6.18.44-fc-*-v1",
        "ref-edge",
        "p50",
        "phase 99 ms (1 ms before an edge): real p50 130.0 ms against 125.3 in 9 of 10 runs (ratio and p99 now agree). A knife edge, traced with `perf record -e sched:sched_switch` (tests/data/fidelity/traces/ref-edge-cycles.tsv): a cycle ends at 130 ms when the thread's silo (what its last request left, at most `min_cfs_rq_runtime` = 1 ms, `__return_cfs_rq_runtime`, kernel/sched/fair.c) runs dry after the period edge 1 ms into the request, and at 125 ms when it runs dry before it (the slice it then pulls from the old pool carries over the edge). In the kernel the two threads' leftovers differ by tens of microseconds of preemption (51.2 against 50.8 ms before the throttle), so per cycle one, both or neither carry; the model's threads are symmetric and from the third cycle both carry",
    ),
    (
        "6.18.44-fc-*-v1",
        "ref-sweep-loop",
        "p50",
        "`--burn loop`, reference case: real 128.8 ms against 122.6 at phase 80 ms (v1272); the v1252 grid measured with the median-of-five calibration agrees 5 of 5 (before it: 2 runs off, one of them with the loop burner doing 17 % less work than asked, 0.664 cores against 0.800; see eq-quota-loop usage)",
    ),
    (
        "6.18.44-fc-v1272-v1",
        "spin3-q100",
        "usage",
        "three spinners on two CPUs, phase 58.8 ms: 1.021 cores real against 1.046 simulated in 1 of 6 runs",
    ),
];

/// The reason shared by the v2 data set's scenario-wide entries: measured in the QEMU VM under
/// TCG (no KVM on this machine), where the guest's timer and wake-up path is emulated.
const TCG: &str = "cgroup v2 in the QEMU VM under TCG emulation (kernel 6.1.0-57, HZ 250; no KVM here): unthrottled requests start 0.46-0.73 ms after their arrival (0.04-0.09 ms on the host) and short requests use 20-30 % more CPU than their nominal work (below-quota: 0.096-0.106 cores against 0.081), so near or over the quota and at short periods the group runs out of quota where the host kernel did not; the model has the host runner's costs. Scenarios away from the quota agree (grid of 2026-12-06, measured with the runner's opening-sample fix: period500ms 6/6, burst-partial 5/6, burst-full 5/6, ref-sweep 4/5, spinners 16/18, ref-edge 3/6 on a knife edge)";

/// Whether a [`KNOWN`] data set (`6.18.44-fc-*-v1`: one `*` for any run of characters) names
/// `set`.
fn set_matches(pattern: &str, set: &str) -> bool {
    match pattern.split_once('*') {
        Some((head, tail)) => {
            set.len() >= head.len() + tail.len() && set.starts_with(head) && set.ends_with(tail)
        }
        None => pattern == set,
    }
}

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

/// The `*.json` files of a data set: single-group scenarios, or `weights-*` ones.
fn files(dir: &Path, weights: bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("data set readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            let w = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("weights-"));
            w == weights
        })
        .collect();
    files.sort();
    files
}

fn scenarios(dir: &Path) -> Vec<(PathBuf, Scenario)> {
    files(dir, false)
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

/// The entries of a list (`KNOWN`, `UNREPEATABLE`) that no run needed: stale entries.
fn unseen<'a, T>(seen: &'a [bool], listed: &'a [T]) -> impl Iterator<Item = &'a T> {
    listed
        .iter()
        .zip(seen)
        .filter(|(_, s)| !**s)
        .map(|(k, _)| k)
}

/// Runs compared against a list of known deviations: the markdown table, the counts, the
/// unlisted deviations (`set/scenario run N (phase P ms): figure`) and which entries were seen.
struct Tally {
    table: String,
    runs: usize,
    agreeing: usize,
    problems: Vec<String>,
    seen: Vec<bool>,
}

impl Tally {
    fn new(columns: &str, listed: usize) -> Tally {
        Tally {
            table: format!(
                "| data set | scenario | phase ms | {columns} |\n|---|---|---|---|---|---|---|---|\n"
            ),
            runs: 0,
            agreeing: 0,
            problems: Vec::new(),
            seen: vec![false; listed],
        }
    }

    /// Counts `r`, marks each failing figure's entry (`listed(figure)`) as seen or records it
    /// as a problem, and adds the run's row.
    fn add(
        &mut self,
        set: &str,
        scenario: &str,
        r: &ReplayedRun,
        listed: impl Fn(&str) -> Option<usize>,
    ) {
        self.runs += 1;
        let fails = failures(r);
        if fails.is_empty() {
            self.agreeing += 1;
        }
        for f in &fails {
            match listed(f) {
                Some(i) => self.seen[i] = true,
                None => self.problems.push(format!(
                    "{set}/{scenario} run {} (phase {} ms): {f}",
                    r.measured.run,
                    r.measured.phase_us / 1000
                )),
            }
        }
        writeln!(
            self.table,
            "| {set} | {scenario} | {:.1} | {} | {} | {} | {} | {} |",
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

/// The model measured against the kernel's own repeatability: for the runs of a data set that
/// has a `repeat/` grid, the model's deviations on figures the kernel repeated within tolerance
/// in the same run pair ([`compare_repeat`]). A deviation on a figure the kernel did not repeat
/// says nothing about the model; the rest are the model's own.
#[derive(Default)]
struct Repeated {
    runs: usize,
    agreeing: usize,
    own: Vec<String>,
}

impl Repeated {
    /// Adds the replayed runs of scenario `s` (its file `path`), if the set repeated it.
    fn add(&mut self, path: &Path, s: &Scenario, replayed: &[ReplayedRun]) {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(dir.join("repeat").join(name)) else {
            return;
        };
        let repeat = parse_scenario(&text).unwrap_or_else(|e| panic!("repeat of {name:?}: {e}"));
        let pairs = compare_repeat(s, &repeat);
        for r in replayed {
            let same = |p: &&ReplayedRun| {
                p.measured.run == r.measured.run && p.measured.phase_us == r.measured.phase_us
            };
            let Some(pair) = pairs.iter().find(same) else {
                continue;
            };
            let kernel = failures(pair);
            let own: Vec<&str> = failures(r)
                .into_iter()
                .filter(|f| !kernel.contains(f))
                .collect();
            self.runs += 1;
            if own.is_empty() {
                self.agreeing += 1;
            }
            for f in own {
                self.own.push(format!(
                    "{} run {} (phase {:.1} ms): {f}",
                    s.scenario,
                    r.measured.run,
                    r.measured.phase_us as f64 / 1000.0
                ));
            }
        }
    }

    fn report(&self, table: &mut String, set: &str) {
        if self.runs == 0 {
            return;
        }
        writeln!(
            table,
            "\n{set} against its repeat: the model agrees on every figure the kernel repeated in \
             {} of {} runs; its own deviations ({}):",
            self.agreeing,
            self.runs,
            self.own.len()
        )
        .unwrap();
        for d in &self.own {
            writeln!(table, "- {d}").unwrap();
        }
    }
}

#[test]
fn recorded_scenarios_replay_within_tolerance() {
    let mut tally = Tally::new(
        "usage cores (real / sim) | throttled ratio | p50 ms | p99 ms | agrees",
        KNOWN.len(),
    );
    let mut total_scenarios = 0;
    let mut per_set = Vec::new();
    for dir in data_sets() {
        let set = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let list = scenarios(&dir);
        total_scenarios += list.len();
        let (runs_before, agreeing_before) = (tally.runs, tally.agreeing);
        let mut repeated = Repeated::default();
        for (path, s) in list {
            let replayed =
                replay(&s, trace_of(&s)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !replayed.is_empty(),
                "{}: every run was noisy; re-measure",
                path.display()
            );
            repeated.add(&path, &s, &replayed);
            for r in &replayed {
                tally.add(&set, &s.scenario, r, |f| {
                    KNOWN.iter().position(|k| {
                        set_matches(k.0, &set) && k.1 == s.scenario && (k.2 == f || k.2 == "*")
                    })
                });
            }
        }
        per_set.push((
            set,
            tally.agreeing - agreeing_before,
            tally.runs - runs_before,
            repeated,
        ));
    }
    let Tally {
        mut table,
        runs,
        agreeing,
        mut problems,
        seen: known_seen,
    } = tally;
    for p in problems.iter_mut() {
        p.push_str(" outside tolerance");
    }
    writeln!(table, "\n{agreeing} of {runs} runs agree on every figure.").unwrap();
    for (set, a, n, _) in &per_set {
        writeln!(table, "{set}: {a} of {n} runs agree.").unwrap();
    }
    for (set, _, _, repeated) in &per_set {
        repeated.report(&mut table, set);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fidelity.md");
    // The table is the test's report (README "How accurate is simulate" is pasted from it).
    let _ = std::fs::write(&out, &table);
    assert!(
        total_scenarios >= 15,
        "the grid has {total_scenarios} scenarios, issue 11 asks for at least 15"
    );
    problems.extend(
        unseen(&known_seen, KNOWN)
            .map(|k| format!("known deviation {k:?} no longer occurs: remove it from KNOWN")),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// (data set, scenario, figure): where the kernel did not repeat its own figure within the
/// tolerances of issue 11 between a grid and its repeat (`<set>/repeat/`: the same scenarios
/// measured again minutes later on the same kernel with the same binary, quiet machine, same
/// phases; `sudo scripts/fidelity-measure.sh tests/data/fidelity/<set>/repeat`, or
/// `scripts/fidelity-measure-vm.sh` for the VM's set). No model can be
/// held to a figure the kernel does not repeat; the model's [`KNOWN`] deviations in these
/// scenarios are of that kind. A pair shares its phase but not its tick positions (each run's
/// edges fall at their own offset between ticks, recorded as `edge_ns`), one reason why figures
/// charged at ticks (`--burn loop`) do not repeat. A listed figure that starts to repeat fails
/// the test, as does an unlisted one that does not.
const UNREPEATABLE: &[(&str, &str, &str)] = &[
    ("6.18.44-fc-v1252-v1", "above-quota-loop", "p50"),
    ("6.18.44-fc-v1252-v1", "above-quota-loop", "p99"),
    ("6.18.44-fc-v1252-v1", "eq-quota-loop", "usage"),
    ("6.18.44-fc-v1252-v1", "eq-quota-loop", "p50"),
    ("6.18.44-fc-v1252-v1", "eq-quota-loop", "p99"),
    ("6.18.44-fc-v1252-v1", "period20ms", "p50"),
    ("6.18.44-fc-v1252-v1", "period20ms", "p99"),
    ("6.18.44-fc-v1252-v1", "period20ms-loop", "usage"),
    ("6.18.44-fc-v1252-v1", "period20ms-loop", "ratio"),
    ("6.18.44-fc-v1252-v1", "period20ms-loop", "p50"),
    ("6.18.44-fc-v1252-v1", "period5ms", "verdict"),
    ("6.18.44-fc-v1252-v1", "period5ms", "p99"),
    ("6.18.44-fc-v1252-v1", "poisson", "p99"),
    ("6.18.44-fc-v1252-v1", "ref-sweep-loop", "usage"),
    ("6.18.44-fc-v1252-v1", "ref-sweep-loop", "p50"),
    ("6.18.44-fc-v1252-v1", "threads4-q100", "p50"),
    // The TCG VM against itself (`FID_RUNS=6 scripts/fidelity-measure-vm.sh
    // tests/data/fidelity/6.1.0-57-cloud-amd64-v2/repeat`, 2026-12-06 05:54 UTC, nothing else
    // running on the host): 50 of 118 run pairs repeat every figure. Only the scenarios far from
    // the quota (bursts, the 500 ms period, the reference sweep with a clock burner, spinners)
    // repeat; see [`TCG`].
    ("6.1.0-57-cloud-amd64-v2", "above-quota", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "above-quota", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "above-quota", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "above-quota-loop", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "above-quota-loop", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "above-quota-loop", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "above-quota-loop", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "below-quota", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "below-quota", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "below-quota", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "below-quota", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota-loop", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota-loop", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota-loop", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "eq-quota-loop", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms-loop", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms-loop", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms-loop", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "period20ms-loop", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "period5ms", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "period5ms", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "period5ms", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "poisson", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "poisson", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "poisson", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "ref-edge", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "ref-sweep-loop", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "ref-sweep-loop", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "ref-sweep-loop", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "ref-sweep-loop", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "ref-sweep-loop", "verdict"),
    ("6.1.0-57-cloud-amd64-v2", "threads4-q100", "usage"),
    ("6.1.0-57-cloud-amd64-v2", "trace", "p50"),
    ("6.1.0-57-cloud-amd64-v2", "trace", "p99"),
    ("6.1.0-57-cloud-amd64-v2", "trace", "ratio"),
    ("6.1.0-57-cloud-amd64-v2", "trace", "usage"),
];

/// The kernel against itself: each run of a data set's `repeat/` grid against the run of the
/// grid at the same phase, with the replay's tolerances. Writes `target/fidelity-repeat.md`.
#[test]
fn the_kernel_repeats_itself_except_where_listed() {
    let mut tally = Tally::new(
        "usage first / repeat | ratio | p50 ms | p99 ms | repeats",
        UNREPEATABLE.len(),
    );
    let (mut missing, mut sets) = (Vec::new(), 0);
    for dir in data_sets() {
        let repeat_dir = dir.join("repeat");
        if !repeat_dir.is_dir() {
            continue;
        }
        sets += 1;
        let set = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        for (path, first) in scenarios(&dir) {
            let Some(name) = path.file_name() else {
                continue;
            };
            let rp = repeat_dir.join(name);
            let Ok(text) = std::fs::read_to_string(&rp) else {
                missing.push(format!("{set}: no repeat of {}", first.scenario));
                continue;
            };
            let repeat = parse_scenario(&text).unwrap_or_else(|e| panic!("{}: {e}", rp.display()));
            let pairs = compare_repeat(&first, &repeat);
            assert!(
                !pairs.is_empty(),
                "{}: no run pairs at equal phases",
                rp.display()
            );
            for r in &pairs {
                tally.add(&set, &first.scenario, r, |f| {
                    UNREPEATABLE
                        .iter()
                        .position(|k| k.0 == set && k.1 == first.scenario && k.2 == f)
                });
            }
        }
    }
    let Tally {
        mut table,
        runs: pairs_total,
        agreeing: repeating,
        mut problems,
        seen,
    } = tally;
    for p in problems.iter_mut() {
        p.push_str(" not repeated by the kernel: list it in UNREPEATABLE");
    }
    problems.extend(missing);
    writeln!(
        table,
        "\nThe kernel repeated every figure in {repeating} of {pairs_total} run pairs."
    )
    .unwrap();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fidelity-repeat.md");
    let _ = std::fs::write(&out, &table);
    assert!(sets >= 1, "no data set has a repeat/ grid");
    problems.extend(
        unseen(&seen, UNREPEATABLE)
            .map(|k| format!("{k:?} repeats within tolerance now: remove it from UNREPEATABLE")),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Two and three groups competing by `cpu.shares` (with and without a quota), measured with the
/// independent C load generator (`scripts/fidelity/weights.sh`): the simulated split must match
/// each group's measured mean usage within 2 % of the machine (0.04 cores on 2 CPUs; cfs.md
/// correction 10: the balancer's split with few tasks is not exact). The model has no background
/// load while the measurement lost ~3 % of the CPUs to other processes, so the simulated split is
/// applied to the CPU time the groups got together (simulated share × measured total).
#[test]
fn weight_scenarios_replay_within_tolerance() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for dir in data_sets() {
        for path in files(&dir, true) {
            seen += 1;
            let text = std::fs::read_to_string(&path).expect("readable");
            let s: WeightScenario =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let sim = replay_weights(&s).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!s.runs.is_empty(), "{}: no runs", path.display());
            let n = s.runs.len() as f64;
            let measured_total: f64 = s.runs.iter().flat_map(|r| &r.usage_cores).sum::<f64>() / n;
            let sim_total: f64 = sim.iter().sum();
            for (g, share) in sim.iter().enumerate() {
                let simulated = share / sim_total * measured_total;
                let mean = s.runs.iter().map(|r| r.usage_cores[g]).sum::<f64>() / n;
                let tol = 0.02 * s.cpus as f64;
                if (mean - simulated).abs() > tol {
                    problems.push(format!(
                        "{} group {g}: measured {mean:.3} cores, simulated {simulated:.3} (tolerance {tol:.2})",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(seen >= 3, "the weight scenarios are missing ({seen})");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
