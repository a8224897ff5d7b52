//! `shapes`: seeded synthetic RGB scenes of one object each, with its class and its exact pixel
//! mask, so that an explanation's localization can be scored (see [`crate::metrics`]).
//!
//! Each image is `3 x size x size` in `[0, 1]`: a textured background (two random oriented
//! sinusoidal gratings over a random base colour, plus Gaussian pixel noise) and one filled shape
//! of a random class, size, position and colour, drawn with a colour that differs clearly from the
//! background's. The mask marks the shape's pixels. Everything comes from one ChaCha8 stream per
//! image keyed by `(seed, index)`, so image `i` is the same whatever the dataset's length.

use rand::Rng;
use rand_distr::StandardNormal;
use smoothgrad_autograd::Tensor;

use crate::streams::{stream, Domain};

/// The object classes, in label order.
pub const CLASSES: [&str; 4] = ["circle", "square", "triangle", "cross"];

/// Settings of the generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShapesConfig {
    /// Image side in pixels.
    pub size: usize,
    /// Smallest and largest object radius (half-width) in pixels.
    pub radius: (f64, f64),
    /// Standard deviation of the per-pixel Gaussian noise.
    pub noise: f64,
    /// Amplitude of the background gratings.
    pub texture: f64,
}

impl Default for ShapesConfig {
    /// 32x32 images, objects of radius 5 to 10, noise 0.05, texture 0.15.
    fn default() -> Self {
        ShapesConfig {
            size: 32,
            radius: (5.0, 10.0),
            noise: 0.05,
            texture: 0.15,
        }
    }
}

/// A generated dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Shapes {
    /// Images `[N, 3, size, size]` in `[0, 1]`.
    pub images: Tensor<f32>,
    /// The class of each image, an index into [`CLASSES`].
    pub labels: Vec<usize>,
    /// Object masks, `N * size * size` booleans, row-major per image.
    pub masks: Vec<bool>,
    /// The settings used.
    pub config: ShapesConfig,
}

impl Shapes {
    /// `n` images from `seed` with the default settings.
    pub fn generate(n: usize, seed: u64) -> Self {
        Self::generate_with(n, seed, ShapesConfig::default())
    }

    /// `n` images from `seed` with the given settings: image `i` is keyed by `(seed, i)`.
    pub fn generate_with(n: usize, seed: u64, config: ShapesConfig) -> Self {
        let (images, labels, masks) = super::render(n, config.size, |i| scene(&config, seed, i));
        Shapes {
            images,
            labels,
            masks,
            config,
        }
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The mask of image `i`, `size * size` booleans.
    pub fn mask(&self, i: usize) -> &[bool] {
        let p = self.config.size * self.config.size;
        &self.masks[i * p..(i + 1) * p]
    }

    /// Image `i` as `[1, 3, size, size]`.
    pub fn image(&self, i: usize) -> Tensor<f32> {
        self.images.select_rows([i])
    }
}

/// Whether pixel `(px, py)` (pixel centres) lies in a shape of class `label`, centred at
/// `(cx, cy)` with radius `r`.
pub(super) fn inside(label: usize, px: f64, py: f64, cx: f64, cy: f64, r: f64) -> bool {
    let (dx, dy) = (px - cx, py - cy);
    match label {
        0 => dx * dx + dy * dy <= r * r,
        1 => dx.abs() <= r * 0.85 && dy.abs() <= r * 0.85,
        // An upward triangle: apex at the top, base at the bottom.
        2 => dy <= r * 0.8 && dy >= -r && dx.abs() <= (dy + r) * 0.6,
        _ => {
            let arm = r * 0.3;
            (dx.abs() <= arm && dy.abs() <= r) || (dy.abs() <= arm && dx.abs() <= r)
        }
    }
}

/// The third key word of every scene's stream, `(seed, index, 0x5a, 0)`. Meant as a domain tag,
/// it sits in the sample word of the noise domain, so a scene shares its stream with the noise of
/// sample 90 of input `index` ([`crate::noise::stream`]); kept, since any other key would change
/// every generated image.
const SCENE_TAG: u64 = 0x5a;

/// One scene: pixels (CHW), label, mask.
fn scene(config: &ShapesConfig, seed: u64, index: usize) -> (Vec<f32>, usize, Vec<bool>) {
    let mut rng = stream(seed, index as u64, SCENE_TAG, Domain::Noise);
    let s = config.size;
    let label = rng.gen_range(0..CLASSES.len());
    let r = rng.gen_range(config.radius.0..=config.radius.1);
    let margin = r + 1.0;
    let cx = rng.gen_range(margin..(s as f64 - margin).max(margin + 1e-9));
    let cy = rng.gen_range(margin..(s as f64 - margin).max(margin + 1e-9));
    let base: [f64; 3] = std::array::from_fn(|_| rng.gen_range(0.2..0.8));
    // The object's colour: far from the background's base in RGB (at least 0.5 apart).
    let colour = loop {
        let c: [f64; 3] = std::array::from_fn(|_| rng.gen_range(0.0..1.0));
        let d: f64 = c.iter().zip(&base).map(|(a, b)| (a - b) * (a - b)).sum();
        if d.sqrt() >= 0.5 {
            break c;
        }
    };
    let gratings: [(f64, f64, f64, f64); 2] = std::array::from_fn(|_| {
        let angle: f64 = rng.gen_range(0.0..std::f64::consts::PI);
        let freq: f64 = rng.gen_range(0.15..0.6);
        (
            angle.cos() * freq,
            angle.sin() * freq,
            rng.gen_range(0.0..6.3),
            rng.gen_range(0.5..1.0),
        )
    });
    let mut mask = vec![false; s * s];
    let mut img = vec![0.0f32; 3 * s * s];
    for y in 0..s {
        for x in 0..s {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let on = inside(label, px, py, cx, cy, r);
            mask[y * s + x] = on;
            let texture: f64 = gratings
                .iter()
                .map(|&(fx, fy, phase, w)| w * (fx * px + fy * py + phase).sin())
                .sum::<f64>()
                * config.texture
                / 2.0;
            for c in 0..3 {
                let clean = if on { colour[c] } else { base[c] + texture };
                let noise: f64 = rng.sample::<f64, _>(StandardNormal) * config.noise;
                img[(c * s + y) * s + x] = (clean + noise).clamp(0.0, 1.0) as f32;
            }
        }
    }
    (img, label, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_streams_keep_their_key() {
        use rand_chacha::rand_core::SeedableRng;
        // The bytes of the key scenes have always used: seed 9, image 4, the tag at byte 16.
        let mut key = [0u8; 32];
        (key[0], key[8], key[16]) = (9, 4, 0x5a);
        let mut expected = rand_chacha::ChaCha8Rng::from_seed(key);
        let draw: u64 = stream(9, 4, SCENE_TAG, Domain::Noise).gen();
        assert_eq!(draw, expected.gen::<u64>());
    }

    #[test]
    fn images_are_seeded_and_independent_of_length() {
        let a = Shapes::generate(5, 3);
        let b = Shapes::generate(8, 3);
        assert_eq!(a.images.data(), &b.images.data()[..a.images.numel()]);
        assert_eq!(a.labels, b.labels[..5]);
        assert_ne!(Shapes::generate(5, 4).images, a.images);
        assert_eq!(a.images.shape(), &[5, 3, 32, 32]);
        assert!(a.images.data().iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn masks_cover_a_plausible_area_and_classes_are_balanced() {
        let d = Shapes::generate(400, 0);
        let mut counts = [0usize; 4];
        for i in 0..d.len() {
            counts[d.labels[i]] += 1;
            let area = d.mask(i).iter().filter(|&&m| m).count();
            assert!((15..=450).contains(&area), "image {i}: mask area {area}");
        }
        assert!(counts.iter().all(|&c| c > 70), "{counts:?}");
    }

    #[test]
    fn shape_predicates_on_hand_points() {
        assert!(inside(0, 10.0, 10.0, 10.0, 10.0, 3.0));
        assert!(!inside(0, 13.0, 13.0, 10.0, 10.0, 3.0));
        assert!(inside(1, 12.0, 12.0, 10.0, 10.0, 3.0));
        assert!(inside(3, 10.0, 12.5, 10.0, 10.0, 3.0));
        assert!(!inside(3, 12.5, 12.5, 10.0, 10.0, 3.0));
        // The triangle is wide at the bottom (larger y) and narrow at the top.
        assert!(inside(2, 11.3, 12.0, 10.0, 10.0, 3.0));
        assert!(!inside(2, 11.3, 7.5, 10.0, 10.0, 3.0));
    }
}
