//! Charts of `kcpu report` (pure core): one horizontal stacked-bar chart type, drawn through the
//! shared chart infrastructure of [`super::chart`] (embedded font, SVG/PNG).
//!
//! Legible at scale: at most [`MAX_BARS`] categories (the largest first) plus one "other (N …)"
//! bar holding the rest, labels on the left in full up to [`LABEL_CHARS`] characters (longer
//! ones shortened in the middle, namespace and name each on its own, then made unique), the
//! value written at the end of each bar, the legend in a strip below the plot (never over a
//! bar), and the scale set by the named bars: the "other" sum and one outlier more than twice
//! the runner-up are drawn cut (their values still written), so a giant bar does not flatten
//! the others.

use super::chart::{series_color, Chart, ChartError, Plot, FONT, THROTTLED};
use crate::capacity::CapacityReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeSet;

/// Most categories one chart shows by name (the largest first); the rest are summed into one
/// "other" bar.
pub const MAX_BARS: usize = 20;

/// Longest category label in characters (what fits the label area at the label font).
pub const LABEL_CHARS: usize = 48;

/// Width of the label area left of the bars, in pixels.
const LABEL_AREA_PX: u32 = 350;

/// Height of the legend strip below the plot, in pixels.
const LEGEND_PX: u32 = 30;

/// Horizontal stacked bars over named categories, with an optional per-category marker
/// (node allocatable, a threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title line.
    pub title: String,
    /// Value axis description with its unit.
    pub value_label: String,
    /// Category axis description.
    pub category_label: String,
    /// Category names, top to bottom (unique: see [`unique_labels`]).
    pub categories: Vec<String>,
    /// Stacked series: (legend name, values per category).
    pub series: Vec<(String, Vec<f64>)>,
    /// Marker per category: (legend name, value per category).
    pub marker: Option<(String, Vec<f64>)>,
    /// Colour the series red (throttling) instead of the palette.
    pub alarm: bool,
    /// A fixed value scale (e.g. 0–100 % for throttling) instead of one fitted to the data.
    pub fixed_max: Option<f64>,
    /// The last category is the "other (N …)" sum of the rest, which does not set the scale.
    pub other: bool,
}

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

/// `s` shortened to `max` characters by cutting its middle (`shop/very-lo…-api`), so both the
/// namespace and the end of a name stay visible.
pub fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let h: String = s.chars().take(head).collect();
    let t: String = s.chars().skip(n - tail).collect();
    format!("{h}…{t}")
}

/// `namespace/name container` in at most [`LABEL_CHARS`] characters, each part shortened on its
/// own (the name keeps the larger share), so that both ends of the namespace and of the name
/// stay visible: `team-01-wi…pace-name/service-0000-with…ment-name app`.
pub fn container_label(workload: &str, container: &str) -> String {
    let container = shorten(container, 16);
    let budget = LABEL_CHARS.saturating_sub(container.chars().count() + 1);
    let (ns, name) = workload.split_once('/').unwrap_or(("", workload));
    let (ns_len, name_len) = (ns.chars().count(), name.chars().count());
    let room = budget.saturating_sub(usize::from(!ns.is_empty()));
    // The namespace gets up to a third, or less when the name leaves room.
    let ns_max = ns_len.min((room / 3).max(room.saturating_sub(name_len)));
    let name_max = room.saturating_sub(ns_max);
    let name = shorten(name, name_max);
    if ns.is_empty() {
        return format!("{name} {container}");
    }
    format!("{}/{name} {container}", shorten(ns, ns_max))
}

/// Labels shortened to [`LABEL_CHARS`] and made unique: a label equal to an earlier one gets
/// ` #2`, ` #3`, … (shortened so the suffix fits).
pub fn unique_labels(names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .map(|name| {
            let base = shorten(name, LABEL_CHARS);
            if seen.insert(base.clone()) {
                return base;
            }
            let mut k = 2;
            loop {
                let suffix = format!(" #{k}");
                let label = format!(
                    "{}{suffix}",
                    shorten(name, LABEL_CHARS - suffix.chars().count())
                );
                if seen.insert(label.clone()) {
                    return label;
                }
                k += 1;
            }
        })
        .collect()
}

/// The rows ranked by `key` (largest first, stable), the top [`MAX_BARS`] kept by name and the
/// rest summed by `sum` into one row named `other (N <what>)`.
fn top_and_other<T>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> f64,
    what: &str,
    name: impl Fn(&T) -> String,
    values: impl Fn(&T) -> Vec<f64>,
) -> (Vec<String>, Vec<Vec<f64>>, bool) {
    rows.sort_by(|a, b| {
        key(b)
            .partial_cmp(&key(a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let rest = rows.split_off(rows.len().min(MAX_BARS));
    let mut names: Vec<String> = rows.iter().map(&name).collect();
    let mut vals: Vec<Vec<f64>> = rows.iter().map(&values).collect();
    if !rest.is_empty() {
        let mut sum = vec![0.0; vals.first().map_or(0, Vec::len)];
        for r in &rest {
            for (s, v) in sum.iter_mut().zip(values(r)) {
                *s += v;
            }
        }
        names = unique_labels(&names);
        names.push(format!("other ({} {what})", rest.len()));
        vals.push(sum);
        return (names, vals, true);
    }
    (unique_labels(&names), vals, false)
}

impl BarChart {
    fn totals(&self) -> Vec<f64> {
        (0..self.categories.len())
            .map(|i| {
                self.series
                    .iter()
                    .map(|(_, v)| v.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect()
    }

    /// The end of the value axis: the fixed scale, or the largest named bar or marker with a
    /// margin for its value label — unless one bar is more than twice the runner-up, then twice
    /// the runner-up (that bar is drawn cut, with its value written). The "other" sum never
    /// sets the scale (it is drawn cut when longer).
    pub fn scale(&self) -> f64 {
        if let Some(m) = self.fixed_max {
            return m;
        }
        let mut tops: Vec<f64> = self.totals();
        let mut markers = self
            .marker
            .as_ref()
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if self.other {
            tops.pop();
            markers.pop();
        }
        tops.extend(markers);
        tops.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
        let top = match (tops.first(), tops.get(1)) {
            (Some(a), Some(b)) if *b > 0.0 && *a > 2.0 * b => 2.0 * b,
            (Some(a), _) => *a,
            _ => 0.0,
        };
        if top > 0.0 {
            top * 1.25
        } else {
            1.0
        }
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Chart for BarChart {
    fn size(&self) -> (u32, u32) {
        let n = self.categories.len().max(1) as u32;
        (1000, 130 + LEGEND_PX + 26 * n)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let n = self.categories.len().max(1);
        let x_max = self.scale();
        let cats = self.categories.clone();
        let (_, h) = self.size();
        let (root, legend) = root.split_vertically(h - LEGEND_PX);
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, (FONT, 20))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(LABEL_AREA_PX)
            .build_cartesian_2d(0f64..x_max, -0.5f64..(n as f64 - 0.5))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                let r = y.round();
                if (y - r).abs() < 0.01 && r >= 0.0 && (r as usize) < n {
                    cats.get(n - 1 - r as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc(&self.value_label)
            .y_desc(&self.category_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
        let base = self.draw_bars(&mut chart, x_max)?;
        draw_totals(&mut chart, &base, x_max)?;
        if let Some((name, values)) = &self.marker {
            draw_marker(&mut chart, name, values, n, x_max)?;
        }
        self.draw_legend(&legend)
    }
}

impl BarChart {
    /// The legend in one row below the plot, starting under the bars: a swatch per series,
    /// a vertical line for the marker.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), ChartError> {
        let font = TextStyle::from((FONT, 13).into_font());
        let mut x = LABEL_AREA_PX as i32 + 14;
        let y = 8;
        let mut entry = |name: &str, swatch: &dyn Fn(i32) -> Result<(), ChartError>| {
            swatch(x)?;
            area.draw(&Text::new(name.to_string(), (x + 18, y), font.clone()))
                .map_err(err)?;
            let (w, _) = area.estimate_text_size(name, &font).map_err(err)?;
            x += 18 + w as i32 + 24;
            Ok::<(), ChartError>(())
        };
        for (k, (name, _)) in self.series.iter().enumerate() {
            let color = if self.alarm {
                THROTTLED
            } else {
                series_color(k)
            };
            entry(name, &|x| {
                area.draw(&Rectangle::new(
                    [(x, y + 1), (x + 12, y + 11)],
                    color.filled(),
                ))
                .map_err(err)
            })?;
        }
        if let Some((name, _)) = &self.marker {
            entry(name, &|x| {
                area.draw(&PathElement::new(
                    vec![(x + 6, y - 1), (x + 6, y + 13)],
                    BLACK.stroke_width(3),
                ))
                .map_err(err)
            })?;
        }
        Ok(())
    }
}

/// Category `i` of `n` is drawn at y = n - 1 - i, so the first (largest) is on top.
fn y_of(n: usize, i: usize) -> f64 {
    (n - 1 - i) as f64
}

impl BarChart {
    /// The stacked bars of every series; returns each category's total.
    fn draw_bars<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut Plot<'a, DB>,
        x_max: f64,
    ) -> Result<Vec<f64>, ChartError> {
        let n = self.categories.len().max(1);
        let mut base = vec![0.0f64; n];
        for (k, (name, values)) in self.series.iter().enumerate() {
            let color = if self.alarm {
                THROTTLED
            } else {
                series_color(k)
            };
            let rects: Vec<_> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let y = y_of(n, i);
                    let (x0, x1) = (base[i].min(x_max), (base[i] + v).min(x_max));
                    base[i] += v;
                    Rectangle::new([(x0, y - 0.35), (x1, y + 0.35)], color.mix(0.85).filled())
                })
                .collect();
            chart
                .draw_series(rects)
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        Ok(base)
    }
}

/// The value at the end of every bar ("… (cut)" when beyond the scale).
fn draw_totals<'a, DB: DrawingBackend + 'a>(
    chart: &mut Plot<'a, DB>,
    base: &[f64],
    x_max: f64,
) -> Result<(), ChartError> {
    let n = base.len();
    let labels: Vec<_> = base
        .iter()
        .enumerate()
        .map(|(i, total)| {
            let cut = *total > x_max;
            let text = if cut {
                format!("{} (cut)", fmt_value(*total))
            } else {
                fmt_value(*total)
            };
            let x = if cut {
                x_max * 0.80
            } else {
                total + x_max * 0.01
            };
            Text::new(text, (x, y_of(n, i) + 0.3), (FONT, 12))
        })
        .collect();
    chart.draw_series(labels).map_err(err)?;
    Ok(())
}

/// The marker series: a vertical line on every bar (e.g. the limit beside the request).
fn draw_marker<'a, DB: DrawingBackend + 'a>(
    chart: &mut Plot<'a, DB>,
    name: &str,
    values: &[f64],
    n: usize,
    x_max: f64,
) -> Result<(), ChartError> {
    let lines: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = y_of(n, i);
            PathElement::new(
                vec![(v.min(x_max), y - 0.45), (v.min(x_max), y + 0.45)],
                BLACK.stroke_width(3),
            )
        })
        .collect();
    chart
        .draw_series(lines)
        .map_err(err)?
        .label(name)
        .legend(|(x, y)| {
            PathElement::new(vec![(x + 6, y - 6), (x + 6, y + 6)], BLACK.stroke_width(3))
        });
    Ok(())
}

fn cores(m: i64) -> f64 {
    m as f64 / 1000.0
}

/// Requests and the extra up to the limits per namespace, in CPUs (largest first, the rest as
/// "other").
pub fn namespaces(r: &CapacityReport) -> BarChart {
    let mut rows: Vec<_> = r.namespaces.iter().collect();
    rows.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    let (categories, values, other) = top_and_other(
        rows,
        |n| n.request_millicores as f64,
        "namespaces",
        |n| n.namespace.clone(),
        |n| {
            vec![
                cores(n.request_millicores),
                cores((n.limit_millicores - n.request_millicores).max(0)),
            ]
        },
    );
    BarChart {
        title: "CPU requests and limits per namespace (replicas counted)".into(),
        value_label: "CPUs".into(),
        category_label: "namespace".into(),
        series: vec![
            ("requests".into(), values.iter().map(|v| v[0]).collect()),
            (
                "limits above requests".into(),
                values.iter().map(|v| v[1]).collect(),
            ),
        ],
        categories,
        marker: None,
        alarm: false,
        fixed_max: None,
        other,
    }
}

/// Requested CPU per node (DaemonSets, other pods) against allocatable, the fullest first; the
/// rest are summed into "other".
pub fn nodes(r: &CapacityReport) -> BarChart {
    let rows: Vec<_> = r.node_fit.nodes.iter().collect();
    let (categories, values, other) = top_and_other(
        rows,
        |n| (n.daemonset_millicores + n.pods_millicores) as f64,
        "nodes",
        |n| n.name.clone(),
        |n| {
            vec![
                cores(n.daemonset_millicores),
                cores(n.pods_millicores),
                cores(n.allocatable_millicores),
            ]
        },
    );
    BarChart {
        title: "Node packing: requested CPU vs allocatable (first-fit decreasing)".into(),
        value_label: "CPUs".into(),
        category_label: "node".into(),
        series: vec![
            (
                "DaemonSet requests".into(),
                values.iter().map(|v| v[0]).collect(),
            ),
            ("pod requests".into(), values.iter().map(|v| v[1]).collect()),
        ],
        marker: Some(("allocatable".into(), values.iter().map(|v| v[2]).collect())),
        categories,
        alarm: false,
        fixed_max: None,
        other,
    }
}

/// Predicted throttled periods per limited container with a declared load (an assumed
/// "what if" load is no prediction, so it is not drawn), riskiest first as in the report's
/// table, labelled `namespace/workload container` so every bar names one container, with the
/// alert line. Containers beyond [`MAX_BARS`] are left out (a sum of percentages means
/// nothing); the title says how many.
pub fn throttling(r: &CapacityReport, threshold_percent: f64) -> BarChart {
    let declared: Vec<_> = r
        .throttling
        .iter()
        .filter(|t| t.load_from == crate::capacity::LOAD_FROM_ANNOTATION)
        .collect();
    let rows: Vec<_> = declared.iter().take(MAX_BARS).collect();
    let names: Vec<String> = rows
        .iter()
        .map(|t| container_label(&t.workload, &t.container))
        .collect();
    let title = if declared.len() > rows.len() {
        format!(
            "Predicted throttling, the {} riskiest of {} containers with a declared load (kcpu simulate)",
            rows.len(),
            declared.len()
        )
    } else {
        "Predicted throttling per container with a declared load (kcpu simulate)".into()
    };
    BarChart {
        title,
        value_label: "periods throttled (%)".into(),
        category_label: "container".into(),
        categories: unique_labels(&names),
        series: vec![(
            "throttled periods".into(),
            rows.iter().map(|t| t.throttled_ratio * 100.0).collect(),
        )],
        marker: Some((
            format!("alert threshold {threshold_percent:.0}%"),
            vec![threshold_percent; rows.len()],
        )),
        alarm: true,
        fixed_max: Some(115.0),
        other: false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::chart::{render, ChartFormat};

    #[test]
    fn bar_chart_svg_has_labels_and_png_signature() {
        let c = BarChart {
            title: "t".into(),
            value_label: "CPUs".into(),
            category_label: "namespace".into(),
            categories: vec!["shop".into(), "data".into()],
            series: vec![("requests".into(), vec![1.0, 2.0])],
            marker: Some(("allocatable".into(), vec![3.0, 3.0])),
            alarm: false,
            fixed_max: None,
            other: false,
        };
        let svg = String::from_utf8(render(&c, ChartFormat::Svg).unwrap()).unwrap();
        for label in [
            "CPUs",
            "namespace",
            "shop",
            "data",
            "requests",
            "allocatable",
        ] {
            assert!(svg.contains(label), "svg lacks {label}");
        }
        let png = render(&c, ChartFormat::Png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn labels_are_shortened_in_the_middle_and_unique() {
        assert_eq!(shorten("abcdefghij", 5), "ab…ij");
        assert_eq!(shorten("short", 36), "short");
        let long = "team-payments/very-long-deployment-name-for-the-api-v2";
        let names = vec![
            format!("{long} app"),
            format!("{long} app"),
            "x app".to_string(),
        ];
        let l = unique_labels(&names);
        assert!(l.iter().all(|s| s.chars().count() <= LABEL_CHARS), "{l:?}");
        assert_ne!(l[0], l[1]);
        assert!(l[1].ends_with(" #2"), "{l:?}");
        assert_eq!(l[2], "x app");
    }

    #[test]
    fn many_namespaces_become_top_n_plus_other_and_an_outlier_is_cut() {
        let mut r = CapacityReport::default();
        for i in 0..60 {
            r.namespaces.push(crate::capacity::NamespaceRow {
                namespace: format!("ns-{i:02}"),
                request_millicores: if i == 7 { 1_000_000 } else { 1000 + i },
                ..Default::default()
            });
        }
        let c = namespaces(&r);
        assert_eq!(c.categories.len(), MAX_BARS + 1);
        assert_eq!(c.categories[0], "ns-07");
        assert_eq!(c.categories[MAX_BARS], "other (40 namespaces)");
        let total: f64 = c.series[0].1.iter().sum();
        let expected: f64 = r
            .namespaces
            .iter()
            .map(|n| cores(n.request_millicores))
            .sum();
        assert!((total - expected).abs() < 1e-6, "other keeps the sum");
        // The 1000-CPU namespace is more than twice the runner-up (the 'other' bar holds 40+),
        // so the scale is twice the runner-up, not 1000.
        assert!(c.scale() < 200.0, "{}", c.scale());
        let svg = String::from_utf8(render(&c, ChartFormat::Svg).unwrap()).unwrap();
        assert!(svg.contains("(cut)"));
        assert!(svg.contains("other (40 namespaces)"));
    }

    /// The "other" bar sums 40 namespaces: it must not set the scale of the 20 named ones.
    #[test]
    fn the_other_sum_does_not_set_the_scale() {
        let mut r = CapacityReport::default();
        for i in 0..60 {
            r.namespaces.push(crate::capacity::NamespaceRow {
                namespace: format!("ns-{i:02}"),
                request_millicores: 1000,
                ..Default::default()
            });
        }
        let c = namespaces(&r);
        assert!(c.other);
        assert!((c.scale() - 1.25).abs() < 1e-9, "{}", c.scale());
        let svg = String::from_utf8(render(&c, ChartFormat::Svg).unwrap()).unwrap();
        assert!(
            svg.contains("40.00 (cut)") || svg.contains("40.0 (cut)"),
            "the sum is written"
        );
    }

    #[test]
    fn container_labels_keep_both_ends_of_namespace_and_name() {
        let l = container_label(
            "team-01-with-a-rather-long-namespace-name/service-0000-with-a-long-deployment-name",
            "app",
        );
        assert!(l.chars().count() <= LABEL_CHARS, "{l}");
        assert!(l.starts_with("team-01"), "{l}");
        assert!(l.contains("/service-0000"), "{l}");
        assert!(l.ends_with("-name app"), "{l}");
        assert_eq!(container_label("shop/web", "app"), "shop/web app");
        assert_eq!(container_label("web", "app"), "web app");
    }

    /// The attribute `attr` of the SVG text element holding exactly `text`.
    pub(crate) fn text_attr(svg: &str, text: &str, attr: &str) -> f64 {
        let element = svg
            .split("<text")
            .skip(1)
            .find(|t| {
                let body = t.split_once('>').map_or("", |(_, b)| b);
                body.split("</text>").next().unwrap_or("").trim() == text
            })
            .expect(text);
        let value = element.split(&format!(" {attr}=\"")).nth(1).expect(attr);
        value.split('"').next().unwrap().parse().unwrap()
    }

    fn text_y(svg: &str, text: &str) -> f64 {
        text_attr(svg, text, "y")
    }

    /// The legend sits below the x axis, where no bar and no value label can be.
    #[test]
    fn the_legend_is_below_the_plot() {
        let c = BarChart {
            title: "t".into(),
            value_label: "CPUs".into(),
            category_label: "node".into(),
            categories: vec!["a".into(), "b".into()],
            series: vec![("pod requests".into(), vec![4.0, 4.0])],
            marker: Some(("allocatable".into(), vec![4.0, 4.0])),
            alarm: false,
            fixed_max: None,
            other: false,
        };
        let svg = String::from_utf8(render(&c, ChartFormat::Svg).unwrap()).unwrap();
        let axis = text_y(&svg, "CPUs");
        assert!(text_y(&svg, "pod requests") > axis, "{svg}");
        assert!(text_y(&svg, "allocatable") > axis, "{svg}");
    }
}
