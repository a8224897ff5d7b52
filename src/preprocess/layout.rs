//! Attributions for pictures: whatever the layout (`--layout`) and the number of targets per
//! input, one `[C, H, W]` map per picture.

use crate::cli::Layout;

/// Attributions `[N, C, H, W]`, `[N, H, W, C]` (NHWC), or `[N, T, ...]` for `T` targets per
/// input (`targets_per_input > 1`), as `N * T` maps `[C, H, W]` in input-major order, or `None`
/// for another rank.
pub fn nchw_maps(
    values: &[f32],
    shape: &[usize],
    layout: Layout,
    targets_per_input: usize,
) -> Option<(Vec<f32>, [usize; 4])> {
    let image: [usize; 3] = match (targets_per_input > 1, shape) {
        (false, [_, a, b, c]) | (true, [_, _, a, b, c]) => [*a, *b, *c],
        _ => return None,
    };
    let maps = values.len() / image.iter().product::<usize>().max(1);
    match layout {
        Layout::Nchw => Some((values.to_vec(), [maps, image[0], image[1], image[2]])),
        Layout::Nhwc => {
            let [h, w, c] = image;
            let plane = h * w;
            let data = values
                .chunks(plane * c)
                .flat_map(|m| (0..c).flat_map(move |ch| (0..plane).map(move |i| m[i * c + ch])))
                .collect();
            Some((data, [maps, c, h, w]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhwc_is_transposed_and_targets_become_maps() {
        // One 1x2 picture with 3 channels, HWC.
        let hwc = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (chw, shape) = nchw_maps(&hwc, &[1, 1, 2, 3], Layout::Nhwc, 1).unwrap();
        assert_eq!(shape, [1, 3, 1, 2]);
        assert_eq!(chw, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let two = [0.0; 2 * 2 * 3 * 4];
        let (_, shape) = nchw_maps(&two, &[2, 2, 3, 2, 2], Layout::Nchw, 2).unwrap();
        assert_eq!(shape, [4, 3, 2, 2]);
        assert!(nchw_maps(&two, &[2, 24], Layout::Nchw, 1).is_none());
    }
}
