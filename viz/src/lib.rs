//! Attribution post-processing, colormaps, overlays and image files for SmoothGrad.
//!
//! This crate knows nothing about models or tensors: attribution maps come in as a plain
//! `&[f32]` with a shape ([`MapView`]) and leave as pixels ([`Heatmaps`], [`Image`], PNG/PPM
//! files).
//!
//! # The pipeline
//!
//! [`Pipeline`] runs four steps, always in this order:
//!
//! 1. **sign** ([`Sign`]): abs, positive, negative or signed;
//! 2. **channel reduction** ([`Reduction`]): sum, mean, max, max-abs or L2 over the channels;
//! 3. **capping** ([`Capping`]): NumPy percentile (one- or two-sided, or symmetric), or Captum's
//!    cumulative-mass `outlier_perc`;
//! 4. **normalization** ([`Normalization`]): min-max to `[0, 1]`, symmetric to `[-1, 1]`, or
//!    PAIR's diverging formula.
//!
//! The presets reproduce published conventions exactly: [`Pipeline::pair_grayscale`] (PAIR
//! saliency's `VisualizeImageGrayscale`), [`Pipeline::pair_diverging`] (`VisualizeImageDiverging`),
//! [`Pipeline::max_channel`] (the seeds' tutorial: abs, max over channels, min-max) and
//! [`Pipeline::captum_heat_map`] (Captum's `visualize_image_attr` heat map normalization).
//!
//! # Pictures
//!
//! [`Colormap`] holds matplotlib's exact lookup tables (gray, viridis, inferno, jet, bwr);
//! [`colorize()`] turns a heat map into an RGB [`Image`]; [`overlay()`] blends it over the input;
//! [`masked_image`] scales the input by the map; [`grid()`] lays figures out with titles drawn in a
//! built-in 5x7 bitmap font ([`font`]). [`io`] writes PNG and PPM/PGM, and (feature `decode`)
//! reads JPEG, PNG, WebP, BMP and PPM/PGM as torchvision's PIL loader does.
//!
//! # Example
//!
//! ```
//! use smoothgrad_viz::{grid, overlay, Colormap, GridOptions, Image, Pipeline};
//!
//! // One 3-channel 2x2 attribution map (CHW) and the 2x2 RGB input it explains.
//! let attribution = [0.1, -0.4, 0.0, 0.2, 0.3, 0.1, 0.0, -0.2, -0.1, 0.2, 0.0, 0.4];
//! let input = Image::filled(3, 2, 2, [0.5, 0.5, 0.5])?;
//!
//! let heat = Pipeline::pair_grayscale().run_slice(&attribution, &[3, 2, 2])?;
//! assert_eq!(heat.shape(), [1, 2, 2]);
//! assert_eq!(heat.map(0).unwrap()[2], 0.0); // the pixel with no attribution
//!
//! let colored = heat.colorize(0, Colormap::Inferno)?;
//! let blended = overlay(&input, &colored, 0.5)?;
//! let figure = grid(&[vec![input, colored, blended]], &["input", "map", "overlay"],
//!                   &GridOptions::default())?;
//! let png_or_ppm = smoothgrad_viz::io::ppm::encode_ppm(&figure);
//! assert!(png_or_ppm.starts_with(b"P6"));
//! # Ok::<(), smoothgrad_viz::VizError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod capping;
pub mod colormap;
mod colormap_data;
pub mod error;
pub mod font;
pub mod grid;
pub mod image;
pub mod io;
pub mod map;
pub mod normalize;
pub mod overlay;
pub mod percentile;
pub mod pipeline;
pub mod reduce;
pub mod sign;

pub use capping::Capping;
pub use colormap::{colorize, Colormap};
pub use error::{Result, VizError};
pub use grid::{grid, GridOptions};
pub use image::{to_u8, Image};
#[cfg(feature = "png")]
pub use io::png::{encode_png, save_png};
pub use io::ppm::{encode_ppm, save_ppm};
pub use io::save;
#[cfg(feature = "decode")]
pub use io::{decode, decode_pixels, load, load_pixels, ColorMode, DecodeOptions, Pixels};
pub use map::{Heatmaps, MapView};
pub use normalize::Normalization;
pub use overlay::{masked_image, overlay};
pub use percentile::{cumulative_sum_threshold, percentile, percentile_in_place};
pub use pipeline::{Pipeline, Scope};
pub use reduce::{reduce_channels, Reduction};
pub use sign::{Sign, SignPlacement};
