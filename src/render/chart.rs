//! Charts with plotters and an embedded font, as SVG or PNG bytes (pure core).
//!
//! Infrastructure shared by every chart in kcpu:
//! - the DejaVu Sans font is compiled into the binary (`assets/fonts/DejaVuSans.ttf`, licence in
//!   `assets/fonts/DejaVuSans-LICENSE.txt`) and registered once as plotters' `sans-serif` family,
//!   so no system font is looked up at run time;
//! - a chart is any type implementing [`Chart`] (a size and a `draw` over any plotters backend);
//!   [`render`] turns it into SVG text or PNG bytes, and [`ChartFormat::from_path`] picks the
//!   format from a file name. Only `cli` writes the bytes somewhere.
//!
//! Charts defined here: [`SimChart`] (per-period CPU usage against the quota, throttled periods
//! marked, and the request-latency CDF) for `kcpu simulate`, and [`RunChart`] (the measured
//! timeline of `kcpu run`: usage per sampling interval against the quota, intervals with
//! throttled periods marked, and the throttled periods per interval).

use crate::sim::GroupOutcome;
use crate::trace::Sample;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// The embedded font (DejaVu Sans, Bitstream Vera licence).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The font family every chart uses (registered to the embedded font).
pub const FONT: &str = "sans-serif";

/// A chart could not be drawn or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(pub String);

impl ChartError {
    fn from<E: std::fmt::Display>(e: E) -> ChartError {
        ChartError(e.to_string())
    }
}

/// Output format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// SVG text.
    Svg,
    /// PNG image.
    Png,
}

impl ChartFormat {
    /// The format for a file name ending in `.svg` or `.png` (any case); `None` otherwise.
    pub fn from_path(path: &std::path::Path) -> Option<ChartFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Some(ChartFormat::Svg),
            "png" => Some(ChartFormat::Png),
            _ => None,
        }
    }
}

/// Registers the embedded font with plotters (once per process).
pub fn ensure_font() -> Result<(), ChartError> {
    static DONE: OnceLock<Result<(), ChartError>> = OnceLock::new();
    DONE.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| ChartError("the embedded font could not be loaded".into()))
    })
    .clone()
}

/// Something that can be drawn on any plotters backend.
pub trait Chart {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws onto `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError>;
}

/// Renders `chart` to SVG text or PNG bytes.
pub fn render<C: Chart>(chart: &C, format: ChartFormat) -> Result<Vec<u8>, ChartError> {
    ensure_font()?;
    let (w, h) = chart.size();
    match format {
        ChartFormat::Svg => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(ChartError::from)?;
                chart.draw(&root)?;
                root.present().map_err(ChartError::from)?;
            }
            Ok(text.into_bytes())
        }
        ChartFormat::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(ChartError::from)?;
                chart.draw(&root)?;
                root.present().map_err(ChartError::from)?;
            }
            encode_png(&rgb, w, h)
        }
    }
}

/// Encodes an RGB8 buffer as PNG.
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(ChartError::from)?;
        writer.write_image_data(rgb).map_err(ChartError::from)?;
    }
    Ok(out)
}

/// Colour of series `i` (a fixed palette, so charts are reproducible).
pub fn series_color(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(23, 190, 207),
    ];
    P[i % P.len()]
}

/// Colour that marks throttling.
pub const THROTTLED: RGBColor = RGBColor(214, 39, 40);

/// Most groups drawn in one [`SimChart`] (the most throttled first).
pub const MAX_SERIES: usize = 8;

/// `kcpu simulate --chart`: per-period CPU usage of run 0 against the quota (throttled periods in
/// red) and the latency CDF over all runs.
#[derive(Debug, Clone, Copy)]
pub struct SimChart<'a> {
    /// Groups to draw.
    pub groups: &'a [GroupOutcome],
    /// Title line.
    pub title: &'a str,
}

/// Usage in cores per period (or per sample interval for unlimited groups), with the throttled
/// flag: `(t_s, cores, throttled)`.
fn usage_points(g: &GroupOutcome) -> Vec<(f64, f64, bool)> {
    let Some(tl) = &g.timeline else {
        return Vec::new();
    };
    let nominal = g.limits.max.period.0 as f64 * 1e3;
    if !tl.periods.is_empty() {
        return tl
            .periods
            .iter()
            .filter(|p| (p.end_ns - p.start_ns) as f64 >= nominal / 2.0)
            .map(|p| {
                (
                    p.end_ns as f64 / 1e9,
                    p.usage_ns as f64 / (p.end_ns - p.start_ns) as f64,
                    p.throttled,
                )
            })
            .collect();
    }
    tl.samples
        .windows(2)
        .filter(|w| w[1].t_ns > w[0].t_ns)
        .map(|w| {
            let dt_us = (w[1].t_ns - w[0].t_ns) as f64 / 1e3;
            (
                w[1].t_ns as f64 / 1e9,
                (w[1].usage_us - w[0].usage_us) as f64 / dt_us,
                false,
            )
        })
        .collect()
}

/// `kcpu run --chart`: the measured timeline of one run (the sampler's cumulative counters).
#[derive(Debug, Clone, Copy)]
pub struct RunChart<'a> {
    /// Cumulative samples, `t_ns` from the run's start.
    pub timeline: &'a [Sample],
    /// `quota / period` in cores, when the group has a quota.
    pub quota_cores: Option<f64>,
    /// Title line.
    pub title: &'a str,
}

/// One sampling interval of a measured timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Start of the interval, s from the first sample.
    pub start_s: f64,
    /// End of the interval, s from the first sample.
    pub t_s: f64,
    /// Average CPU use over the interval, cores.
    pub cores: f64,
    /// Periods that elapsed in the interval.
    pub periods: u64,
    /// Of those, periods that ended throttled.
    pub throttled: u64,
}

/// Per-interval figures from cumulative samples (intervals of zero length are skipped).
pub fn intervals(timeline: &[Sample]) -> Vec<Interval> {
    let t0 = timeline.first().map_or(0, |s| s.t_ns);
    timeline
        .windows(2)
        .filter(|w| w[1].t_ns > w[0].t_ns)
        .map(|w| Interval {
            start_s: (w[0].t_ns - t0) as f64 / 1e9,
            t_s: (w[1].t_ns - t0) as f64 / 1e9,
            cores: w[1].usage_us.saturating_sub(w[0].usage_us) as f64 * 1e3
                / (w[1].t_ns - w[0].t_ns) as f64,
            periods: w[1].nr_periods.saturating_sub(w[0].nr_periods),
            throttled: w[1].nr_throttled.saturating_sub(w[0].nr_throttled),
        })
        .collect()
}

impl Chart for RunChart<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (_, h) = self.size();
        let body = titled(root, self.title)?;
        let (top, bottom) = body.split_vertically((h - 40) * 62 / 100);
        let pts = intervals(self.timeline);
        let x_max = pts.iter().map(|p| p.t_s).fold(0.0f64, f64::max).max(1e-3);
        self.draw_usage(&top, &pts, x_max)?;
        draw_periods(&bottom, &pts, x_max)
    }
}

impl RunChart<'_> {
    /// Measured usage per sampling interval against the quota.
    fn draw_usage<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        pts: &[Interval],
        x_max: f64,
    ) -> Result<(), ChartError> {
        let e = ChartError::from;
        let y_data = pts.iter().map(|p| p.cores).fold(0.0f64, f64::max);
        let y_max = (y_data.max(self.quota_cores.unwrap_or(0.0)) * 1.15).max(0.1);
        let mut c = plot(
            area,
            "measured CPU usage per sampling interval, run 0",
            (0f64..x_max, 0f64..y_max),
            ("time (s)", "CPU (cores)"),
        )?;
        if let Some(q) = self.quota_cores {
            level_line(&mut c, q, x_max, BLACK, "quota / period")?;
        }
        let col = series_color(0);
        // Each interval's average as a step: the sampler gives no finer detail.
        c.draw_series(LineSeries::new(
            pts.iter()
                .flat_map(|p| [(p.start_s, p.cores), (p.t_s, p.cores)]),
            col.stroke_width(2),
        ))
        .map_err(e)?
        .label("usage")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        let marks: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.throttled > 0)
            .map(|p| ((p.start_s + p.t_s) / 2.0, p.cores))
            .collect();
        throttled_marks(&mut c, &marks, "interval with throttled periods")?;
        legend(&mut c, SeriesLabelPosition::UpperRight)
    }
}

/// Periods per sampling interval, the throttled ones in red.
fn draw_periods<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pts: &[Interval],
    x_max: f64,
) -> Result<(), ChartError> {
    let p_max = pts.iter().map(|p| p.periods).max().unwrap_or(0).max(1) as f64;
    let mut b = plot(
        area,
        "periods per interval (throttled in red)",
        (0f64..x_max, 0f64..p_max * 1.15),
        ("time (s)", "periods"),
    )?;
    let mut bars = Vec::new();
    for p in pts {
        bars.push(Rectangle::new(
            [(p.start_s, 0.0), (p.t_s, p.periods as f64)],
            RGBColor(200, 200, 200).filled(),
        ));
        if p.throttled > 0 {
            bars.push(Rectangle::new(
                [(p.start_s, 0.0), (p.t_s, p.throttled as f64)],
                THROTTLED.filled(),
            ));
        }
    }
    b.draw_series(bars).map_err(ChartError::from)?;
    Ok(())
}

/// A chart over `f64` × `f64` coordinates.
pub type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the title into a 40-pixel head of `root`; returns the rest.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    let (head, body) = root.split_vertically(40);
    // A long title (a long workload name) is set smaller until it fits the width.
    let width = head.dim_in_pixel().0.saturating_sub(24);
    let mut size = 18;
    while size > 10 {
        let (w, _) = head
            .estimate_text_size(title, &TextStyle::from((FONT, size).into_font()))
            .map_err(ChartError::from)?;
        if w <= width {
            break;
        }
        size -= 1;
    }
    head.draw(&Text::new(
        title.to_string(),
        (12, 10),
        (FONT, size).into_font(),
    ))
    .map_err(ChartError::from)?;
    Ok(body)
}

/// A captioned plot of `x` × `y` on `area` with its mesh and axis descriptions drawn.
fn plot<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    (x_desc, y_desc): (&str, &str),
) -> Result<Plot<'a, DB>, ChartError> {
    let e = ChartError::from;
    let mut c = ChartBuilder::on(area)
        .caption(caption, (FONT, 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    c.configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(e)?;
    Ok(c)
}

/// Draws the series' legend box at `position`.
fn legend<'a, DB: DrawingBackend + 'a>(
    c: &mut Plot<'a, DB>,
    position: SeriesLabelPosition,
) -> Result<(), ChartError> {
    c.configure_series_labels()
        .position(position)
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(ChartError::from)
}

/// A horizontal line at `y` across the plot, with its legend entry.
fn level_line<'a, DB: DrawingBackend + 'a>(
    c: &mut Plot<'a, DB>,
    y: f64,
    x_max: f64,
    color: RGBColor,
    label: &str,
) -> Result<(), ChartError> {
    c.draw_series(LineSeries::new(
        vec![(0.0, y), (x_max, y)],
        color.stroke_width(1),
    ))
    .map_err(ChartError::from)?
    .label(label)
    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    Ok(())
}

/// Red dots on the points of throttled periods or intervals, with their legend entry.
fn throttled_marks<'a, DB: DrawingBackend + 'a>(
    c: &mut Plot<'a, DB>,
    marks: &[(f64, f64)],
    label: &str,
) -> Result<(), ChartError> {
    if !marks.is_empty() {
        c.draw_series(marks.iter().map(|&p| Circle::new(p, 3, THROTTLED.filled())))
            .map_err(ChartError::from)?
            .label(label)
            .legend(|(x, y)| Circle::new((x + 9, y), 3, THROTTLED.filled()));
    }
    Ok(())
}

impl SimChart<'_> {
    /// The groups actually drawn: the most throttled first, at most [`MAX_SERIES`].
    fn shown(&self) -> Vec<(usize, &GroupOutcome)> {
        let mut v: Vec<(usize, &GroupOutcome)> = self.groups.iter().enumerate().collect();
        v.sort_by(|a, b| {
            b.1.summary
                .totals
                .throttled_ratio
                .total_cmp(&a.1.summary.totals.throttled_ratio)
                .then(a.0.cmp(&b.0))
        });
        v.truncate(MAX_SERIES);
        v.sort_by_key(|x| x.0);
        v
    }
}

impl Chart for SimChart<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (_, h) = self.size();
        let body = titled(root, self.title)?;
        let (top, bottom) = body.split_vertically((h - 40) * 55 / 100);
        let shown = self.shown();
        self.draw_usage(&top, &shown)?;
        draw_latency(&bottom, &shown)
    }
}

impl SimChart<'_> {
    /// CPU usage per period of run 0 (the limit drawn when one group is shown).
    fn draw_usage<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        shown: &[(usize, &GroupOutcome)],
    ) -> Result<(), ChartError> {
        let e = ChartError::from;
        let note = if shown.len() < self.groups.len() {
            format!(
                " (the {} most throttled of {} groups)",
                shown.len(),
                self.groups.len()
            )
        } else {
            String::new()
        };
        let series: Vec<Vec<(f64, f64, bool)>> =
            shown.iter().map(|(_, g)| usage_points(g)).collect();
        let single = if shown.len() == 1 {
            Some(shown[0].1)
        } else {
            None
        };
        let limit_cores = single.and_then(|g| {
            let l = &g.limits;
            (!l.max.quota.is_unlimited()).then(|| {
                let p = l.max.period.0 as f64;
                (
                    l.max.quota.0 as f64 / p,
                    (l.max.quota.0 as f64 + l.burst.0 as f64) / p,
                )
            })
        });
        let x_max = series
            .iter()
            .flatten()
            .map(|p| p.0)
            .fold(0.0f64, f64::max)
            .max(1e-3);
        let y_data = series.iter().flatten().map(|p| p.1).fold(0.0f64, f64::max);
        let y_max = (y_data.max(limit_cores.map_or(0.0, |l| l.1)) * 1.15).max(0.1);
        let mut c = plot(
            area,
            &format!("CPU usage per period, run 0{note}"),
            (0f64..x_max, 0f64..y_max),
            ("time (s)", "CPU (cores)"),
        )?;
        if let Some((q, qb)) = limit_cores {
            level_line(&mut c, q, x_max, BLACK, "quota / period")?;
            if qb > q {
                let grey = RGBColor(150, 150, 150);
                level_line(&mut c, qb, x_max, grey, "(quota + burst) / period")?;
            }
        }
        for (i, ((_, g), pts)) in shown.iter().zip(&series).enumerate() {
            let col = series_color(i);
            c.draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1)),
                col.stroke_width(2),
            ))
            .map_err(e)?
            .label(g.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
        let marks: Vec<(f64, f64)> = series
            .iter()
            .flatten()
            .filter(|p| p.2)
            .map(|p| (p.0, p.1))
            .collect();
        throttled_marks(&mut c, &marks, "throttled period")?;
        legend(&mut c, SeriesLabelPosition::UpperRight)
    }
}

/// The request latency CDF of every shown group, over all runs.
fn draw_latency<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    shown: &[(usize, &GroupOutcome)],
) -> Result<(), ChartError> {
    let e = ChartError::from;
    let cdfs: Vec<Vec<(f64, f64)>> = shown
        .iter()
        .map(|(_, g)| g.latencies_ns.cdf_points(400))
        .collect();
    let lat_max = cdfs.iter().flatten().map(|p| p.0).fold(0.0f64, f64::max);
    let mut l = plot(
        area,
        "Request latency (scheduled arrival to completion), all runs",
        (0f64..(lat_max * 1.05).max(1.0), 0f64..1.0),
        ("latency (ms)", "fraction of requests"),
    )?;
    if cdfs.iter().all(|c| c.is_empty()) {
        let area = l.plotting_area();
        area.draw(&Text::new(
            "no requests (spin load)",
            (0.05, 0.5),
            (FONT, 14).into_font(),
        ))
        .map_err(e)?;
    }
    for (i, ((_, g), pts)) in shown.iter().zip(&cdfs).enumerate() {
        if pts.is_empty() {
            continue;
        }
        let col = series_color(i);
        l.draw_series(LineSeries::new(pts.iter().copied(), col.stroke_width(2)))
            .map_err(e)?
            .label(g.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
    }
    if cdfs.iter().any(|c| !c.is_empty()) {
        legend(&mut l, SeriesLabelPosition::LowerRight)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuMax;
    use crate::sim::{load::parse_load, simulate_container, Limits, Machine, RunPlan};
    use crate::units::{Nanos, QuotaUs};

    fn outcome() -> GroupOutcome {
        let mut plan = RunPlan::new(Nanos::from_ms(2_000), 2, 1);
        plan.timeline = Some(Nanos::from_ms(10));
        let limits = Limits {
            max: CpuMax {
                quota: QuotaUs(100_000),
                period: crate::units::PeriodUs::DEFAULT,
            },
            ..Limits::default()
        };
        let load = parse_load("periodic:threads=2,work=80ms,every=200ms").unwrap();
        simulate_container("api", limits, &load, None, &Machine::new(2), &plan).unwrap()
    }

    #[test]
    fn svg_has_axis_labels_and_png_has_a_signature() {
        let g = [outcome()];
        let chart = SimChart {
            groups: &g,
            title: "test",
        };
        let svg = String::from_utf8(render(&chart, ChartFormat::Svg).unwrap()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for label in [
            "time (s)",
            "CPU (cores)",
            "latency (ms)",
            "fraction of requests",
            "quota / period",
            "api",
        ] {
            assert!(svg.contains(label), "missing {label}");
        }
        let png = render(&chart, ChartFormat::Png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    fn sample(t_ms: u64, usage_us: u64, periods: u64, throttled: u64) -> Sample {
        Sample {
            t_ns: t_ms * 1_000_000,
            usage_us,
            nr_periods: periods,
            nr_throttled: throttled,
            ..Sample::default()
        }
    }

    #[test]
    fn intervals_from_cumulative_samples() {
        let tl = [
            sample(1_000, 500, 3, 0),
            sample(1_100, 100_500, 4, 1), // 100 ms of CPU in 100 ms: 1 core, throttled
            sample(1_100, 100_500, 4, 1), // zero length: skipped
            sample(1_300, 140_500, 6, 1), // 40 ms in 200 ms: 0.2 cores
        ];
        let iv = intervals(&tl);
        assert_eq!(iv.len(), 2);
        assert_eq!((iv[0].start_s, iv[0].t_s), (0.0, 0.1));
        assert!((iv[0].cores - 1.0).abs() < 1e-9);
        assert_eq!((iv[0].periods, iv[0].throttled), (1, 1));
        assert!((iv[1].start_s - 0.1).abs() < 1e-12 && (iv[1].t_s - 0.3).abs() < 1e-12);
        assert!((iv[1].cores - 0.2).abs() < 1e-9);
        assert_eq!((iv[1].periods, iv[1].throttled), (2, 0));
        assert!(intervals(&tl[..1]).is_empty());
    }

    #[test]
    fn run_chart_renders_svg_and_png() {
        let tl: Vec<Sample> = (0..=20)
            .map(|i| sample(i * 100, i * 80_000, i, i / 2))
            .collect();
        let chart = RunChart {
            timeline: &tl,
            quota_cores: Some(1.0),
            title: "kcpu run: test",
        };
        let svg = String::from_utf8(render(&chart, ChartFormat::Svg).unwrap()).unwrap();
        for needle in [
            "kcpu run: test",
            "measured CPU usage per sampling interval",
            "quota / period",
            "interval with throttled periods",
            "time (s)",
        ] {
            assert!(svg.contains(needle), "{needle}");
        }
        let png = render(&chart, ChartFormat::Png).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // An empty timeline (a run that never sampled) still renders.
        let empty = RunChart {
            timeline: &[],
            quota_cores: None,
            title: "empty",
        };
        assert!(render(&empty, ChartFormat::Svg).is_ok());
    }

    /// A title too long for the width (a long workload name) is set smaller, never cut.
    #[test]
    fn long_titles_shrink_to_fit() {
        let tl: Vec<Sample> = (0..=5).map(|i| sample(i * 100, i * 80_000, i, 0)).collect();
        let size_of = |title: &str| -> f64 {
            let chart = RunChart {
                timeline: &tl,
                quota_cores: None,
                title,
            };
            let svg = String::from_utf8(render(&chart, ChartFormat::Svg).unwrap()).unwrap();
            crate::render::report_charts::tests::text_attr(&svg, title, "font-size")
        };
        let normal = size_of("short");
        let long = format!("Riskiest container: {} app under periodic", "x".repeat(110));
        let small = size_of(&long);
        assert!(
            small < normal * 0.8 && small >= normal * 10.0 / 18.0,
            "{small} vs {normal}"
        );
    }

    #[test]
    fn formats_from_paths() {
        assert_eq!(
            ChartFormat::from_path("a/b.SVG".as_ref()),
            Some(ChartFormat::Svg)
        );
        assert_eq!(
            ChartFormat::from_path("x.png".as_ref()),
            Some(ChartFormat::Png)
        );
        assert_eq!(ChartFormat::from_path("x.gif".as_ref()), None);
        assert_eq!(ChartFormat::from_path("x".as_ref()), None);
    }
}
