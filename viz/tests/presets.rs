//! The presets against plain, independent implementations of the published formulas on random
//! maps. The references work in PAIR's HWC layout, sort fully, and loop the obvious way.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smoothgrad_viz::{Pipeline, Scope, Sign};

/// A random `[N, C, H, W]` map with heavy tails (a few large values, as gradients have).
fn random_map(rng: &mut ChaCha8Rng, shape: [usize; 4]) -> Vec<f32> {
    let len = shape.iter().product();
    (0..len)
        .map(|_| {
            let v: f32 = rng.gen_range(-1.0..1.0);
            if rng.gen_bool(0.03) {
                v * 20.0
            } else {
                v
            }
        })
        .collect()
}

/// Image `n` of a CHW batch in HWC layout, as `f64`: `hwc[y][x][c]`.
fn to_hwc(data: &[f32], shape: [usize; 4], n: usize) -> Vec<Vec<Vec<f64>>> {
    let [_, c, h, w] = shape;
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| {
                    (0..c)
                        .map(|k| f64::from(data[((n * c + k) * h + y) * w + x]))
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// `np.percentile(values, q)` by full sort and the textbook interpolation.
fn np_percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = q / 100.0 * (v.len() - 1) as f64;
    let i = p.floor() as usize;
    let j = (i + 1).min(v.len() - 1);
    v[i] + (p - i as f64) * (v[j] - v[i])
}

/// PAIR's `VisualizeImageGrayscale(image_3d, percentile=99)` on an HWC image.
fn pair_grayscale(hwc: &[Vec<Vec<f64>>]) -> Vec<f64> {
    let image_2d: Vec<f64> = hwc
        .iter()
        .flatten()
        .map(|px| px.iter().map(|v| v.abs()).sum())
        .collect();
    let vmax = np_percentile(&image_2d, 99.0);
    let vmin = image_2d.iter().cloned().fold(f64::INFINITY, f64::min);
    image_2d
        .iter()
        .map(|x| ((x - vmin) / (vmax - vmin)).clamp(0.0, 1.0))
        .collect()
}

/// PAIR's `VisualizeImageDiverging(image_3d, percentile=99)` on an HWC image.
fn pair_diverging(hwc: &[Vec<Vec<f64>>]) -> Vec<f64> {
    let image_2d: Vec<f64> = hwc.iter().flatten().map(|px| px.iter().sum()).collect();
    let span = np_percentile(&image_2d, 99.0).abs();
    let (vmin, vmax) = (-span, span);
    image_2d
        .iter()
        .map(|x| ((x - vmin) / (vmax - vmin)).clamp(-1.0, 1.0))
        .collect()
}

/// The tutorial recipe: abs, max over channels, min-max.
fn max_channel(hwc: &[Vec<Vec<f64>>]) -> Vec<f64> {
    let m: Vec<f64> = hwc
        .iter()
        .flatten()
        .map(|px| px.iter().map(|v| v.abs()).fold(0.0, f64::max))
        .collect();
    let lo = m.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = m.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m.iter().map(|x| (x - lo) / (hi - lo)).collect()
}

/// Captum's `_cumulative_sum_threshold`.
fn cumulative_sum_threshold(values: &[f64], percentile: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut cum = Vec::new();
    let mut total = 0.0;
    for v in &sorted {
        total += v;
        cum.push(total);
    }
    let target = cum[cum.len() - 1] * 0.01 * percentile;
    sorted[cum.iter().position(|&c| c >= target).unwrap()]
}

/// Captum's `_normalize_attr(attr, sign, outlier_perc=2, reduction_axis=2)`.
fn captum(hwc: &[Vec<Vec<f64>>], sign: &str) -> Vec<f64> {
    let combined: Vec<f64> = hwc.iter().flatten().map(|px| px.iter().sum()).collect();
    let abs: Vec<f64> = combined.iter().map(|v| v.abs()).collect();
    let (attr, threshold) = match sign {
        "all" => (combined.clone(), cumulative_sum_threshold(&abs, 98.0)),
        "positive" => {
            let a: Vec<f64> = combined
                .iter()
                .map(|&v| if v > 0.0 { v } else { 0.0 })
                .collect();
            let t = cumulative_sum_threshold(&a, 98.0);
            (a, t)
        }
        "negative" => {
            let a: Vec<f64> = combined
                .iter()
                .map(|&v| if v < 0.0 { v } else { 0.0 })
                .collect();
            let mags: Vec<f64> = a.iter().map(|v| v.abs()).collect();
            (a, -cumulative_sum_threshold(&mags, 98.0))
        }
        "absolute_value" => {
            let t = cumulative_sum_threshold(&abs, 98.0);
            (abs, t)
        }
        _ => unreachable!(),
    };
    attr.iter()
        .map(|v| (v / threshold).clamp(-1.0, 1.0))
        .collect()
}

const SHAPES: [[usize; 4]; 5] = [
    [1, 3, 8, 8],
    [2, 3, 11, 7],
    [3, 1, 5, 13],
    [1, 3, 32, 32],
    [2, 4, 9, 9],
];

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= 1e-6,
            "{what}: value {i}: got {g}, want {w}"
        );
    }
}

/// Runs `pipeline` on random maps of every test shape and compares each image with `reference`.
fn check(pipeline: Pipeline, reference: impl Fn(&[Vec<Vec<f64>>]) -> Vec<f64>, what: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for shape in SHAPES {
        for _ in 0..4 {
            let data = random_map(&mut rng, shape);
            let out = pipeline.run_slice(&data, &shape).unwrap();
            assert_eq!(out.shape(), [shape[0], shape[2], shape[3]]);
            for n in 0..shape[0] {
                let want = reference(&to_hwc(&data, shape, n));
                assert_close(
                    out.map(n).unwrap(),
                    &want,
                    &format!("{what} {shape:?} #{n}"),
                );
            }
        }
    }
}

#[test]
fn pair_grayscale_equals_pairs_formula() {
    check(Pipeline::pair_grayscale(), pair_grayscale, "pair_grayscale");
}

#[test]
fn pair_diverging_equals_pairs_formula() {
    check(Pipeline::pair_diverging(), pair_diverging, "pair_diverging");
}

#[test]
fn max_channel_equals_the_tutorial_recipe() {
    check(Pipeline::max_channel(), max_channel, "max_channel");
}

#[test]
fn captum_presets_equal_captums_normalize_attr() {
    check(
        Pipeline::captum_heat_map(),
        |m| captum(m, "absolute_value"),
        "captum_heat_map",
    );
    for (sign, name) in [
        (Sign::Signed, "all"),
        (Sign::Positive, "positive"),
        (Sign::Negative, "negative"),
        (Sign::Abs, "absolute_value"),
    ] {
        check(Pipeline::captum(sign, 2.0), |m| captum(m, name), name);
    }
}

#[test]
fn per_batch_scope_uses_one_set_of_statistics() {
    // Per batch, max_channel is the tutorial recipe applied to all images laid side by side.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let shape = [3, 3, 6, 5];
    let data = random_map(&mut rng, shape);
    let out = Pipeline::max_channel()
        .with_scope(Scope::PerBatch)
        .run_slice(&data, &shape)
        .unwrap();
    let all: Vec<Vec<Vec<f64>>> = (0..shape[0])
        .flat_map(|n| to_hwc(&data, shape, n))
        .collect();
    assert_close(out.data(), &max_channel(&all), "max_channel per batch");
    // Exactly one image reaches 1.
    let reaching_one = (0..3)
        .filter(|&n| out.map(n).unwrap().contains(&1.0))
        .count();
    assert_eq!(reaching_one, 1);
}
