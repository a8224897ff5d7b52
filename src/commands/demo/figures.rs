//! The demo's figures, after the SmoothGrad paper's: the methods side by side (absolute maps as
//! PAIR `saliency` draws them, signed maps in a diverging colormap, and overlays on the input),
//! the noise-level sweep (the paper's figure 3) and the sample-count sweep (figure 4).

use std::path::{Path, PathBuf};

use smoothgrad::Model;
use smoothgrad_autograd::Tensor;
use smoothgrad_viz::{overlay, Colormap, Image, Pipeline};

use super::canvas::labelled_grid;
use super::methods::{self, Smoothing, METHODS};
use crate::error::Result;

/// The relative noise levels of the noise sweep (the paper's figure 3 spans 0% to 50%).
pub const NOISE_LEVELS: [f64; 6] = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5];
/// The sample counts of the sample sweep (the paper's figure 4).
pub const SAMPLE_COUNTS: [usize; 6] = [1, 5, 10, 20, 50, 100];

/// The zoom that makes an `n`-pixel side about 160 pixels or more.
fn zoom(n: usize) -> usize {
    160usize.div_ceil(n.max(1)).max(1)
}

/// Image `i` of a `[N, C, H, W]` batch as RGB in `[0, 1]` (min-max scaled if it is not already
/// there, e.g. normalized inputs), unzoomed.
pub fn input_image(images: &Tensor, i: usize) -> Result<Image> {
    let [_, c, h, w] = <[usize; 4]>::try_from(images.shape()).expect("NCHW images");
    let len = c * h * w;
    let mut data = images.data()[i * len..(i + 1) * len].to_vec();
    let (lo, hi) = data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if lo < 0.0 || hi > 1.0 {
        let span = (hi - lo).max(f32::MIN_POSITIVE);
        data.iter_mut().for_each(|v| *v = (*v - lo) / span);
    }
    Ok(Image::new(c, h, w, data)?.to_rgb())
}

/// The three renderings of a batch of maps: absolute (gray), signed (bwr) and absolute (inferno)
/// over the inputs, each zoomed.
struct Rendered {
    abs: Vec<Image>,
    signed: Vec<Image>,
    overlaid: Vec<Image>,
}

fn render(images: &Tensor, maps: &Tensor) -> Result<Rendered> {
    let z = zoom(maps.shape()[3]);
    let abs = Pipeline::pair_grayscale().run_slice(maps.data(), maps.shape())?;
    let signed = Pipeline::diverging().run_slice(maps.data(), maps.shape())?;
    let mut r = Rendered {
        abs: vec![],
        signed: vec![],
        overlaid: vec![],
    };
    for i in 0..abs.len() {
        r.abs.push(abs.colorize(i, Colormap::Gray)?.upscale(z)?);
        r.signed
            .push(signed.colorize(i, Colormap::Bwr)?.upscale(z)?);
        let heat = abs.colorize(i, Colormap::Inferno)?;
        r.overlaid
            .push(overlay(&input_image(images, i)?, &heat, 0.6)?.upscale(z)?);
    }
    Ok(r)
}

/// A figure with, per image, a row of the input and the absolute maps, and with `full` two more:
/// the signed maps and the overlays (the row kind written in the first column).
fn figure(
    images: &Tensor,
    columns: &[Tensor],
    titles: &[&str],
    full: bool,
    path: PathBuf,
) -> Result<PathBuf> {
    let rendered: Vec<Rendered> = columns
        .iter()
        .map(|m| render(images, m))
        .collect::<Result<_>>()?;
    let z = zoom(images.shape()[3]);
    let (mut rows, mut labels) = (vec![], vec![]);
    for i in 0..images.shape()[0] {
        let mut abs = vec![Some(input_image(images, i)?.upscale(z)?)];
        let mut signed = vec![None];
        let mut over = vec![None];
        for r in &rendered {
            abs.push(Some(r.abs[i].clone()));
            signed.push(Some(r.signed[i].clone()));
            over.push(Some(r.overlaid[i].clone()));
        }
        if full {
            rows.extend([abs, signed, over]);
            labels.extend([vec![], vec!["signed (bwr)"], vec!["|map| on input"]]);
        } else {
            rows.push(abs);
            labels.push(vec![]);
        }
    }
    let mut all_titles = vec![if full { "Input / |map|" } else { "Input" }];
    all_titles.extend_from_slice(titles);
    let picture = labelled_grid(&rows, &all_titles, &labels)?;
    smoothgrad_viz::save_png(&path, &picture)?;
    Ok(path)
}

/// Draws the methods figure and both sweeps for `images` (explaining `targets`, SmoothGrad as
/// `smoothing`) into `out`, and returns the files written.
pub fn draw_all(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    smoothing: Smoothing,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    let n = images.shape()[0];
    println!("drawing the figures on {n} held-out images");
    let maps = methods::attributions(model, images, targets, smoothing)?;
    let titles: Vec<&str> = METHODS.iter().map(|m| m.1).collect();
    let mut written = vec![figure(
        images,
        &maps,
        &titles,
        true,
        out.join("methods.png"),
    )?];

    let sweep = methods::noise_sweep(model, images, targets, &NOISE_LEVELS, smoothing)?;
    let labels: Vec<String> = NOISE_LEVELS
        .iter()
        .map(|l| format!("noise {:.0}%", 100.0 * l))
        .collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    written.push(figure(
        images,
        &sweep,
        &labels,
        false,
        out.join("noise_sweep.png"),
    )?);

    let counts: Vec<usize> = SAMPLE_COUNTS
        .into_iter()
        .filter(|&n| n <= 2 * smoothing.samples)
        .collect();
    let sweep = methods::samples_sweep(model, images, targets, &counts, smoothing)?;
    let labels: Vec<String> = counts.iter().map(|c| format!("N = {c}")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    written.push(figure(
        images,
        &sweep,
        &labels,
        false,
        out.join("samples_sweep.png"),
    )?);
    Ok(written)
}
