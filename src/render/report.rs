//! Capacity report renderers (pure core): HTML (one self-contained file: inline CSS and SVG, no
//! external URL, every user string escaped), Markdown (GitHub-flavoured, for pull-request
//! comments) and JSON (everything).
//!
//! At scale (hundreds of workloads) every list in the findings shows its first
//! [`LIST_LIMIT`] items and "and N more"; the Markdown tables show the largest
//! [`MD_ROWS`] rows, and the whole Markdown stays under GitHub's 65,536-character comment
//! limit ([`MD_BUDGET`], truncated at a line with a note). HTML and JSON keep every row.

use crate::capacity::CapacityReport;
use crate::profile::Assumptions;
use serde::Serialize;
use std::io::{self, Write};

/// One chart of the report: its file stem and its SVG text.
#[derive(Debug, Clone, Serialize)]
pub struct ChartDoc {
    /// Page title.
    pub title: String,
    /// File stem (`namespaces` → `namespaces.svg`, `namespaces.png`).
    pub file: String,
    /// SVG text, inlined in the HTML.
    #[serde(skip)]
    pub svg: String,
}

/// What a report renderer needs.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDoc<'a> {
    /// The node assumptions every number depends on.
    pub assumptions: &'a Assumptions,
    /// The inputs, as given.
    pub inputs: Vec<String>,
    /// Input problems (`file:line:col: message`).
    pub problems: Vec<String>,
    /// What the report left out or assumed that is not an input problem (containers not
    /// simulated because of `--max-simulations` or refused by the simulator, missing node
    /// shapes).
    pub notes: Vec<String>,
    /// The kernel model every throttling figure assumes ([`crate::sim::Machine::describe`]).
    pub model: String,
    /// The report.
    pub report: &'a CapacityReport,
    /// Chart images embedded in the report.
    pub charts: Vec<ChartDoc>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Control characters (ESC, BEL, bidi overrides) never reach the page raw.
            c if crate::render::escape::is_unsafe(c) && c != '\n' => o.extend(c.escape_debug()),
            _ => o.push(c),
        }
    }
    o
}

/// Escapes text for a Markdown table cell.
pub fn escape_md(s: &str) -> String {
    crate::render::escape::escape(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

fn m(v: i64) -> String {
    if v % 1000 == 0 {
        format!("{}", v / 1000)
    } else {
        format!("{:.2}", v as f64 / 1000.0)
    }
}

fn opt_m(v: Option<i64>) -> String {
    v.map_or_else(|| "–".to_string(), m)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{:.0}%", x * 100.0))
}

fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.2}×"))
}

/// Items of a findings list shown before "and N more".
pub const LIST_LIMIT: usize = 10;
/// Rows of a Markdown table (the largest first); HTML and JSON show every row.
pub const MD_ROWS: usize = 25;
/// Largest Markdown report in bytes: GitHub rejects comments over 65,536 characters, and a
/// byte count is never below the character count. The margin leaves room for a bot's header.
pub const MD_BUDGET: usize = 60_000;

/// `items` joined by ", ", the first `limit` of them, then "and N more".
pub fn top_list(items: &[String], limit: usize) -> String {
    let mut s = items
        .iter()
        .take(limit)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > limit {
        s.push_str(&format!(" and {} more", items.len() - limit));
    }
    s
}

/// One table: title, header cells, rows of cells, and the sort key (largest first) used when
/// only the top rows are shown.
struct TableDoc {
    title: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// What "the largest" means for this table (None: rows keep their order).
    key: Option<(&'static str, Vec<i64>)>,
}

impl TableDoc {
    /// The first `n` rows by the key (stable for ties), and how many were left out.
    fn top(&self, n: usize) -> (Vec<&Vec<String>>, usize) {
        let mut idx: Vec<usize> = (0..self.rows.len()).collect();
        if let Some((_, k)) = &self.key {
            idx.sort_by(|a, b| k[*b].cmp(&k[*a]).then(a.cmp(b)));
        }
        let shown: Vec<&Vec<String>> = idx.iter().take(n).map(|i| &self.rows[*i]).collect();
        let left = self.rows.len() - shown.len();
        (shown, left)
    }
}

/// The tables of the report — shared by HTML and Markdown so the two always agree.
fn tables(d: &ReportDoc) -> Vec<TableDoc> {
    let r = d.report;
    let mut out = vec![
        totals_table(r),
        namespaces_table(r),
        workloads_table(r),
        node_fit_table(r),
    ];
    out.extend(throttling_tables(r));
    out
}

/// Cluster totals and overcommit ratios.
fn totals_table(r: &CapacityReport) -> TableDoc {
    let t = &r.totals;
    TableDoc {
        title: "Totals",
        header: vec![
            "workloads",
            "pods",
            "requests (CPUs)",
            "limits (CPUs)",
            "unlimited pods",
            "allocatable (CPUs)",
            "limits / requests",
            "requests / allocatable",
            "limits / allocatable",
        ],
        rows: vec![vec![
            t.workloads.to_string(),
            t.pods.to_string(),
            m(t.request_millicores),
            m(t.limit_millicores),
            t.unlimited_pods.to_string(),
            m(t.allocatable_millicores),
            no_limits(t.overcommit_limits_over_requests, ratio),
            pct(t.requests_over_allocatable),
            no_limits(t.limits_over_allocatable, pct),
        ]],
        key: None,
    }
}

/// Per-namespace requests, limits and QoS mix.
fn namespaces_table(r: &CapacityReport) -> TableDoc {
    TableDoc {
        title: "Namespaces",
        header: vec![
            "namespace",
            "workloads",
            "pods",
            "requests (CPUs)",
            "limits (CPUs)",
            "unlimited pods",
            "QoS mix",
            "limits / requests",
        ],
        rows: r
            .namespaces
            .iter()
            .map(|n| {
                vec![
                    n.namespace.clone(),
                    n.workloads.to_string(),
                    n.pods.to_string(),
                    m(n.request_millicores),
                    m(n.limit_millicores),
                    n.unlimited_pods.to_string(),
                    n.qos
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    no_limits(n.overcommit, ratio),
                ]
            })
            .collect(),
        key: Some((
            "requests",
            r.namespaces.iter().map(|n| n.request_millicores).collect(),
        )),
    }
}

/// Per-workload pod values and containers.
fn workloads_table(r: &CapacityReport) -> TableDoc {
    TableDoc {
        title: "Workloads",
        header: vec![
            "workload",
            "QoS",
            "replicas",
            "pod request",
            "pod limit",
            "total request",
            "total limit",
            "pod cpu.weight",
            "pod cpu.max",
            "containers (request/limit → cpu.weight, cpu.max)",
        ],
        rows: r
            .workloads
            .iter()
            .map(|w| {
                vec![
                    format!("{} {}/{}", w.kind, w.namespace, w.name),
                    w.qos.to_string(),
                    format!("{} ({})", w.replicas, w.replicas_from),
                    m(w.pod_request_millicores),
                    opt_m(w.pod_limit_millicores),
                    m(w.total_request_millicores),
                    opt_m(w.total_limit_millicores),
                    w.pod_cpu_weight.to_string(),
                    w.pod_cpu_max.to_string(),
                    w.containers
                        .iter()
                        .map(|c| {
                            format!(
                                "{} [{}] {}/{} → {}, {}",
                                c.name,
                                c.role,
                                opt_m(c.request_millicores),
                                opt_m(c.limit_millicores),
                                c.cpu_weight,
                                c.cpu_max
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect(),
        key: Some((
            "total request",
            r.workloads
                .iter()
                .map(|w| w.total_request_millicores)
                .collect(),
        )),
    }
}

/// Requests packed onto the node shapes.
fn node_fit_table(r: &CapacityReport) -> TableDoc {
    let f = &r.node_fit;
    TableDoc {
        title: "Node fit",
        header: vec![
            "node",
            "allocatable",
            "DaemonSet requests",
            "pod requests",
            "pods (max)",
            "headroom",
        ],
        rows: f
            .nodes
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    m(n.allocatable_millicores),
                    m(n.daemonset_millicores),
                    m(n.pods_millicores),
                    format!("{} ({})", n.pods, n.max_pods),
                    m(n.headroom_millicores),
                ]
            })
            .collect(),
        key: Some((
            "requests",
            f.nodes
                .iter()
                .map(|n| n.pods_millicores + n.daemonset_millicores)
                .collect(),
        )),
    }
}

/// The throttling tables: declared loads (predictions), then assumed loads ("what if").
fn throttling_tables(r: &CapacityReport) -> [TableDoc; 2] {
    let row = |t: &crate::capacity::ThrottleRow| {
        vec![
            t.workload.clone(),
            t.container.clone(),
            t.cpu_max.to_string(),
            format!("{} ({})", t.load, t.load_from),
            format!("{:.0}%", t.throttled_ratio * 100.0),
            format!("{:.1}", t.p50_ms),
            format!("{:.1}", t.p99_ms),
            format!("{:.2}", t.usage_cores),
            t.explanation.clone(),
        ]
    };
    let header = vec![
        "workload",
        "container",
        "cpu.max",
        "load (from)",
        "periods throttled",
        "p50 ms",
        "p99 ms",
        "CPUs used",
        "why",
    ];
    let declared = TableDoc {
        title: "Throttling prediction (containers with a declared load)",
        header: header.clone(),
        rows: r
            .throttling
            .iter()
            .filter(|t| t.load_from == crate::capacity::LOAD_FROM_ANNOTATION)
            .map(row)
            .collect(),
        // Already riskiest first.
        key: None,
    };
    let assumed = TableDoc {
        title:
            "What if (assumed load, not a prediction): the request arriving as one burst per period",
        header,
        rows: r
            .throttling
            .iter()
            .filter(|t| t.load_from != crate::capacity::LOAD_FROM_ANNOTATION)
            .map(row)
            .collect(),
        key: None,
    };
    [declared, assumed]
}

/// A ratio over limits, or "no limits" when no pod has one (not `0.00×`).
fn no_limits(v: Option<f64>, f: fn(Option<f64>) -> String) -> String {
    match v {
        Some(_) => f(v),
        None => "no limits".to_string(),
    }
}

fn counted(map: &std::collections::BTreeMap<String, u32>) -> Vec<String> {
    let mut v: Vec<(&String, &u32)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .map(|(k, n)| {
            if *n > 1 {
                format!("{k} ×{n}")
            } else {
                k.clone()
            }
        })
        .collect()
}

fn findings(d: &ReportDoc) -> Vec<String> {
    let r = d.report;
    let f = &r.node_fit;
    let mut v = Vec::new();
    if let Some(n) = f.nodes_needed_of_largest_shape {
        let apart = if f.too_large_pods > 0 {
            format!(
                " (leaving out the {} pod(s) larger than any node)",
                f.too_large_pods
            )
        } else {
            String::new()
        };
        v.push(format!(
            "The pods' requests fit on {n} node(s) of the largest shape{apart} (first-fit decreasing, at most {} pods per node); the cluster described has {}.",
            f.shapes.iter().map(|s| s.max_pods).max().unwrap_or(0),
            f.nodes.len()
        ));
    }
    if f.too_large_pods > 0 {
        v.push(format!(
            "{} pod(s) are larger than any node (request above every node's allocatable CPU after DaemonSets, or no pod slot left): {}",
            f.too_large_pods,
            top_list(&counted(&f.too_large), LIST_LIMIT)
        ));
    }
    if f.no_room_pods > 0 {
        v.push(format!(
            "{} pod(s) found no room left on the {} node(s) given (CPU or pod slots): {}",
            f.no_room_pods,
            f.nodes.len(),
            top_list(&counted(&f.no_room), LIST_LIMIT)
        ));
    }
    if !r.containers_without_request.is_empty() {
        v.push(format!(
            "{} container(s) without a CPU request (cpu.shares 2 / cpu.weight 1 under contention): {}",
            r.containers_without_request.len(),
            top_list(&r.containers_without_request, LIST_LIMIT)
        ));
    }
    if !r.top_limit_request_ratio.is_empty() {
        v.push(format!(
            "Highest limit/request ratios: {}",
            top_list(&r.top_limit_request_ratio, LIST_LIMIT)
        ));
    }
    let declared = r
        .throttling
        .iter()
        .filter(|t| t.load_from == crate::capacity::LOAD_FROM_ANNOTATION)
        .count();
    let what_if = r.throttling.len() - declared;
    if what_if > 0 {
        v.push(format!(
            "{what_if} limited container(s) declare no load (kcpu.dev/load annotation): their throttling is not predicted; the \"What if\" table shows an assumed request-sized burst per period, not what they do."
        ));
    }
    if !r.throttling.is_empty() {
        v.push(format!("Throttling figures: {}.", d.model));
    }
    if !d.problems.is_empty() {
        v.push(format!(
            "{} input problem(s): {}",
            d.problems.len(),
            top_list(&d.problems, LIST_LIMIT)
        ));
    }
    v.extend(d.notes.iter().map(|n| format!("Note: {n}")));
    v
}

/// Writes the self-contained HTML report.
pub fn write_html(out: &mut dyn Write, d: &ReportDoc) -> io::Result<()> {
    let a = d.assumptions;
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>kcpu capacity report</title>")?;
    writeln!(
        out,
        "<style>\nbody{{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1200px;color:#1b1f24;padding:0 1rem}}\nh1{{font-size:1.6rem}}h2{{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de}}\ntable{{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}}\nth,td{{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}}\nth{{background:#f6f8fa}}\ntr:nth-child(even) td{{background:#fbfcfd}}\n.meta{{color:#57606a;font-size:.9rem}}\n.chart svg{{max-width:100%;height:auto;border:1px solid #d0d7de}}\nli{{margin:.3rem 0}}\n</style>\n</head>\n<body>"
    )?;
    writeln!(out, "<h1>kcpu capacity report</h1>")?;
    writeln!(
        out,
        "<p class=\"meta\">Inputs: {}<br>Assumptions: cgroup {}, runtime {}, driver {}, CFS period {} µs, Kubernetes {}.</p>",
        escape_html(&d.inputs.join(", ")),
        escape_html(&a.cgroup.to_string()),
        escape_html(&a.runtime.to_string()),
        escape_html(&a.driver.to_string()),
        a.cfs_period.0,
        escape_html(&a.kubernetes.to_string())
    )?;
    let fs = findings(d);
    if !fs.is_empty() {
        writeln!(out, "<h2>Findings</h2>\n<ul>")?;
        for f in fs {
            writeln!(out, "<li>{}</li>", escape_html(&f))?;
        }
        writeln!(out, "</ul>")?;
    }
    for c in &d.charts {
        writeln!(
            out,
            "<h2>{}</h2>\n<div class=\"chart\">{}</div>",
            escape_html(&c.title),
            strip_xml_decl(&c.svg)
        )?;
    }
    for t in tables(d) {
        writeln!(out, "<h2>{}</h2>", escape_html(t.title))?;
        if t.rows.is_empty() {
            writeln!(out, "<p class=\"meta\">none</p>")?;
            continue;
        }
        write!(out, "<table><thead><tr>")?;
        for h in &t.header {
            write!(out, "<th>{}</th>", escape_html(h))?;
        }
        writeln!(out, "</tr></thead><tbody>")?;
        for row in &t.rows {
            write!(out, "<tr>")?;
            for cell in row {
                write!(out, "<td>{}</td>", escape_html(cell))?;
            }
            writeln!(out, "</tr>")?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(
        out,
        "<p class=\"meta\">{}</p>\n</body>\n</html>",
        escape_html(d.report.node_fit.method)
    )
}

/// SVG text without an XML declaration, for inlining in HTML.
fn strip_xml_decl(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// Writes the Markdown report (charts linked as the SVG files written beside it): findings,
/// then the largest [`MD_ROWS`] rows of each table with "and N more", the whole cut to
/// [`MD_BUDGET`] bytes at a line boundary with a note when still too long.
pub fn write_markdown(out: &mut dyn Write, d: &ReportDoc) -> io::Result<()> {
    let text = markdown(d);
    out.write_all(text.as_bytes())
}

/// The Markdown report as a string (see [`write_markdown`]).
pub fn markdown(d: &ReportDoc) -> String {
    use std::fmt::Write as _;
    let a = d.assumptions;
    let mut s = String::new();
    let _ = writeln!(s, "# kcpu capacity report\n");
    let _ = writeln!(
        s,
        "Inputs: {}. Assumptions: cgroup {}, runtime {}, driver {}, CFS period {} µs, Kubernetes {}.\n",
        escape_md(&top_list(&d.inputs, LIST_LIMIT)),
        a.cgroup,
        a.runtime,
        a.driver,
        a.cfs_period.0,
        a.kubernetes
    );
    for f in findings(d) {
        let _ = writeln!(s, "- {}", escape_md(&f));
    }
    let _ = writeln!(s);
    for c in &d.charts {
        let _ = writeln!(s, "![{}]({}.svg)\n", escape_md(&c.title), c.file);
    }
    for t in tables(d) {
        let _ = writeln!(s, "## {}\n", t.title);
        if t.rows.is_empty() {
            let _ = writeln!(s, "none\n");
            continue;
        }
        let (rows, left) = t.top(MD_ROWS);
        let _ = writeln!(s, "| {} |", t.header.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(t.header.len()));
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| escape_md(c)).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        if left > 0 {
            let by = t
                .key
                .as_ref()
                .map_or(String::new(), |(k, _)| format!(" (largest {k} first)"));
            let _ = writeln!(
                s,
                "\n…and {left} more row(s){by}: every row is in report.html and report.json."
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "_{}_", d.report.node_fit.method);
    truncate_markdown(s, MD_BUDGET)
}

/// Cuts `s` at the last line boundary that leaves room for a note, when longer than `budget`.
fn truncate_markdown(s: String, budget: usize) -> String {
    if s.len() <= budget {
        return s;
    }
    let note_room = 200;
    let mut cut = budget.saturating_sub(note_room);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = s[..cut].rfind('\n').map_or(0, |i| i + 1);
    format!(
        "{}\n_Truncated: {} more characters did not fit GitHub's 65,536-character comment limit; every detail is in report.html and report.json._\n",
        &s[..cut],
        s[cut..].chars().count()
    )
}

/// Writes the JSON report (everything, charts by file name).
pub fn write_json(out: &mut dyn Write, d: &ReportDoc) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert_eq!(escape_md("a|b<c>"), "a\\|b&lt;c&gt;");
        assert_eq!(
            strip_xml_decl("<?xml version=\"1.0\"?>\n<svg a>"),
            "<svg a>"
        );
        assert_eq!(m(1500), "1.50");
        assert_eq!(m(2000), "2");
    }

    #[test]
    fn html_escapes_user_strings() {
        let a = Assumptions::default();
        let mut r = CapacityReport::default();
        r.containers_without_request
            .push("ns/<img src=x onerror=alert(1)> c".into());
        let d = ReportDoc {
            assumptions: &a,
            inputs: vec!["<in>".into()],
            problems: vec![],
            notes: vec![],
            model: String::new(),
            report: &r,
            charts: vec![],
        };
        let mut out = Vec::new();
        write_html(&mut out, &d).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<img"), "user markup must be escaped");
        assert!(html.contains("&lt;img src=x"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
