//! SVG plots of a run report or of a sweep's results (`treta-vp report FILE
//! --plots DIR`), drawn with `plotters`' SVG backend — no Python needed.
//!
//! From a run report: per-GEMM utilization of the flexible engine against a
//! systolic array (`gemm_list` workloads), a roofline of the run, and time and
//! energy breakdowns (per engine, and per layer and phase for a training step).
//! From a sweep's `results.json`: any report figure against any swept parameter,
//! one series per combination of the other parameters.

use crate::sweep::lookup;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Plot size [px].
const SIZE: (u32, u32) = (900, 540);

/// Series colours, in order (a palette distinguishable in colour and grey).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Why a plot could not be drawn.
type PlotResult<T> = Result<T, String>;

fn draw_error(e: impl std::fmt::Display) -> String {
    format!("plot: {e}")
}

fn number(v: &Value, path: &str) -> Option<f64> {
    lookup(v, path).and_then(Value::as_f64)
}

/// Draws every plot `report` supports into `dir`; returns the files written.
pub fn report_plots(report: &Value, dir: &Path) -> PlotResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    let mut emit = |name: &str, svg: String| -> PlotResult<()> {
        let path = dir.join(name);
        std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
        Ok(())
    };
    if let Some(svg) = gemm_utilization(report)? {
        emit("gemm_utilization.svg", svg)?;
    }
    emit("roofline.svg", roofline(report)?)?;
    let engines = breakdown(report, "engines", "busy_ps", 1e-9);
    emit(
        "time_per_engine.svg",
        bars("Busy time per engine", "ms", &engines)?,
    )?;
    let energy = breakdown(report, "energy.by_engine", "", 1e-9);
    emit(
        "energy_per_engine.svg",
        bars("Energy per engine", "mJ", &energy)?,
    )?;
    let classes = breakdown(report, "energy.by_class", "", 1e-9);
    emit(
        "energy_per_class.svg",
        bars("Energy per kind of event", "mJ", &classes)?,
    )?;
    if let Some(phases) = lookup(report, "phases").and_then(Value::as_array) {
        if !phases.is_empty() {
            for (file, key, title, unit, scale) in [
                (
                    "time_per_phase.svg",
                    "time_ps",
                    "Time per layer and phase",
                    "ms",
                    1e-9,
                ),
                (
                    "energy_per_phase.svg",
                    "energy_pj",
                    "Energy per layer and phase",
                    "mJ",
                    1e-9,
                ),
            ] {
                let rows = group_phases(phases, key, scale);
                emit(file, stacked_bars(title, unit, &rows)?)?;
            }
        }
    }
    Ok(written)
}

/// (name, value × scale) of every entry of the object at `path` (its `field`
/// when given).
fn breakdown(report: &Value, path: &str, field: &str, scale: f64) -> Vec<(String, f64)> {
    lookup(report, path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let x = if field.is_empty() {
                        v.as_f64()
                    } else {
                        v[field].as_f64()
                    };
                    x.map(|x| (k.clone(), x * scale))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A training step's phases grouped into rows (`layer3`, or `head` for what is
/// outside the layers) of stacked segments (`fwd`, `bwd`, `sgd`, `loss`, ...).
fn group_phases(phases: &[Value], key: &str, scale: f64) -> Vec<(String, Vec<(String, f64)>)> {
    let mut rows: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for p in phases {
        let Some(op) = p["op"].as_str() else { continue };
        let value = p[key].as_f64().unwrap_or(0.0) * scale;
        // The row is the op's `layerN` component (`layer3.fwd.q_proj`,
        // `sgd.layer3.attn.wq`), the phase its first other component.
        let is_layer = |c: &&str| {
            c.len() > 5 && c.starts_with("layer") && c[5..].chars().all(|d| d.is_ascii_digit())
        };
        let row = op.split('.').find(is_layer).unwrap_or("step").to_string();
        let phase = op
            .split('.')
            .find(|c| !is_layer(c))
            .unwrap_or(op)
            .to_string();
        let at = match rows.iter().position(|(r, _)| *r == row) {
            Some(i) => i,
            None => {
                rows.push((row, Vec::new()));
                rows.len() - 1
            }
        };
        let segments = &mut rows[at].1;
        match segments.iter_mut().find(|(s, _)| *s == phase) {
            Some(s) => s.1 += value,
            None => segments.push((phase, value)),
        }
    }
    rows
}

fn svg_area(buffer: &mut String) -> DrawingArea<SVGBackend<'_>, Shift> {
    let area = SVGBackend::with_string(buffer, SIZE).into_drawing_area();
    let _ = area.fill(&WHITE);
    area
}

/// A chart of horizontal bars: values on x, one y segment per bar.
type BarChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>>;

/// The frame of a horizontal bar chart: `title`, x from 0 to `x_max` in `unit`,
/// `segments` y segments of which every `per_label`-th carries the next of
/// `labels`.
#[allow(clippy::too_many_arguments)] // a chart's frame
fn bar_chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    unit: &str,
    x_max: f64,
    segments: usize,
    labels: &[String],
    per_label: usize,
    label_area: u32,
) -> PlotResult<BarChart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(label_area)
        .build_cartesian_2d(0.0..x_max, (0..segments).into_segmented())
        .map_err(draw_error)?;
    let font = if per_label > 1 { 10 } else { 12 };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(unit)
        .y_labels(segments)
        .y_label_style(("sans-serif", font))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if i % per_label == 0 => {
                labels.get(i / per_label).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// A bar from 0 to `value` filling y segment `segment` (less `margin` px).
fn bar(
    segment: usize,
    from: f64,
    to: f64,
    colour: RGBColor,
    margin: u32,
) -> Rectangle<(f64, SegmentValue<usize>)> {
    let mut r = Rectangle::new(
        [
            (from, SegmentValue::Exact(segment)),
            (to, SegmentValue::Exact(segment + 1)),
        ],
        colour.filled(),
    );
    r.set_margin(margin, margin, 0, 0);
    r
}

/// Draws the series' legend boxed at `position`.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> PlotResult<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(draw_error)
}

/// Horizontal bars, one per (label, value).
fn bars(title: &str, unit: &str, rows: &[(String, f64)]) -> PlotResult<String> {
    let mut svg = String::new();
    {
        let area = svg_area(&mut svg);
        let max = rows.iter().map(|r| r.1).fold(0.0, f64::max);
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let n = rows.len().max(1);
        let x_max = max.max(f64::MIN_POSITIVE) * 1.1;
        let mut chart = bar_chart(&area, title, unit, x_max, n, &labels, 1, 140)?;
        chart
            .draw_series(
                rows.iter()
                    .enumerate()
                    .map(|(i, (_, v))| bar(i, 0.0, *v, PALETTE[i % PALETTE.len()], 4)),
            )
            .map_err(draw_error)?;
        area.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Horizontal stacked bars: per row, its segments end to end, a legend entry per
/// segment name.
fn stacked_bars(
    title: &str,
    unit: &str,
    rows: &[(String, Vec<(String, f64)>)],
) -> PlotResult<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, segments) in rows {
        for (s, _) in segments {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
    }
    let mut svg = String::new();
    {
        let area = svg_area(&mut svg);
        let max = rows
            .iter()
            .map(|(_, s)| s.iter().map(|x| x.1).sum::<f64>())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let n = rows.len().max(1);
        let mut chart = bar_chart(&area, title, unit, max * 1.25, n, &labels, 1, 90)?;
        for (k, name) in names.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let segments = rows.iter().enumerate().filter_map(|(i, (_, segs))| {
                let start: f64 = segs.iter().take_while(|s| s.0 != *name).map(|s| s.1).sum();
                let v = segs.iter().find(|s| s.0 == *name)?.1;
                Some(bar(i, start, start + v, colour, 3))
            });
            chart
                .draw_series(segments)
                .map_err(draw_error)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        area.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Per-GEMM utilization, flexible against systolic, from `engine_comparison`.
fn gemm_utilization(report: &Value) -> PlotResult<Option<String>> {
    let Some(gemms) = lookup(report, "engine_comparison.gemms").and_then(Value::as_array) else {
        return Ok(None);
    };
    let rows: Vec<(String, f64, f64)> = gemms
        .iter()
        .filter_map(|g| {
            Some((
                g["name"].as_str()?.to_string(),
                g["flexible"]["utilization"].as_f64()?,
                g["systolic"]["utilization"].as_f64()?,
            ))
        })
        .collect();
    let mut svg = String::new();
    {
        let area = svg_area(&mut svg);
        // Two segments per GEMM: flexible, then systolic; the name on the first.
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let n = 2 * rows.len().max(1);
        let title = "GEMM utilization: flexible vs systolic";
        let unit = "utilization (useful MACs ÷ MACs × cycles)";
        let mut chart = bar_chart(&area, title, unit, 1.3, n, &labels, 2, 150)?;
        for (k, (name, pick)) in [
            (
                "flexible",
                (|r: &(String, f64, f64)| r.1) as fn(&(String, f64, f64)) -> f64,
            ),
            ("systolic", |r: &(String, f64, f64)| r.2),
        ]
        .into_iter()
        .enumerate()
        {
            let colour = PALETTE[k];
            chart
                .draw_series(
                    rows.iter()
                        .enumerate()
                        .map(|(i, r)| bar(2 * i + k, 0.0, pick(r), colour, 1)),
                )
                .map_err(draw_error)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        area.present().map_err(draw_error)?;
    }
    Ok(Some(svg))
}

/// Each operation of `report` with GEMM work (`phases[]`: a training step's
/// operations, a `gemm_list`'s GEMMs) as (ops per DRAM byte, TOPS).
fn operation_points(report: &Value) -> Vec<(f64, f64)> {
    report["phases"]
        .as_array()
        .map(|phases| {
            phases
                .iter()
                .filter_map(|p| {
                    let ops = number(p, "ops")?;
                    let bytes = number(p, "dram_bytes")?;
                    let ps = number(p, "time_ps")?;
                    (ops > 0.0 && bytes > 0.0 && ps > 0.0).then(|| (ops / bytes, ops / ps))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The roofline of the run: peak compute, DRAM bandwidth, the run's point
/// (useful operations ÷ DRAM bytes, achieved TOPS) and one mark per
/// operation with GEMM work, so each shows which roof bounds it.
fn roofline(report: &Value) -> PlotResult<String> {
    let peak = number(report, "peak_tops").unwrap_or(0.0);
    let bandwidth = number(report, "dram.peak_gbps").unwrap_or(0.0) * 1e9;
    let achieved = number(report, "achieved_tops").unwrap_or(0.0);
    let secs = number(report, "sim_time_ps").unwrap_or(0.0) * 1e-12;
    let bytes = number(report, "dram.read_bytes").unwrap_or(0.0)
        + number(report, "dram.write_bytes").unwrap_or(0.0);
    let ops = achieved * 1e12 * secs;
    let intensity = if bytes > 0.0 { ops / bytes } else { 1e4 };
    let ridge = if bandwidth > 0.0 {
        peak * 1e12 / bandwidth
    } else {
        1.0
    };
    let operations = operation_points(report);
    let lowest_x = operations
        .iter()
        .map(|p| p.0)
        .fold(intensity.min(ridge), f64::min);
    let highest_x = operations
        .iter()
        .map(|p| p.0)
        .fold(intensity.max(ridge), f64::max);
    let (x_min, x_max) = ((lowest_x / 10.0).max(1e-3), (highest_x * 10.0).max(1.0));
    let roof = |x: f64| (x * bandwidth / 1e12).min(peak);
    let lowest_y = operations.iter().map(|p| p.1).fold(achieved, f64::min);
    let y_min = (lowest_y.min(roof(x_min)) / 10.0).max(1e-4);
    let mut svg = String::new();
    {
        let area = svg_area(&mut svg);
        let mut chart = ChartBuilder::on(&area)
            .caption("Roofline", ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..peak * 2.0).log_scale())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("operational intensity [ops per DRAM byte]")
            .y_desc("TOPS")
            .draw()
            .map_err(draw_error)?;
        let xs: Vec<f64> = (0..=200)
            .map(|i| x_min * (x_max / x_min).powf(f64::from(i) / 200.0))
            .collect();
        chart
            .draw_series(LineSeries::new(
                xs.iter().map(|&x| (x, roof(x))),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(draw_error)?
            .label(format!("roof: {peak:.2} TOPS, {:.1} GB/s", bandwidth / 1e9))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0]));
        if !operations.is_empty() {
            chart
                .draw_series(operations.iter().map(|&(x, y)| {
                    Cross::new((x.clamp(x_min, x_max), y.max(y_min)), 4, PALETTE[1])
                }))
                .map_err(draw_error)?
                .label(format!(
                    "each operation with GEMM work ({})",
                    operations.len()
                ))
                .legend(|(x, y)| Cross::new((x + 9, y), 4, PALETTE[1]));
        }
        let scenario = report["scenario"].as_str().unwrap_or("run").to_string();
        chart
            .draw_series(std::iter::once(Circle::new(
                (intensity, achieved.max(y_min)),
                6,
                PALETTE[3].filled(),
            )))
            .map_err(draw_error)?
            .label(format!(
                "{scenario}: {achieved:.3} TOPS at {intensity:.1} ops/byte"
            ))
            .legend(|(x, y)| Circle::new((x + 9, y), 5, PALETTE[3].filled()));
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        area.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// The figures a sweep is plotted for when none are named.
pub fn default_sweep_figures() -> Vec<String> {
    ["sim_time_ps", "achieved_tops", "tops_per_w", "energy_pj"]
        .map(String::from)
        .to_vec()
}

/// One sweep plot per figure in `figures` against the swept path `x` (each
/// swept path when `None`), a series per combination of the other paths; into
/// `dir`. Returns the files written.
pub fn sweep_plots(
    results: &[Value],
    x: Option<&str>,
    figures: &[String],
    dir: &Path,
) -> PlotResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let paths: Vec<String> = results
        .first()
        .and_then(|r| r["params"].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let xs: Vec<&str> = match x {
        Some(x) if paths.iter().any(|p| p == x) => vec![x],
        Some(x) => {
            return Err(format!(
                "--x {x}: not a swept parameter (swept: {})",
                paths.join(", ")
            ))
        }
        None => paths.iter().map(String::as_str).collect(),
    };
    let mut written = Vec::new();
    for x in xs {
        for figure in figures {
            let svg = sweep_plot(results, x, figure)?;
            let path = dir.join(format!("{}_vs_{}.svg", file_part(figure), file_part(x)));
            std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A tick label: three significant digits, in exponent form when large or small.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-2..1e4).contains(&a) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

/// The last two components of a dotted path (`sram.bytes`), for legends.
fn short_path(path: &str) -> &str {
    match path.rmatch_indices('.').nth(1) {
        Some((i, _)) => &path[i + 1..],
        None => path,
    }
}

fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `figure` against `x`: x values in order of first appearance (numbers or
/// names, evenly spaced), one series per combination of the other parameters.
fn sweep_plot(results: &[Value], x: &str, figure: &str) -> PlotResult<String> {
    let mut x_values: Vec<String> = Vec::new();
    // Series label → (x index, y).
    let mut series: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in results {
        let Some(params) = r["params"].as_object() else {
            continue;
        };
        let Some(xv) = params.get(x).and_then(Value::as_str) else {
            continue;
        };
        let Some(y) = r["report"]
            .as_object()
            .and_then(|_| number(&r["report"], figure))
        else {
            continue;
        };
        let xi = match x_values.iter().position(|v| v == xv) {
            Some(i) => i,
            None => {
                x_values.push(xv.to_string());
                x_values.len() - 1
            }
        };
        let label: Vec<String> = params
            .iter()
            .filter(|(k, _)| k.as_str() != x)
            .map(|(k, v)| format!("{}={}", short_path(k), v.as_str().unwrap_or("")))
            .collect();
        let label = if label.is_empty() {
            figure.to_string()
        } else {
            label.join(", ")
        };
        if !series.contains_key(&label) {
            order.push(label.clone());
        }
        series.entry(label).or_default().push((xi, y));
    }
    if series.is_empty() {
        return Err(format!(
            "no point has the figure `{figure}` and the parameter `{x}`"
        ));
    }
    let (lo, hi) = series
        .values()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-12);
    // Room above the data for the legend, a line per series.
    let legend_room = (hi - lo + pad) * 0.07 * order.len() as f64;
    let mut svg = String::new();
    {
        let area = svg_area(&mut svg);
        let n = x_values.len();
        let mut chart = ChartBuilder::on(&area)
            .caption(format!("{figure} vs {x}"), ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), (lo - pad)..(hi + pad + legend_room))
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(x)
            .y_desc(figure)
            .y_label_formatter(&|v| compact(*v))
            .x_labels(n)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    x_values.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(draw_error)?;
        for (k, label) in order.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let mut points: Vec<(f64, f64)> =
                series[label].iter().map(|&(i, y)| (i as f64, y)).collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(draw_error)?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 4, colour.filled())),
                )
                .map_err(draw_error)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        area.present().map_err(draw_error)?;
    }
    Ok(svg)
}
