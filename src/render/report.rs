//! Capacity report renderers (pure core): HTML (one self-contained file: inline CSS and SVG, no
//! external URL, every user string escaped), Markdown (GitHub-flavoured, for pull-request
//! comments) and JSON (everything).

use crate::capacity::CapacityReport;
use crate::profile::Assumptions;
use serde::Serialize;
use std::io::{self, Write};

/// One chart of the report: its file stem and its SVG text.
#[derive(Debug, Clone, Serialize)]
pub struct ChartDoc {
    /// Title.
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
    /// Input problems (`file:line:col: message`) and containers left out of the simulation.
    pub problems: Vec<String>,
    /// The kernel model every throttling figure assumes ([`crate::sim::Machine::describe`]).
    pub model: String,
    /// The report.
    pub report: &'a CapacityReport,
    /// Charts.
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
            _ => o.push(c),
        }
    }
    o
}

/// Escapes text for a Markdown table cell.
pub fn escape_md(s: &str) -> String {
    s.replace('\\', "\\\\")
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

/// A table: title, header cells, rows of cells.
type TableDoc = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// The tables of the report as (title, header, rows) — shared by HTML and Markdown so the two
/// always agree.
fn tables(d: &ReportDoc) -> Vec<TableDoc> {
    let r = d.report;
    let t = &r.totals;
    let mut out = Vec::new();
    out.push((
        "Totals",
        vec![
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
        vec![vec![
            t.workloads.to_string(),
            t.pods.to_string(),
            m(t.request_millicores),
            m(t.limit_millicores),
            t.unlimited_pods.to_string(),
            m(t.allocatable_millicores),
            ratio(t.overcommit_limits_over_requests),
            pct(t.requests_over_allocatable),
            pct(t.limits_over_allocatable),
        ]],
    ));
    out.push((
        "Namespaces",
        vec![
            "namespace",
            "workloads",
            "pods",
            "requests (CPUs)",
            "limits (CPUs)",
            "unlimited pods",
            "QoS mix",
            "limits / requests",
        ],
        r.namespaces
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
                    ratio(n.overcommit),
                ]
            })
            .collect(),
    ));
    out.push((
        "Workloads",
        vec![
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
        r.workloads
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
                    w.pod_cpu_max.clone(),
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
    ));
    let f = &r.node_fit;
    out.push((
        "Node fit",
        vec![
            "node",
            "allocatable",
            "DaemonSet requests",
            "pod requests",
            "pods",
            "headroom",
        ],
        f.nodes
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    m(n.allocatable_millicores),
                    m(n.daemonset_millicores),
                    m(n.pods_millicores),
                    n.pods.to_string(),
                    m(n.headroom_millicores),
                ]
            })
            .collect(),
    ));
    let row = |t: &crate::capacity::ThrottleRow| {
        vec![
            t.workload.clone(),
            t.container.clone(),
            t.cpu_max.clone(),
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
    out.push((
        "Throttling prediction (containers with a declared load)",
        header.clone(),
        r.throttling
            .iter()
            .filter(|t| t.load_from == crate::capacity::LOAD_FROM_ANNOTATION)
            .map(row)
            .collect(),
    ));
    out.push((
        "What if (assumed load, not a prediction): the request arriving as one burst per period",
        header,
        r.throttling
            .iter()
            .filter(|t| t.load_from != crate::capacity::LOAD_FROM_ANNOTATION)
            .map(row)
            .collect(),
    ));
    out
}

fn findings(d: &ReportDoc) -> Vec<String> {
    let r = d.report;
    let f = &r.node_fit;
    let mut v = Vec::new();
    match f.nodes_needed_of_largest_shape {
        Some(n) => v.push(format!("All pods' requests fit on {n} node(s) of the largest shape (first-fit decreasing); the cluster described has {}.", f.nodes.len())),
        None if f.shapes.is_empty() => {}
        None => v.push("Some pod requests fit on no node of the largest shape.".to_string()),
    }
    if f.unplaced_pods > 0 {
        let list: Vec<String> = f
            .unplaced
            .iter()
            .take(20)
            .map(|(k, n)| {
                if *n > 1 {
                    format!("{k} ×{n}")
                } else {
                    k.clone()
                }
            })
            .collect();
        v.push(format!(
            "{} pod(s) fit nowhere: {}{}",
            f.unplaced_pods,
            list.join(", "),
            if f.unplaced.len() > 20 { ", …" } else { "" }
        ));
    }
    if !r.containers_without_request.is_empty() {
        v.push(format!(
            "Containers without a CPU request (cpu.shares 2 / cpu.weight 1 under contention): {}",
            r.containers_without_request.join(", ")
        ));
    }
    if !r.top_limit_request_ratio.is_empty() {
        v.push(format!(
            "Highest limit/request ratios: {}",
            r.top_limit_request_ratio.join(", ")
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
    v.extend(d.problems.iter().map(|p| format!("Input problem: {p}")));
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
    for (title, header, rows) in tables(d) {
        writeln!(out, "<h2>{}</h2>", escape_html(title))?;
        if rows.is_empty() {
            writeln!(out, "<p class=\"meta\">none</p>")?;
            continue;
        }
        write!(out, "<table><thead><tr>")?;
        for h in header {
            write!(out, "<th>{}</th>", escape_html(h))?;
        }
        writeln!(out, "</tr></thead><tbody>")?;
        for row in rows {
            write!(out, "<tr>")?;
            for cell in row {
                write!(out, "<td>{}</td>", escape_html(&cell))?;
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

/// Writes the Markdown report (charts linked as the SVG files written beside it).
pub fn write_markdown(out: &mut dyn Write, d: &ReportDoc) -> io::Result<()> {
    let a = d.assumptions;
    writeln!(out, "# kcpu capacity report\n")?;
    writeln!(
        out,
        "Inputs: {}. Assumptions: cgroup {}, runtime {}, driver {}, CFS period {} µs, Kubernetes {}.\n",
        escape_md(&d.inputs.join(", ")),
        a.cgroup,
        a.runtime,
        a.driver,
        a.cfs_period.0,
        a.kubernetes
    )?;
    for f in findings(d) {
        writeln!(out, "- {}", escape_md(&f))?;
    }
    writeln!(out)?;
    for c in &d.charts {
        writeln!(out, "![{}]({}.svg)\n", escape_md(&c.title), c.file)?;
    }
    for (title, header, rows) in tables(d) {
        writeln!(out, "## {title}\n")?;
        if rows.is_empty() {
            writeln!(out, "none\n")?;
            continue;
        }
        writeln!(out, "| {} |", header.join(" | "))?;
        writeln!(out, "|{}", "---|".repeat(header.len()))?;
        for row in rows {
            writeln!(
                out,
                "| {} |",
                row.iter()
                    .map(|c| escape_md(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "_{}_", d.report.node_fit.method)
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
