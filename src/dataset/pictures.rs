//! Each input's picture in the output folder: its heat map, the map over the input, or both
//! side by side (`--pictures`). Every map is rendered alone, so a picture never depends on the
//! other inputs of its chunk.

use smoothgrad_viz::Image;

use crate::cli::Pictures;
use crate::error::Result;
use crate::rendering::Renderer;

/// The picture of one attribution `[C, H, W]` over its input `[C, H, W]` (`C` 1 or 3 for the
/// overlay; an input outside `[0, 1]`, e.g. normalized, is min-max scaled to it first).
///
/// # Errors
/// A non-finite attribution, or the renderer's errors.
pub fn picture(
    renderer: &Renderer,
    kind: Pictures,
    attribution: &[f32],
    input: &[f32],
    [c, h, w]: [usize; 3],
) -> Result<Image> {
    let heat = renderer.maps(attribution, [1, c, h, w])?;
    let map = renderer
        .pictures(&heat)?
        .pop()
        .expect("one map, one picture");
    if kind == Pictures::Map {
        return Ok(map);
    }
    let under = Image::new(c, h, w, unit_range(input))?.to_rgb();
    let over = smoothgrad_viz::overlay(&under, &map.to_rgb(), renderer.alpha)?;
    if kind == Pictures::Overlay {
        return Ok(over);
    }
    Ok(side_by_side(&map.to_rgb(), &over))
}

/// `x` itself if it lies in `[0, 1]`, else min-max scaled to it (a constant becomes 0).
fn unit_range(x: &[f32]) -> Vec<f32> {
    let (lo, hi) = x
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if lo >= 0.0 && hi <= 1.0 {
        return x.to_vec();
    }
    let span = hi - lo;
    x.iter()
        .map(|&v| if span > 0.0 { (v - lo) / span } else { 0.0 })
        .collect()
}

/// Two RGB images of one height, `a` left of `b`.
fn side_by_side(a: &Image, b: &Image) -> Image {
    let (h, wa, wb) = (a.height(), a.width(), b.width());
    let mut data = Vec::with_capacity(3 * h * (wa + wb));
    for c in 0..3 {
        for y in 0..h {
            data.extend_from_slice(&a.data()[(c * h + y) * wa..(c * h + y + 1) * wa]);
            data.extend_from_slice(&b.data()[(c * h + y) * wb..(c * h + y + 1) * wb]);
        }
    }
    Image::new(3, h, wa + wb, data).expect("two RGB images of one height")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_outside_the_unit_range_are_scaled_and_pictures_join() {
        assert_eq!(unit_range(&[0.0, 0.5, 1.0]), [0.0, 0.5, 1.0]);
        assert_eq!(unit_range(&[-1.0, 0.0, 3.0]), [0.0, 0.25, 1.0]);
        assert_eq!(unit_range(&[2.0, 2.0]), [0.0, 0.0]);
        let a = Image::filled(3, 2, 1, [1.0, 0.0, 0.0]).unwrap();
        let b = Image::filled(3, 2, 2, [0.0, 0.0, 1.0]).unwrap();
        let j = side_by_side(&a, &b);
        assert_eq!((j.height(), j.width()), (2, 3));
        assert_eq!(j.pixel(1, 0), [1.0, 0.0, 0.0]);
        assert_eq!(j.pixel(1, 2), [0.0, 0.0, 1.0]);
    }
}
