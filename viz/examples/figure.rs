//! Draws a sample figure with every preset and colormap, from a synthetic image and a synthetic
//! "gradient" (noise plus a signal on the object), and saves it.
//!
//! Run: `cargo run -p smoothgrad-viz --example figure -- figure.png` (or a `.ppm` path).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smoothgrad_viz::{grid, masked_image, overlay, Colormap, GridOptions, Image, Pipeline};

const SIZE: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "figure.png".into());
    let mut rng = ChaCha8Rng::seed_from_u64(1);

    // The input: a bluish background with an orange disc.
    let mut input = Image::filled(3, SIZE, SIZE, [0.25, 0.35, 0.6])?;
    let inside = |y: usize, x: usize| {
        let (dy, dx) = (y as f32 - 36.0, x as f32 - 28.0);
        dy * dy + dx * dx < 18.0 * 18.0
    };
    for y in 0..SIZE {
        for x in 0..SIZE {
            if inside(y, x) {
                input.set_pixel(y, x, [0.95, 0.6, 0.2]);
            }
        }
    }

    // The attribution: noisy everywhere, positive on the disc's edge, negative in its middle.
    let mut attribution = vec![0.0f32; 3 * SIZE * SIZE];
    for c in 0..3 {
        for y in 0..SIZE {
            for x in 0..SIZE {
                let (dy, dx) = (y as f32 - 36.0, x as f32 - 28.0);
                let r = (dy * dy + dx * dx).sqrt();
                let edge = (-(r - 18.0).powi(2) / 8.0).exp();
                let middle = -0.6 * (-(r * r) / 60.0).exp();
                let noise: f32 = rng.gen_range(-0.35..0.35);
                attribution[(c * SIZE + y) * SIZE + x] = edge + middle + noise;
            }
        }
    }
    let shape = [3, SIZE, SIZE];

    let gray = Pipeline::pair_grayscale().run_slice(&attribution, &shape)?;
    let max = Pipeline::max_channel().run_slice(&attribution, &shape)?;
    let captum = Pipeline::captum_heat_map().run_slice(&attribution, &shape)?;
    let signed = Pipeline::diverging().run_slice(&attribution, &shape)?;
    let pair_div = Pipeline::pair_diverging().run_slice(&attribution, &shape)?;

    let jet = gray.colorize(0, Colormap::Jet)?;
    let presets = vec![
        input.clone(),
        gray.colorize(0, Colormap::Gray)?,
        max.colorize(0, Colormap::Gray)?,
        captum.colorize(0, Colormap::Gray)?,
        signed.colorize(0, Colormap::Bwr)?,
        pair_div.colorize(0, Colormap::Bwr)?,
    ];
    let pictures = vec![
        gray.colorize(0, Colormap::Viridis)?,
        gray.colorize(0, Colormap::Inferno)?,
        jet.clone(),
        overlay(&input, &jet, 0.5)?,
        masked_image(&input, gray.map(0).unwrap_or_default())?,
    ];
    let options = GridOptions::default();
    let top = grid(
        &[upscaled(presets)?],
        &[
            "Input",
            "PAIR gray",
            "Max chan",
            "Captum",
            "Signed",
            "PAIR div",
        ],
        &options,
    )?;
    let bottom = grid(
        &[upscaled(pictures)?],
        &["Viridis", "Inferno", "Jet", "Overlay", "Masked"],
        &options,
    )?;
    // A grid of grids stacks the two figures, each with its own titles.
    let figure = grid(
        &[vec![top], vec![bottom]],
        &[],
        &GridOptions {
            padding: 0,
            ..options
        },
    )?;
    smoothgrad_viz::save(&path, &figure)?;
    println!("wrote {path} ({}x{})", figure.width(), figure.height());
    Ok(())
}

/// Each image at twice its size, so that 64x64 pixels stay readable.
fn upscaled(images: Vec<Image>) -> smoothgrad_viz::Result<Vec<Image>> {
    images.iter().map(|image| image.upscale(2)).collect()
}
