//! Charts of `kcpu report` (pure core): one stacked-bar chart type, drawn through the shared
//! chart infrastructure of [`super::chart`] (embedded font, SVG/PNG).

use super::chart::{series_color, Chart, ChartError, FONT, THROTTLED};
use crate::capacity::CapacityReport;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most categories one chart shows (the largest first); the rest are summed into "other".
pub const MAX_BARS: usize = 16;

/// Vertical stacked bars over named categories, with an optional per-category marker line
/// (node allocatable, a threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title line.
    pub title: String,
    /// Y axis description with its unit.
    pub y_label: String,
    /// X axis description.
    pub x_label: String,
    /// Category names.
    pub categories: Vec<String>,
    /// Stacked series: (legend name, values per category).
    pub series: Vec<(String, Vec<f64>)>,
    /// Marker per category: (legend name, value per category).
    pub marker: Option<(String, Vec<f64>)>,
    /// Colour the series red (throttling) instead of the palette.
    pub alarm: bool,
}

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

fn short(s: &str) -> String {
    if s.chars().count() <= 16 {
        s.to_string()
    } else {
        let head: String = s.chars().take(15).collect();
        format!("{head}…")
    }
}

impl Chart for BarChart {
    fn size(&self) -> (u32, u32) {
        (1000, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let n = self.categories.len().max(1);
        let top = (0..n)
            .map(|i| {
                let stacked: f64 = self
                    .series
                    .iter()
                    .map(|(_, v)| v.get(i).copied().unwrap_or(0.0))
                    .sum();
                let m = self
                    .marker
                    .as_ref()
                    .and_then(|(_, v)| v.get(i).copied())
                    .unwrap_or(0.0);
                stacked.max(m)
            })
            .fold(0.0f64, f64::max);
        let y_max = if self.alarm {
            110.0
        } else if top > 0.0 {
            top * 1.4
        } else {
            1.0
        };
        let cats = self.categories.clone();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(14)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(MAX_BARS + 1))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    cats.get(i as usize).map(|c| short(c)).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
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
                    let (x0, x1) = (i as f64 - 0.35, i as f64 + 0.35);
                    let r = Rectangle::new(
                        [(x0, base[i]), (x1, base[i] + v)],
                        color.mix(0.85).filled(),
                    );
                    base[i] += v;
                    r
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
        if let Some((name, values)) = &self.marker {
            let lines: Vec<_> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    PathElement::new(
                        vec![(i as f64 - 0.45, *v), (i as f64 + 0.45, *v)],
                        BLACK.stroke_width(3),
                    )
                })
                .collect();
            chart
                .draw_series(lines)
                .map_err(err)?
                .label(name.clone())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], BLACK.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

fn cores(m: i64) -> f64 {
    m as f64 / 1000.0
}

/// Requests and the extra up to the limits per namespace, in CPUs (largest first).
pub fn namespaces(r: &CapacityReport) -> BarChart {
    let mut rows: Vec<_> = r.namespaces.iter().collect();
    rows.sort_by(|a, b| {
        b.request_millicores
            .cmp(&a.request_millicores)
            .then_with(|| a.namespace.cmp(&b.namespace))
    });
    rows.truncate(MAX_BARS);
    BarChart {
        title: "CPU requests and limits per namespace (replicas counted)".into(),
        y_label: "CPUs".into(),
        x_label: "namespace".into(),
        categories: rows.iter().map(|n| n.namespace.clone()).collect(),
        series: vec![
            (
                "requests".into(),
                rows.iter().map(|n| cores(n.request_millicores)).collect(),
            ),
            (
                "limits above requests".into(),
                rows.iter()
                    .map(|n| cores((n.limit_millicores - n.request_millicores).max(0)))
                    .collect(),
            ),
        ],
        marker: None,
        alarm: false,
    }
}

/// Requested CPU per node (DaemonSets, other pods) against allocatable.
pub fn nodes(r: &CapacityReport) -> BarChart {
    let rows: Vec<_> = r.node_fit.nodes.iter().take(MAX_BARS).collect();
    BarChart {
        title: "Node packing: requested CPU vs allocatable (first-fit decreasing)".into(),
        y_label: "CPUs".into(),
        x_label: "node".into(),
        categories: rows.iter().map(|n| n.name.clone()).collect(),
        series: vec![
            (
                "DaemonSet requests".into(),
                rows.iter().map(|n| cores(n.daemonset_millicores)).collect(),
            ),
            (
                "pod requests".into(),
                rows.iter().map(|n| cores(n.pods_millicores)).collect(),
            ),
        ],
        marker: Some((
            "allocatable".into(),
            rows.iter()
                .map(|n| cores(n.allocatable_millicores))
                .collect(),
        )),
        alarm: false,
    }
}

/// Predicted throttled periods per limited container with a declared load (an assumed
/// "what if" load is no prediction, so it is not drawn), with the 25 % alert line.
pub fn throttling(r: &CapacityReport, threshold_percent: f64) -> BarChart {
    let rows: Vec<_> = r
        .throttling
        .iter()
        .filter(|t| t.load_from == crate::capacity::LOAD_FROM_ANNOTATION)
        .take(MAX_BARS)
        .collect();
    BarChart {
        title: "Predicted throttling per container with a declared load (kcpu simulate)".into(),
        y_label: "periods throttled (%)".into(),
        x_label: "container".into(),
        categories: rows.iter().map(|t| t.container.clone()).collect(),
        series: vec![(
            "throttled periods".into(),
            rows.iter().map(|t| t.throttled_ratio * 100.0).collect(),
        )],
        marker: Some((
            format!("alert threshold {threshold_percent:.0}%"),
            vec![threshold_percent; rows.len()],
        )),
        alarm: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::chart::{render, ChartFormat};

    #[test]
    fn bar_chart_svg_has_labels_and_png_signature() {
        let c = BarChart {
            title: "t".into(),
            y_label: "CPUs".into(),
            x_label: "namespace".into(),
            categories: vec!["shop".into(), "data".into()],
            series: vec![("requests".into(), vec![1.0, 2.0])],
            marker: Some(("allocatable".into(), vec![3.0, 3.0])),
            alarm: false,
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
        assert_eq!(short("a-very-long-namespace-name"), "a-very-long-nam…");
    }
}
