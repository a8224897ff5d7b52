//! The demo's plots, drawn with `plotters` into a pixel buffer and saved as PNG by
//! `smoothgrad-viz`: the Monte-Carlo standard error against `N` (log-log, with the `1/sqrt(N)`
//! line), localization and scatter against the noise level, and the deletion and insertion curves.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{plot_error, register, save_rgb, FONT};
use super::methods::METHODS;
use super::sweeps::{log_log_slope, NoisePoint, StdError};
use crate::error::Result;

/// Plot size in pixels.
const SIZE: (u32, u32) = (900, 520);
/// The size of a plot of three panels side by side.
const WIDE: (u32, u32) = (1350, 520);

/// One colour per method, in [`METHODS`] order (matplotlib's tab10).
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws with `draw` on a white `SIZE` canvas and saves it as `path`.
fn plot(path: PathBuf, draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<PathBuf> {
    plot_sized(path, SIZE, draw)
}

/// Draws with `draw` on a white canvas of `size` pixels and saves it as `path`.
fn plot_sized(
    path: PathBuf,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<()>,
) -> Result<PathBuf> {
    register();
    let (w, h) = size;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(plot_error)?;
    }
    save_rgb(&buf, w as usize, h as usize, &path)?;
    Ok(path)
}

/// The standard error of the SmoothGrad mean against `N` on log-log axes, measured and
/// estimated, with `c / sqrt(N)` fitted to the measurements (slope fixed at -1/2).
pub fn std_error(points: &[StdError], out: &Path) -> Result<PathBuf> {
    let measured: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.samples as f64, p.measured))
        .collect();
    // One sample has no sample variance: the engine's estimate starts at N = 2.
    let estimated: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.samples > 1 && p.estimated > 0.0)
        .map(|p| (p.samples as f64, p.estimated))
        .collect();
    let c = (measured
        .iter()
        .map(|(n, y)| y.ln() + 0.5 * n.ln())
        .sum::<f64>()
        / measured.len() as f64)
        .exp();
    let slope = log_log_slope(&measured);
    let all = measured.iter().chain(&estimated).map(|p| p.1);
    let (lo, hi) = all.fold((f64::INFINITY, 0f64), |(l, h), v| (l.min(v), h.max(v)));
    let n_max = points.last().map_or(100.0, |p| p.samples as f64);
    let y_range = (lo / 1.5).max(1e-9)..hi * 1.5;
    plot(out.join("std_error.png"), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Monte-Carlo standard error of SmoothGrad (fitted slope {slope:.2})"),
                (FONT, 22),
            )
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (1f64..n_max).log_scale(),
                y_range
                    .clone()
                    .log_scale()
                    .with_key_points(ticks_1_2_5(y_range)),
            )
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("samples N")
            .y_desc("standard error / RMS of the map")
            .y_label_formatter(&|v| format!("{v:.2}"))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(plot_error)?;
        let reference: Vec<(f64, f64)> = (0..=40)
            .map(|k| {
                let n = n_max.powf(k as f64 / 40.0);
                (n, c / n.sqrt())
            })
            .collect();
        // A wide light band drawn first, so the reference shows around the measured lines
        // that lie on it.
        let gray = RGBColor(190, 190, 190);
        chart
            .draw_series(LineSeries::new(reference, gray.stroke_width(10)))
            .map_err(plot_error)?
            .label("c / sqrt(N), slope -1/2")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], gray.stroke_width(10))
            });
        for (series, colour, name) in [
            (
                &measured,
                COLOURS[0],
                "measured (spread over 4 noise seeds)",
            ),
            (
                &estimated,
                COLOURS[1],
                "estimated by the engine (s / sqrt(N))",
            ),
        ] {
            chart
                .draw_series(LineSeries::new(
                    series.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour));
            chart
                .draw_series(series.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(plot_error)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, 15))
            .draw()
            .map_err(plot_error)
    })
}

/// The values `m * 10^k` with `m` in {1, 2, 5} inside `range` (positive): a log axis's labels.
/// Plotters' own key points of a log axis can repeat a label (two ticks both printed "1.00").
fn ticks_1_2_5(range: std::ops::Range<f64>) -> Vec<f64> {
    let first = range.start.log10().floor() as i32;
    let last = range.end.log10().ceil() as i32;
    (first..=last)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .filter(|v| range.contains(v))
        .collect()
}

/// Energy in the mask, the pointing game and the scatter of SmoothGrad against the noise level:
/// each seed's curve (thin) and their mean (thick).
pub fn localization_vs_noise(
    levels: &[f64],
    per_seed: &[Vec<NoisePoint>],
    out: &Path,
) -> Result<PathBuf> {
    let names = [
        "energy in the mask",
        "pointing game",
        "scatter (lower: smoother)",
    ];
    plot_sized(out.join("noise_metrics.png"), WIDE, |root| {
        let panels = root.split_evenly((1, 3));
        for (k, (panel, ((_, pick), name))) in panels
            .iter()
            .zip(NoisePoint::METRICS.iter().zip(names))
            .enumerate()
        {
            let hi = per_seed.iter().flatten().map(pick).fold(0f64, f64::max);
            let lo = per_seed
                .iter()
                .flatten()
                .map(pick)
                .fold(f64::INFINITY, f64::min);
            // Energy and pointing are shares in [0, 1]; the scatter is any non-negative ratio.
            let top = if k < 2 {
                (hi + 0.05).min(1.0)
            } else {
                hi * 1.05
            };
            let bottom = if k < 2 { lo - 0.05 } else { lo * 0.95 };
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("SmoothGrad: {name}"), (FONT, 18))
                .margin(10)
                .x_label_area_size(44)
                .y_label_area_size(52)
                .build_cartesian_2d(0f64..52f64, bottom.max(0.0)..top.max(bottom + 1e-6))
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("noise sigma / (max - min), %")
                .y_desc(name)
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .draw()
                .map_err(plot_error)?;
            for seed in per_seed {
                let line = levels.iter().zip(seed).map(|(l, p)| (100.0 * l, pick(p)));
                chart
                    .draw_series(LineSeries::new(line, COLOURS[k].mix(0.3)))
                    .map_err(plot_error)?;
            }
            let mean: Vec<(f64, f64)> = (0..levels.len())
                .map(|i| {
                    let m =
                        per_seed.iter().map(|s| pick(&s[i])).sum::<f64>() / per_seed.len() as f64;
                    (100.0 * levels[i], m)
                })
                .collect();
            chart
                .draw_series(LineSeries::new(mean.clone(), COLOURS[k].stroke_width(3)))
                .map_err(plot_error)?;
            chart
                .draw_series(mean.iter().map(|&p| Circle::new(p, 4, COLOURS[k].filled())))
                .map_err(plot_error)?;
        }
        Ok(())
    })
}

/// The mean deletion and insertion curves of every method (in [`METHODS`] order).
pub fn deletion_insertion(
    deletion: &[Vec<f64>],
    insertion: &[Vec<f64>],
    out: &Path,
) -> Result<PathBuf> {
    plot(out.join("deletion_insertion.png"), |root| {
        let panels = root.split_evenly((1, 2));
        for (panel, (curves, name)) in panels.iter().zip([
            (deletion, "deletion (lower is better)"),
            (insertion, "insertion (higher is better)"),
        ]) {
            let mut chart = ChartBuilder::on(panel)
                .caption(name, (FONT, 20))
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("fraction of pixels")
                .y_desc("target probability")
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 15))
                .draw()
                .map_err(plot_error)?;
            for (k, curve) in curves.iter().enumerate() {
                let steps = (curve.len().max(2) - 1) as f64;
                let colour = COLOURS[k % COLOURS.len()];
                let line = curve
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| (i as f64 / steps, y));
                chart
                    .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                    .map_err(plot_error)?
                    .label(METHODS[k].1)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font((FONT, 13))
                .draw()
                .map_err(plot_error)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_1_2_5_per_decade_inside_the_range() {
        assert_eq!(ticks_1_2_5(0.09..2.5), vec![0.1, 0.2, 0.5, 1.0, 2.0]);
        assert_eq!(ticks_1_2_5(3.0..4.0), Vec::<f64>::new());
    }
}
