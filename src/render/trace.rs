//! Renderers for [`crate::trace::Summary`] — the figures `kcpu simulate` predicts and `kcpu run`
//! measures — as text tables and JSON (pure core: values in, bytes into a writer).
//!
//! - [`write_summary_table`]: one group: context lines, the totals, then one row per run (with
//!   its phase, so `--phase-sweep` prints the phase-resolved table). `kcpu simulate` and
//!   `kcpu run` both print through it; [`write_summary_table_with`] takes the measured extras of
//!   `kcpu run` ([`RunNotes`]: unknown phases, per-run columns such as background CPU, and
//!   footer lines).
//! - [`write_groups_table`]: several groups (node mode), one row per group.
//! - [`write_comparison_table`]: `kcpu run --compare`: measured vs simulated, run by run, each
//!   figure with its delta and `ok`/`OUT` against the tolerance, then the agreement counts.
//! - [`write_json`]: any serialisable result, pretty-printed, newline-terminated.
//!
//! Tables use an ASCII preset and never query the terminal width, so output is deterministic.

use crate::stats::{Comparison, Figure, FigureDelta, RunComparison};
use crate::trace::{Percentiles, Summary, Totals};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;
use std::io::{self, Write};

/// One row of [`write_groups_table`].
#[derive(Debug, Clone, Copy)]
pub struct GroupRow<'a> {
    /// Group name.
    pub name: &'a str,
    /// Its limit, already formatted (e.g. `200ms/100ms +50ms`).
    pub limit: &'a str,
    /// Its weight, already formatted (e.g. `shares 512`).
    pub weight: &'a str,
    /// Its load, already formatted.
    pub load: &'a str,
    /// Its figures.
    pub summary: &'a Summary,
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_style(presets::ASCII_BORDERS_ONLY_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Disabled);
    t
}

fn right_align(t: &mut Table, from: usize, to: usize) {
    for i in from..to {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Formats µs as a short human duration.
pub fn human_us(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{us} us")
    }
}

fn pct_line(p: &Percentiles) -> String {
    if p.count == 0 {
        return "- (no requests)".to_string();
    }
    format!(
        "p50 {}  p90 {}  p99 {}  max {}  (n={})",
        ms(p.p50_ms),
        ms(p.p90_ms),
        ms(p.p99_ms),
        ms(p.max_ms),
        p.count
    )
}

fn totals_rows(t: &Totals, runs: u32) -> Vec<(&'static str, String)> {
    let per_run = |v: u64| {
        if runs > 1 {
            format!("  ({} per run)", human_us(v / runs as u64))
        } else {
            String::new()
        }
    };
    vec![
        ("nr_periods", t.nr_periods.to_string()),
        ("nr_throttled", t.nr_throttled.to_string()),
        ("throttled ratio", format!("{:.3}", t.throttled_ratio)),
        (
            "throttled time",
            format!(
                "{}{}",
                human_us(t.throttled_time_us),
                per_run(t.throttled_time_us)
            ),
        ),
        ("nr_bursts", t.nr_bursts.to_string()),
        (
            "burst time",
            format!("{}{}", human_us(t.burst_time_us), per_run(t.burst_time_us)),
        ),
        ("usage", format!("{:.3} cores", t.usage_cores)),
        ("latency (ms)", pct_line(&t.latency)),
        ("wake-up (ms)", pct_line(&t.wakeup)),
    ]
}

/// What a measurement adds to [`write_summary_table`]'s per-run table (`kcpu run`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunNotes {
    /// Phase of each run, `None` when unknown (no quota: no period edge to find), shown as `-`.
    /// Overrides [`crate::trace::RunResult::phase_us`] when given.
    pub phases_us: Option<Vec<Option<u64>>>,
    /// Extra columns after the standard ones: header and one cell per run (missing cells are
    /// shown empty).
    pub extra: Vec<(String, Vec<String>)>,
    /// Lines written after the tables.
    pub footer: Vec<String>,
}

/// The `key: value` context lines, then a blank line when there were any.
fn write_context<W: Write>(w: &mut W, context: &[(String, String)]) -> io::Result<()> {
    for (k, v) in context {
        writeln!(w, "{k}: {v}")?;
    }
    if !context.is_empty() {
        writeln!(w)?;
    }
    Ok(())
}

/// Writes one group's summary: `context` as `key: value` lines, the totals, and the per-run
/// table (run, phase, counters, usage, latency).
pub fn write_summary_table<W: Write>(
    w: &mut W,
    context: &[(String, String)],
    summary: &Summary,
) -> io::Result<()> {
    write_summary_table_with(w, context, summary, &RunNotes::default())
}

/// [`write_summary_table`] with a measurement's [`RunNotes`].
pub fn write_summary_table_with<W: Write>(
    w: &mut W,
    context: &[(String, String)],
    summary: &Summary,
    notes: &RunNotes,
) -> io::Result<()> {
    write_context(w, context)?;
    let mut t = new_table();
    t.set_header(vec!["totals", "all runs"]);
    t.add_row(vec![
        "runs throttled".to_string(),
        format!("{} / {}", summary.runs_throttled, summary.runs),
    ]);
    for (k, v) in totals_rows(&summary.totals, summary.runs) {
        t.add_row(vec![k.to_string(), v]);
    }
    writeln!(w, "{t}")?;
    if !summary.per_run.is_empty() {
        writeln!(w)?;
        write_runs(w, summary, notes)?;
    }
    for line in &notes.footer {
        writeln!(w, "{line}")?;
    }
    Ok(())
}

fn write_runs<W: Write>(w: &mut W, summary: &Summary, notes: &RunNotes) -> io::Result<()> {
    let mut r = new_table();
    let mut header: Vec<String> = [
        "run",
        "phase ms",
        "periods",
        "throttled",
        "ratio",
        "throttled ms",
        "bursts",
        "usage",
        "p50 ms",
        "p99 ms",
        "max ms",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    header.extend(notes.extra.iter().map(|(h, _)| h.clone()));
    r.set_header(header);
    let lat = |x: &Totals, v: f64| {
        if x.latency.count > 0 {
            ms(v)
        } else {
            "-".into()
        }
    };
    let shown = shown_runs(&summary.per_run);
    for &i in &shown {
        let Some(run) = summary.per_run.get(i) else {
            continue;
        };
        let x = &run.totals;
        let phase = match &notes.phases_us {
            Some(p) => p.get(i).copied().flatten(),
            None => Some(run.phase_us),
        };
        let mut row = vec![
            run.run.to_string(),
            phase.map_or_else(|| "-".into(), |p| format!("{:.3}", p as f64 / 1e3)),
            x.nr_periods.to_string(),
            x.nr_throttled.to_string(),
            format!("{:.3}", x.throttled_ratio),
            format!("{:.1}", x.throttled_time_us as f64 / 1e3),
            x.nr_bursts.to_string(),
            format!("{:.3}", x.usage_cores),
            lat(x, x.latency.p50_ms),
            lat(x, x.latency.p99_ms),
            lat(x, x.latency.max_ms),
        ];
        row.extend(
            notes
                .extra
                .iter()
                .map(|(_, cells)| cells.get(i).cloned().unwrap_or_default()),
        );
        r.add_row(row);
    }
    right_align(&mut r, 0, 11 + notes.extra.len());
    writeln!(w, "{r}")?;
    let more = summary.per_run.len() - shown.len();
    if more > 0 {
        writeln!(
            w,
            "… and {more} more runs not shown (above: the first {RUN_ROWS} and the {RUN_ROWS} most throttled; `--output json` lists every run)"
        )?;
    }
    Ok(())
}

/// Rows of the per-run table when there are more than twice this many runs: the first ones
/// and the most throttled ones.
pub const RUN_ROWS: usize = 10;

/// Indices of the runs the table shows, in run order: every run up to `2 × RUN_ROWS`, else
/// the first [`RUN_ROWS`] and the [`RUN_ROWS`] most throttled others (by throttled ratio,
/// then p99 latency).
fn shown_runs(runs: &[crate::trace::RunResult]) -> Vec<usize> {
    if runs.len() <= 2 * RUN_ROWS {
        return (0..runs.len()).collect();
    }
    let mut rest: Vec<usize> = (RUN_ROWS..runs.len()).collect();
    rest.sort_by(|&a, &b| {
        let (x, y) = (&runs[a].totals, &runs[b].totals);
        y.throttled_ratio
            .total_cmp(&x.throttled_ratio)
            .then(y.latency.p99_ms.total_cmp(&x.latency.p99_ms))
            .then(a.cmp(&b))
    });
    let mut v: Vec<usize> = (0..RUN_ROWS)
        .chain(rest.into_iter().take(RUN_ROWS))
        .collect();
    v.sort_unstable();
    v
}

/// Writes several groups, one row each (node mode).
pub fn write_groups_table<W: Write>(
    w: &mut W,
    context: &[(String, String)],
    rows: &[GroupRow<'_>],
) -> io::Result<()> {
    write_context(w, context)?;
    let mut t = new_table();
    t.set_header(vec![
        "group",
        "limit",
        "weight",
        "load",
        "usage",
        "periods",
        "throttled",
        "ratio",
        "throttled ms/run",
        "runs thr",
        "p50 ms",
        "p99 ms",
        "max ms",
    ]);
    for row in rows {
        let s = row.summary;
        let x = &s.totals;
        let runs = s.runs.max(1) as f64;
        let lat = |v: f64| {
            if x.latency.count > 0 {
                ms(v)
            } else {
                "-".to_string()
            }
        };
        t.add_row(vec![
            row.name.to_string(),
            row.limit.to_string(),
            row.weight.to_string(),
            row.load.to_string(),
            format!("{:.3}", x.usage_cores),
            x.nr_periods.to_string(),
            x.nr_throttled.to_string(),
            format!("{:.3}", x.throttled_ratio),
            format!("{:.1}", x.throttled_time_us as f64 / 1e3 / runs),
            format!("{}/{}", s.runs_throttled, s.runs),
            lat(x.latency.p50_ms),
            lat(x.latency.p99_ms),
            lat(x.latency.max_ms),
        ]);
    }
    right_align(&mut t, 4, 13);
    writeln!(w, "{t}")
}

fn figure_value(f: Figure, v: f64) -> String {
    match f {
        Figure::Usage | Figure::ThrottledRatio => format!("{v:.3}"),
        Figure::P50 | Figure::P99 => ms(v),
    }
}

fn delta_cell(d: &FigureDelta) -> String {
    let verdict = match d.ok {
        None => return "-".to_string(),
        Some(true) => "ok",
        Some(false) => "OUT",
    };
    let delta = match d.figure {
        Figure::Usage if d.measured != 0.0 => format!("{:+.1}%", 100.0 * d.delta / d.measured),
        Figure::Usage => format!("{:+.3}", d.delta),
        Figure::ThrottledRatio => format!("{:+.1}pt", 100.0 * d.delta),
        Figure::P50 | Figure::P99 => format!("{:+.1}", d.delta),
    };
    format!("{delta} {verdict}")
}

fn comparison_row(label: String, phase: String, r: &RunComparison) -> Vec<String> {
    let mut row = vec![label, phase];
    for d in &r.figures {
        if d.ok.is_none() && d.measured == 0.0 && d.simulated == 0.0 {
            row.push("-".to_string());
        } else {
            row.push(format!(
                "{} / {}",
                figure_value(d.figure, d.measured),
                figure_value(d.figure, d.simulated)
            ));
        }
        row.push(delta_cell(d));
    }
    row.push(if r.agrees() { "yes" } else { "no" }.to_string());
    row
}

/// Writes `kcpu run --compare`: one row per run with `measured / simulated` and `delta ok|OUT`
/// for usage (cores; delta in %), throttled ratio (delta in points), p50 and p99 (ms), a totals
/// row, the tolerances and the agreement counts.
pub fn write_comparison_table<W: Write>(w: &mut W, c: &Comparison) -> io::Result<()> {
    let mut t = new_table();
    let mut header = vec!["run".to_string(), "phase ms".to_string()];
    for f in Figure::ALL {
        let unit = match f {
            Figure::P50 | Figure::P99 => " ms",
            _ => "",
        };
        header.push(format!("{}{unit} run / sim", f.name()));
        header.push("delta".to_string());
    }
    header.push("agree".to_string());
    t.set_header(header);
    for r in &c.runs {
        t.add_row(comparison_row(
            r.run.map_or_else(|| "-".to_string(), |n| n.to_string()),
            r.phase_us
                .map_or_else(|| "-".to_string(), |p| format!("{:.3}", p as f64 / 1e3)),
            r,
        ));
    }
    t.add_row(comparison_row("all".to_string(), String::new(), &c.totals));
    right_align(&mut t, 0, 11);
    writeln!(w, "{t}")?;
    let tol = &c.tolerances;
    writeln!(
        w,
        "tolerances: usage ±{:.0}%, throttled ratio ±{:.0} points, p50 ±max({} ms, {:.0}%), p99 ±{:.0}%",
        tol.usage_rel * 100.0,
        tol.ratio_abs * 100.0,
        ms(tol.p50_floor_ms),
        tol.p50_rel * 100.0,
        tol.p99_rel * 100.0
    )?;
    let counts: Vec<String> = c
        .agreement
        .iter()
        .map(|a| {
            if a.applicable == 0 {
                format!("{} n/a", a.figure.name())
            } else {
                format!("{} {}/{}", a.figure.name(), a.agree, a.applicable)
            }
        })
        .collect();
    writeln!(
        w,
        "agreement (runs within tolerance): {}; runs agreeing on every figure {}/{}; totals {}",
        counts.join(", "),
        c.runs_agreeing,
        c.runs.len(),
        if c.totals.agrees() { "agree" } else { "differ" }
    )
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json<W: Write, T: Serialize + ?Sized>(w: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value).map_err(io::Error::other)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::RunResult;

    fn summary() -> Summary {
        let totals = Totals {
            nr_periods: 100,
            nr_throttled: 50,
            throttled_ratio: 0.5,
            throttled_time_us: 2_500_000,
            usage_cores: 0.8,
            latency: Percentiles {
                p50_ms: 104.3,
                p90_ms: 125.0,
                p99_ms: 129.6,
                max_ms: 129.6,
                count: 100,
            },
            ..Totals::default()
        };
        Summary {
            runs_throttled: 1,
            runs: 2,
            totals: totals.clone(),
            per_run: vec![
                RunResult {
                    run: 0,
                    phase_us: 12_500,
                    totals: totals.clone(),
                },
                RunResult {
                    run: 1,
                    phase_us: 60_000,
                    totals: Totals::default(),
                },
            ],
        }
    }

    #[test]
    fn summary_table_has_totals_and_phases() {
        let mut out = Vec::new();
        write_summary_table(
            &mut out,
            &[("limit".into(), "100ms/100ms".into())],
            &summary(),
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("limit: 100ms/100ms\n"));
        assert!(s.contains("runs throttled"));
        assert!(s.contains("1 / 2"));
        assert!(s.contains("p50 104.3  p90 125.0  p99 129.6"));
        assert!(s.contains("12.500"), "{s}");
        assert!(
            s.contains("1.2 s per run") || s.contains("(1250.0 ms per run)"),
            "{s}"
        );
        assert!(s.contains("- (no requests)"));
    }

    #[test]
    fn run_notes_add_columns_unknown_phases_and_footer() {
        let notes = RunNotes {
            phases_us: Some(vec![None, Some(7_250)]),
            extra: vec![("bg cores".into(), vec!["0.05".into(), "1.20 noisy".into()])],
            footer: vec!["command exited with 0".into()],
        };
        let mut out = Vec::new();
        write_summary_table_with(&mut out, &[], &summary(), &notes).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("bg cores"), "{s}");
        assert!(s.contains("1.20 noisy"), "{s}");
        assert!(s.contains("7.250"), "{s}");
        // Run 0's phase is unknown: its recorded 12.5 ms is not shown.
        assert!(!s.contains("12.500"), "{s}");
        assert!(s.trim_end().ends_with("command exited with 0"), "{s}");
        // Without notes the output is the plain table.
        let mut plain = Vec::new();
        write_summary_table(&mut plain, &[], &summary()).unwrap();
        let mut same = Vec::new();
        write_summary_table_with(&mut same, &[], &summary(), &RunNotes::default()).unwrap();
        assert_eq!(plain, same);
    }

    #[test]
    fn groups_table_and_json() {
        let s = summary();
        let mut out = Vec::new();
        write_groups_table(
            &mut out,
            &[],
            &[GroupRow {
                name: "api",
                limit: "100ms/100ms",
                weight: "shares 1024",
                load: "spin:threads=1",
                summary: &s,
            }],
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("api") && text.contains("1/2") && text.contains("1250.0"),
            "{text}"
        );
        let mut j = Vec::new();
        write_json(&mut j, &s).unwrap();
        let back: Summary = serde_json::from_slice(&j).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_us(999), "999 us");
        assert_eq!(human_us(12_345), "12.3 ms");
        assert_eq!(human_us(12_345_678), "12.3 s");
    }

    #[test]
    fn comparison_table_marks_each_figure() {
        use crate::stats::{compare, Tolerances};
        let m = summary();
        let mut s = summary();
        s.per_run[0].totals.usage_cores = 0.9; // +12.5%: OUT
        s.per_run[0].totals.latency.p99_ms = 140.0; // +8%: ok
        let c = compare(&m, &s, &Tolerances::for_hz(250));
        let mut out = Vec::new();
        write_comparison_table(&mut out, &c).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("0.800 / 0.900"), "{text}");
        assert!(text.contains("+12.5% OUT"), "{text}");
        assert!(text.contains("+10.4 ok"), "{text}");
        assert!(text.contains("+0.0pt ok"), "{text}");
        assert!(
            text.contains("usage 1/2, throttled ratio 2/2, p50 1/1, p99 1/1; runs agreeing on every figure 1/2"),
            "{text}"
        );
        assert!(text.contains("p50 ±max(4.00 ms, 5%)"), "{text}");
    }
}
