//! The demo's figures, after the SmoothGrad paper's: methods side by side, a noise sweep and a
//! sample-count sweep. Maps are drawn as PAIR `saliency` draws them (absolute values summed over
//! channels, capped at the 99th percentile, scaled to [0, 1], grayscale).

use std::path::PathBuf;

use smoothgrad_autograd::Tensor;
use smoothgrad_viz::{grid, Colormap, GridOptions, Image, Pipeline};

use super::methods::{self, METHODS};
use super::train::Trained;
use super::Plan;
use crate::cli::DemoArgs;
use crate::error::Result;

/// Pixels per data pixel in the figures.
const ZOOM: usize = 4;

/// The relative noise levels of the noise sweep (the paper's Figure 3 spans 0% to 50%).
pub const NOISE_LEVELS: [f64; 5] = [0.0, 0.1, 0.2, 0.3, 0.5];
/// The sample counts of the sample sweep.
pub const SAMPLE_COUNTS: [usize; 4] = [1, 10, 50, 100];

/// Image `i` of a `[N, 3, H, W]` batch, zoomed.
fn input_cell(images: &Tensor, i: usize) -> Result<Image> {
    let [_, c, h, w] = <[usize; 4]>::try_from(images.shape()).expect("NCHW images");
    let len = c * h * w;
    let img = Image::new(c, h, w, images.data()[i * len..(i + 1) * len].to_vec())?;
    Ok(img.upscale(ZOOM)?)
}

/// Every map of a `[N, 3, H, W]` attribution batch, rendered and zoomed.
fn map_cells(maps: &Tensor) -> Result<Vec<Image>> {
    let heat = Pipeline::pair_grayscale().run_slice(maps.data(), maps.shape())?;
    (0..heat.len())
        .map(|i| Ok(heat.colorize(i, Colormap::Gray)?.upscale(ZOOM)?))
        .collect()
}

/// One row per image: the input, then each column's map.
fn figure(images: &Tensor, columns: &[Tensor], titles: &[&str], path: PathBuf) -> Result<PathBuf> {
    let cells: Vec<Vec<Image>> = columns.iter().map(map_cells).collect::<Result<_>>()?;
    let rows: Vec<Vec<Image>> = (0..images.shape()[0])
        .map(|i| {
            let mut row = vec![input_cell(images, i)?];
            row.extend(cells.iter().map(|c| c[i].clone()));
            Ok(row)
        })
        .collect::<Result<_>>()?;
    let mut all_titles = vec!["Input"];
    all_titles.extend_from_slice(titles);
    let picture = grid(&rows, &all_titles, &GridOptions::default())?;
    smoothgrad_viz::save_png(&path, &picture)?;
    Ok(path)
}

/// Draws the three figures for the first `plan.figure_images` held-out images, explaining their
/// true classes, and returns the files written.
pub fn draw_all(trained: &Trained, plan: &Plan, args: &DemoArgs) -> Result<Vec<PathBuf>> {
    let n = plan.figure_images;
    let images = trained.test.images.select_rows(0..n);
    let targets = &trained.test.labels[..n];
    let model = &trained.model;
    println!("explaining {n} held-out images for the figures");

    let maps = methods::attributions(model, &images, targets, args.seed)?;
    let titles: Vec<&str> = METHODS.iter().map(|m| m.1).collect();
    let mut written = vec![figure(
        &images,
        &maps,
        &titles,
        args.out.join("methods.png"),
    )?];

    let sweep = methods::noise_sweep(model, &images, targets, &NOISE_LEVELS, args.seed)?;
    let labels: Vec<String> = NOISE_LEVELS
        .iter()
        .map(|l| format!("noise {:.0}%", 100.0 * l))
        .collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    written.push(figure(
        &images,
        &sweep,
        &labels,
        args.out.join("noise_sweep.png"),
    )?);

    let sweep = methods::samples_sweep(model, &images, targets, &SAMPLE_COUNTS, args.seed)?;
    let labels: Vec<String> = SAMPLE_COUNTS.iter().map(|c| format!("N = {c}")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    written.push(figure(
        &images,
        &sweep,
        &labels,
        args.out.join("samples_sweep.png"),
    )?);
    Ok(written)
}
