//! `scenes`: seeded synthetic RGB scenes of several objects, one of which carries the class, with
//! that object's exact pixel mask, for scoring how well an explanation localizes it.
//!
//! Each image is `3 x size x size` in `[0, 1]` (64x64 by default). The background is a random base
//! colour with two random oriented sinusoidal gratings and soft random blobs, plus Gaussian pixel
//! noise; it is drawn independently of the class, so its texture carries no class signal. On it
//! lie one *target* object, a filled shape of one of the [`CLASSES`], and
//! [`ScenesConfig::distractors`] distractor objects of kinds that are no class ([`DISTRACTORS`]:
//! rings and bars). Every object gets its own random size, position and colour (far from the
//! background's base colour), and objects never overlap, so colour and position say nothing about
//! which object is the target: only its shape does. The mask marks the target's pixels.
//!
//! Everything comes from one ChaCha8 stream per image keyed by `(seed, index)` (and a key word of
//! its own, so no other stream of the crate shares its draws): image `i` is the same whatever the
//! dataset's length.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use smoothgrad_autograd::Tensor;

use super::shapes::CLASSES;

/// The kinds of distractor objects (never a class).
pub const DISTRACTORS: [&str; 2] = ["ring", "bar"];

/// The last key word of every scene's stream: ASCII "scenes", no [`crate`] stream domain.
const SCENES_KEY: u64 = 0x7363_656e_6573;

/// Settings of the generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScenesConfig {
    /// Image side in pixels.
    pub size: usize,
    /// Smallest and largest radius (half-width) of the target object, in pixels.
    pub radius: (f64, f64),
    /// Smallest and largest radius of the distractors, in pixels.
    pub distractor_radius: (f64, f64),
    /// Distractor objects per scene.
    pub distractors: usize,
    /// Standard deviation of the per-pixel Gaussian noise.
    pub noise: f64,
    /// Amplitude of the background texture (gratings and blobs).
    pub texture: f64,
}

impl Default for ScenesConfig {
    /// 64x64 images, a target of radius 9 to 14, two distractors of radius 4 to 8, noise 0.05,
    /// texture 0.3.
    fn default() -> Self {
        ScenesConfig {
            size: 64,
            radius: (9.0, 14.0),
            distractor_radius: (4.0, 8.0),
            distractors: 2,
            noise: 0.05,
            texture: 0.3,
        }
    }
}

/// A generated dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenes {
    /// Images `[N, 3, size, size]` in `[0, 1]`.
    pub images: Tensor<f32>,
    /// The class of each image's target object, an index into [`CLASSES`].
    pub labels: Vec<usize>,
    /// Target-object masks, `N * size * size` booleans, row-major per image.
    pub masks: Vec<bool>,
    /// The settings used.
    pub config: ScenesConfig,
}

impl Scenes {
    /// `n` images from `seed` with the default settings.
    pub fn generate(n: usize, seed: u64) -> Self {
        Self::generate_with(n, seed, ScenesConfig::default())
    }

    /// `n` images from `seed` with the given settings: image `i` is keyed by `(seed, i)`.
    ///
    /// # Panics
    /// If the objects cannot fit: `size` must exceed `2 * (radius.1 + distractor_radius.1) + 4`
    /// (with distractors) or `2 * radius.1 + 2` (without), and both radius ranges must satisfy
    /// `0 < min <= max`.
    pub fn generate_with(n: usize, seed: u64, config: ScenesConfig) -> Self {
        let (r1, d1) = (config.radius.1, config.distractor_radius.1);
        for (lo, hi) in [config.radius, config.distractor_radius] {
            assert!(
                lo > 0.0 && lo <= hi,
                "scenes: radii must satisfy 0 < min <= max, found {lo}, {hi}"
            );
        }
        let need = if config.distractors > 0 {
            2.0 * (r1 + d1) + 4.0
        } else {
            2.0 * r1 + 2.0
        };
        assert!(
            config.size as f64 > need,
            "scenes: {}-pixel images cannot hold objects of radius {r1} (need more than {need})",
            config.size
        );
        let (images, labels, masks) = super::render(n, config.size, |i| scene(&config, seed, i));
        Scenes {
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

    /// The target mask of image `i`, `size * size` booleans.
    pub fn mask(&self, i: usize) -> &[bool] {
        let p = self.config.size * self.config.size;
        &self.masks[i * p..(i + 1) * p]
    }

    /// Image `i` as `[1, 3, size, size]`.
    pub fn image(&self, i: usize) -> Tensor<f32> {
        self.images.select_rows([i])
    }
}

/// An object kind: a class (`0..4`, as [`CLASSES`]) or a distractor (`4..6`, as
/// [`DISTRACTORS`]).
#[derive(Clone, Copy, Debug)]
struct Object {
    kind: usize,
    cx: f64,
    cy: f64,
    r: f64,
    /// The bar's direction (unused by the other kinds).
    angle: f64,
    colour: [f64; 3],
}

/// Whether pixel centre `(px, py)` lies in `o`: the classes are drawn as in
/// [`super::shapes`], the distractors here.
fn inside(o: &Object, px: f64, py: f64) -> bool {
    let (dx, dy, r) = (px - o.cx, py - o.cy, o.r);
    match o.kind {
        k if k < CLASSES.len() => super::shapes::inside(k, px, py, o.cx, o.cy, r),
        // A ring: an annulus of width 0.35 r.
        4 => {
            let d2 = dx * dx + dy * dy;
            d2 <= r * r && d2 >= (0.65 * r) * (0.65 * r)
        }
        // A bar: a rotated rectangle 2r long and 0.5 r wide.
        _ => {
            let (c, s) = (o.angle.cos(), o.angle.sin());
            let (along, across) = (dx * c + dy * s, -dx * s + dy * c);
            along.abs() <= r && across.abs() <= 0.25 * r
        }
    }
}

/// A colour at least 0.5 from `base` in RGB.
fn far_colour(rng: &mut ChaCha8Rng, base: &[f64; 3]) -> [f64; 3] {
    loop {
        let c: [f64; 3] = std::array::from_fn(|_| rng.gen_range(0.0..1.0));
        let d: f64 = c.iter().zip(base).map(|(a, b)| (a - b) * (a - b)).sum();
        if d.sqrt() >= 0.5 {
            return c;
        }
    }
}

/// Places an object of `kind` where it overlaps none of `placed` (2 px apart at least); after
/// many failed tries, anywhere (the generator's size check makes that vanishingly rare).
fn place(
    rng: &mut ChaCha8Rng,
    config: &ScenesConfig,
    kind: usize,
    base: &[f64; 3],
    placed: &[Object],
) -> Object {
    let s = config.size as f64;
    let (lo, hi) = if kind < CLASSES.len() {
        config.radius
    } else {
        config.distractor_radius
    };
    let mut object = None;
    for _ in 0..200 {
        let r = rng.gen_range(lo..=hi);
        let margin = r + 1.0;
        let o = Object {
            kind,
            cx: rng.gen_range(margin..(s - margin).max(margin + 1e-9)),
            cy: rng.gen_range(margin..(s - margin).max(margin + 1e-9)),
            r,
            angle: rng.gen_range(0.0..std::f64::consts::PI),
            colour: [0.0; 3],
        };
        let free = placed
            .iter()
            .all(|p| (p.cx - o.cx).hypot(p.cy - o.cy) >= p.r + o.r + 2.0);
        object = Some(o);
        if free {
            break;
        }
    }
    let mut o = object.expect("at least one try");
    o.colour = far_colour(rng, base);
    o
}

/// One scene: pixels (CHW), label, target mask.
fn scene(config: &ScenesConfig, seed: u64, index: usize) -> (Vec<f32>, usize, Vec<bool>) {
    let mut key = [0u8; 32];
    for (slot, word) in key.chunks_mut(8).zip([seed, index as u64, 0, SCENES_KEY]) {
        slot.copy_from_slice(&word.to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(key);
    let s = config.size;
    let label = rng.gen_range(0..CLASSES.len());
    let base: [f64; 3] = std::array::from_fn(|_| rng.gen_range(0.2..0.8));
    let gratings: [(f64, f64, f64, f64); 2] = std::array::from_fn(|_| {
        let angle: f64 = rng.gen_range(0.0..std::f64::consts::PI);
        let freq: f64 = rng.gen_range(0.1..0.5);
        let phase = rng.gen_range(0.0..std::f64::consts::TAU);
        (
            angle.cos() * freq,
            angle.sin() * freq,
            phase,
            rng.gen_range(0.5..1.0),
        )
    });
    // Soft blobs: (x, y, radius, signed strength per channel).
    let blobs: Vec<(f64, f64, f64, [f64; 3])> = (0..4)
        .map(|_| {
            let (x, y) = (rng.gen_range(0.0..s as f64), rng.gen_range(0.0..s as f64));
            let r = rng.gen_range(4.0..14.0);
            (x, y, r, std::array::from_fn(|_| rng.gen_range(-1.0..1.0)))
        })
        .collect();
    let mut objects = vec![place(&mut rng, config, label, &base, &[])];
    for _ in 0..config.distractors {
        let kind = CLASSES.len() + rng.gen_range(0..DISTRACTORS.len());
        let o = place(&mut rng, config, kind, &base, &objects);
        objects.push(o);
    }
    let mut mask = vec![false; s * s];
    let mut img = vec![0.0f32; 3 * s * s];
    for y in 0..s {
        for x in 0..s {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let hit = objects.iter().position(|o| inside(o, px, py));
            mask[y * s + x] = hit == Some(0);
            let grating: f64 = gratings
                .iter()
                .map(|&(fx, fy, phase, w)| w * (fx * px + fy * py + phase).sin())
                .sum::<f64>()
                / 2.0;
            for c in 0..3 {
                let clean = match hit {
                    Some(k) => objects[k].colour[c],
                    None => {
                        let blob: f64 = blobs
                            .iter()
                            .map(|&(bx, by, br, w)| {
                                let d2 = (px - bx).powi(2) + (py - by).powi(2);
                                w[c] * (-d2 / (2.0 * br * br)).exp()
                            })
                            .sum();
                        base[c] + config.texture * (grating + blob) / 2.0
                    }
                };
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
    fn images_are_seeded_and_independent_of_length() {
        let a = Scenes::generate(3, 3);
        let b = Scenes::generate(5, 3);
        assert_eq!(a.images.data(), &b.images.data()[..a.images.numel()]);
        assert_eq!(a.labels, b.labels[..3]);
        assert_ne!(Scenes::generate(3, 4).images, a.images);
        assert_eq!(a.images.shape(), &[3, 3, 64, 64]);
        assert!(a.images.data().iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn masks_hold_one_object_and_classes_are_balanced() {
        let d = Scenes::generate(200, 0);
        let mut counts = [0usize; 4];
        for i in 0..d.len() {
            counts[d.labels[i]] += 1;
            let area = d.mask(i).iter().filter(|&&m| m).count();
            // A cross of radius 9 covers about 2 * (0.6 * 9) * 18 - (0.6 * 9)^2 = 165 pixels; a
            // square of radius 14 at most (1.7 * 14 + 1)^2 = 615 pixel centres.
            assert!((120..=615).contains(&area), "image {i}: mask area {area}");
        }
        assert!(counts.iter().all(|&c| c > 35), "{counts:?}");
    }

    #[test]
    fn objects_do_not_overlap_the_target() {
        // Every pixel of the target has the target's colour up to the pixel noise: no distractor
        // was drawn over it. With noise 0, the masked pixels are exactly one colour.
        let config = ScenesConfig {
            noise: 0.0,
            ..ScenesConfig::default()
        };
        let d = Scenes::generate_with(20, 1, config);
        let p = 64 * 64;
        for i in 0..d.len() {
            let img = &d.images.data()[i * 3 * p..(i + 1) * 3 * p];
            let on: Vec<usize> = (0..p).filter(|&k| d.mask(i)[k]).collect();
            for c in 0..3 {
                let first = img[c * p + on[0]];
                assert!(on.iter().all(|&k| img[c * p + k] == first), "image {i}");
            }
        }
    }

    #[test]
    fn distractor_predicates_on_hand_points() {
        let ring = Object {
            kind: 4,
            cx: 10.0,
            cy: 10.0,
            r: 4.0,
            angle: 0.0,
            colour: [0.0; 3],
        };
        assert!(inside(&ring, 13.5, 10.0));
        assert!(!inside(&ring, 10.0, 10.0), "a ring is hollow");
        let bar = Object { kind: 5, ..ring };
        assert!(inside(&bar, 13.5, 10.0) && !inside(&bar, 10.0, 12.0));
        let upright = Object {
            angle: std::f64::consts::FRAC_PI_2,
            ..bar
        };
        assert!(inside(&upright, 10.0, 13.5) && !inside(&upright, 13.5, 10.0));
    }
}
