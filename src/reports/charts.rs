//! Charts as SVG (plotters' SVG backend) and PNG (that SVG rasterised by resvg, its text set in
//! the project's own Noto Sans SC from `assets/fonts`, so a PNG looks the same on every host).
//!
//! Layout: the title and a legend of every series in a band at the top (never over the data),
//! the plot below with both axes titled. Categories sit at whole x positions; with many of them
//! only every k-th is labelled, so labels never overlap. Values become f64 here, at the
//! drawing: pixel coordinates are whole numbers anyway.

use super::RenderError;
use crate::domain::chart::{Chart, ChartKind};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;
/// The band above the plot: title, then the legend in rows.
const LEGEND_ROW: i32 = 22;
const FONT: &str = "sans-serif";
/// At most this many category labels along the x axis.
const MAX_X_LABELS: usize = 8;

static REGULAR_OTF: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Regular-GB2312.otf");
static BOLD_OTF: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Bold-Latin.otf");

fn err<E: std::fmt::Debug>(e: E) -> RenderError {
    RenderError::Chart(format!("{e:?}"))
}

fn rgb(hex: &str) -> RGBColor {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn values(chart: &Chart) -> Vec<Vec<Option<f64>>> {
    chart.series.iter().map(|s| s.values.iter().map(|v| v.and_then(|d| d.to_f64())).collect()).collect()
}

/// The y range: every value (stacked bars: the sums above and below zero) and zero, with room
/// above the highest.
fn y_range(kind: ChartKind, vals: &[Vec<Option<f64>>], n: usize) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    match kind {
        ChartKind::Lines => {
            for v in vals.iter().flatten().flatten() {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
        ChartKind::StackedBars => {
            for i in 0..n {
                let col = vals.iter().filter_map(|s| s.get(i).copied().flatten());
                let (neg, pos) = col.fold((0.0, 0.0), |(n, p), v| if v < 0.0 { (n + v, p) } else { (n, p + v) });
                lo = lo.min(neg);
                hi = hi.max(pos);
            }
        }
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.08;
    (if lo < 0.0 { lo - pad } else { lo }, hi + pad)
}

/// A y-axis number short enough for the label area: 1.2M, 45k, 12.5.
fn y_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Every `step`-th category label (the last one always), blank elsewhere.
fn x_label(categories: &[String], x: f64, step: usize) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    let i = i as usize;
    let last = categories.len().saturating_sub(1);
    let shown = i == last || (i.is_multiple_of(step) && last - i >= step);
    if shown {
        categories.get(i).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Rows of the legend: (series index, x) per entry, wrapped to the width.
fn legend_rows(chart: &Chart) -> Vec<Vec<(usize, i32)>> {
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut x = 70;
    for (i, s) in chart.series.iter().enumerate() {
        let w = 30 + 8 * s.name.chars().count() as i32 + 24;
        if x + w > WIDTH as i32 - 20 && !rows.last().is_some_and(Vec::is_empty) {
            rows.push(Vec::new());
            x = 70;
        }
        rows.last_mut().expect("a row").push((i, x));
        x += w;
    }
    rows
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn header(area: &Area<'_>, chart: &Chart, rows: &[Vec<(usize, i32)>]) -> Result<(), RenderError> {
    let title = TextStyle::from((FONT, 22).into_font()).color(&BLACK);
    area.draw(&Text::new(chart.title.clone(), (70, 12), title)).map_err(err)?;
    let label = TextStyle::from((FONT, 16).into_font()).color(&RGBColor(40, 40, 40));
    for (r, row) in rows.iter().enumerate() {
        let y = 46 + r as i32 * LEGEND_ROW;
        for &(i, x) in row {
            let color = rgb(&chart.series[i].color);
            area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], color.filled())).map_err(err)?;
            area.draw(&Text::new(chart.series[i].name.clone(), (x + 20, y), label.clone())).map_err(err)?;
        }
    }
    Ok(())
}

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn bars(plot: &mut Plot<'_, '_>, chart: &Chart, vals: &[Vec<Option<f64>>]) -> Result<(), RenderError> {
    for i in 0..chart.categories.len() {
        let (mut up, mut down) = (0.0, 0.0);
        for (s, series) in vals.iter().enumerate() {
            let Some(v) = series.get(i).copied().flatten().filter(|v| *v != 0.0) else { continue };
            let (y0, y1) = if v > 0.0 { (up, up + v) } else { (down, down + v) };
            if v > 0.0 {
                up += v
            } else {
                down += v
            }
            let x = i as f64;
            let color = rgb(&chart.series[s].color);
            plot.draw_series(std::iter::once(Rectangle::new([(x - 0.34, y0), (x + 0.34, y1)], color.filled())))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn lines(plot: &mut Plot<'_, '_>, chart: &Chart, vals: &[Vec<Option<f64>>]) -> Result<(), RenderError> {
    let radius = if chart.categories.len() > 40 { 3 } else { 4 };
    for (s, series) in vals.iter().enumerate() {
        let color = rgb(&chart.series[s].color);
        let mut run: Vec<(f64, f64)> = Vec::new();
        for (i, v) in series.iter().enumerate().map(|(i, v)| (i as f64, v)).chain([(f64::NAN, &None)]) {
            match v {
                Some(v) => run.push((i, *v)),
                None if run.len() > 1 => {
                    plot.draw_series(LineSeries::new(std::mem::take(&mut run), color.stroke_width(2))).map_err(err)?;
                }
                None => run.clear(),
            }
        }
        let points = series.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v)));
        plot.draw_series(points.map(|p| Circle::new(p, radius, color.filled()))).map_err(err)?;
    }
    Ok(())
}

/// The chart as an SVG document.
pub fn svg(chart: &Chart) -> Result<String, RenderError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let rows = legend_rows(chart);
        let band = 46 + rows.len() as u32 * LEGEND_ROW as u32 + 8;
        let (top, body) = root.split_vertically(band);
        header(&top, chart, &rows)?;
        let n = chart.categories.len().max(1);
        let vals = values(chart);
        let (lo, hi) = y_range(chart.kind, &vals, n);
        let mut plot = ChartBuilder::on(&body)
            .margin_left(12)
            .margin_right(28)
            .margin_bottom(10)
            .x_label_area_size(56)
            .y_label_area_size(78)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)
            .map_err(err)?;
        let step = n.div_ceil(MAX_X_LABELS).max(1);
        let categories = &chart.categories;
        let x_fmt = |x: &f64| x_label(categories, *x, step);
        let y_fmt = |y: &f64| y_label(*y);
        plot.configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_labels(n + 1)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc(chart.x_title.as_str())
            .y_desc(chart.y_title.as_str())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(err)?;
        if lo < 0.0 {
            let zero = PathElement::new(vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)], RGBColor(120, 120, 120));
            plot.draw_series(std::iter::once(zero)).map_err(err)?;
        }
        match chart.kind {
            ChartKind::StackedBars => bars(&mut plot, chart, &vals)?,
            ChartKind::Lines => lines(&mut plot, chart, &vals)?,
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// The SVG as a PNG of the same size, its text in the project's fonts.
pub fn png(svg: &str) -> Result<Vec<u8>, RenderError> {
    let mut opt = resvg::usvg::Options::default();
    let db = opt.fontdb_mut();
    db.load_font_data(REGULAR_OTF.to_vec());
    db.load_font_data(BOLD_OTF.to_vec());
    let family = db.faces().next().and_then(|f| f.families.first().map(|(name, _)| name.clone()));
    let family = family.ok_or_else(|| RenderError::Chart("no font".into()))?;
    db.set_sans_serif_family(family.clone());
    opt.font_family = family;
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(err)?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| RenderError::Chart("empty picture".into()))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chart::{color, ChartSeries};
    use rust_decimal::Decimal;

    fn sample(kind: ChartKind, n: usize) -> Chart {
        let series = (0..3)
            .map(|s| ChartSeries {
                name: format!("series {s}"),
                color: color(s),
                values: (0..n).map(|i| (i % 4 != 3).then(|| Decimal::from((i * 7 + s * 13) as i64 - 10))).collect(),
            })
            .collect();
        Chart {
            name: "sample".into(),
            title: "A sample 样例".into(),
            kind,
            x_title: "week".into(),
            y_title: "value".into(),
            categories: (0..n).map(|i| format!("2026-01-{:02}", i % 28 + 1)).collect(),
            series,
        }
    }

    /// `CHART_SAMPLES_DIR=/tmp/x cargo test --lib reports::charts` writes the PNGs to look at.
    #[test]
    fn both_kinds_render_to_svg_and_png() {
        for (kind, n) in [(ChartKind::Lines, 40), (ChartKind::StackedBars, 6), (ChartKind::Lines, 1)] {
            let chart = sample(kind, n);
            let svg = svg(&chart).unwrap();
            if let Ok(dir) = std::env::var("CHART_SAMPLES_DIR") {
                std::fs::write(format!("{dir}/sample-{kind:?}-{n}.svg"), &svg).unwrap();
            }
            assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
            assert!(svg.contains("series 2") && svg.contains("week") && svg.contains("value"));
            let png = png(&svg).unwrap();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            if let Ok(dir) = std::env::var("CHART_SAMPLES_DIR") {
                std::fs::write(format!("{dir}/sample-{kind:?}-{n}.png"), &png).unwrap();
            }
        }
    }

    #[test]
    fn labels_are_thinned_and_the_last_is_kept() {
        let cats: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        let shown: Vec<String> = (0..25).map(|i| x_label(&cats, i as f64, 3)).filter(|s| !s.is_empty()).collect();
        assert_eq!(shown, ["0", "3", "6", "9", "12", "15", "18", "21", "24"]);
        let shown: Vec<String> = (0..23).map(|i| x_label(&cats[..23], i as f64, 3)).filter(|s| !s.is_empty()).collect();
        assert_eq!(shown, ["0", "3", "6", "9", "12", "15", "18", "22"], "21 would touch the last");
        assert_eq!(x_label(&cats, 0.5, 1), "");
        assert_eq!(y_label(1_250_000.0), "1.2M");
        assert_eq!(y_label(45_000.0), "45k");
        assert_eq!(y_label(12.5), "12.5");
    }
}
