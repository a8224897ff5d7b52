//! The pipeline's input, [`MapView`] (attribution maps as a borrowed slice with a shape), and its
//! output, [`Heatmaps`] (one 2-D map per image, as a plain `Vec<f32>` of shape `[N, H, W]`).

use crate::colormap::{colorize, Colormap};
use crate::error::{check_len, Result, VizError};
use crate::image::Image;

/// A borrowed batch of attribution maps: `data` in row-major (C-order) layout with shape
/// `[N, C, H, W]`.
///
/// Shapes `[H, W]` (one single-channel map) and `[C, H, W]` (one map) are accepted too and read as
/// `[1, 1, H, W]` and `[1, C, H, W]`. Layout is CHW, like the model inputs: the element of image `n`,
/// channel `c`, row `y`, column `x` is `data[((n * C + c) * H + y) * W + x]`.
#[derive(Debug, Clone, Copy)]
pub struct MapView<'a> {
    data: &'a [f32],
    shape: [usize; 4],
}

impl<'a> MapView<'a> {
    /// Checks that `shape` has rank 2, 3 or 4, no zero dimension, and exactly `data.len()`
    /// elements.
    pub fn new(data: &'a [f32], shape: &[usize]) -> Result<Self> {
        let full = match *shape {
            [h, w] => [1, 1, h, w],
            [c, h, w] => [1, c, h, w],
            [n, c, h, w] => [n, c, h, w],
            _ => {
                return Err(VizError::InvalidShape {
                    expected: "a shape [H, W], [C, H, W] or [N, C, H, W]",
                    found: shape.to_vec(),
                })
            }
        };
        if full.contains(&0) {
            return Err(VizError::InvalidShape {
                expected: "a shape with no zero dimension",
                found: shape.to_vec(),
            });
        }
        check_len(shape, data.len())?;
        Ok(MapView { data, shape: full })
    }

    /// The data, `N * C * H * W` values in CHW order.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// The shape as `[N, C, H, W]` (a 2-D or 3-D input shape is padded with leading ones).
    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }

    /// The number of maps, `N`.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Always `false`: a view has at least one map ([`MapView::new`] rejects zero dimensions).
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// Map `n` as `C * H * W` values in CHW order, or `None` if `n >= N`.
    pub fn image(&self, n: usize) -> Option<&'a [f32]> {
        let [_, c, h, w] = self.shape;
        let size = c * h * w;
        self.data.get(n * size..(n + 1) * size)
    }
}

/// The pipeline's output: `N` two-dimensional heat maps, each `H * W` values in row-major order.
///
/// `range` is the interval the values are meant to be read in: `(0, 1)` after min-max
/// normalization, `(-1, 1)` after symmetric normalization of a signed map. Colormaps map `range.0`
/// to their first colour and `range.1` to their last (see [`crate::colorize`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmaps {
    data: Vec<f32>,
    shape: [usize; 3],
    range: (f32, f32),
}

impl Heatmaps {
    /// Wraps `data` of shape `[N, H, W]` whose values are read in `range` (low, high).
    pub fn new(data: Vec<f32>, shape: [usize; 3], range: (f32, f32)) -> Result<Self> {
        check_len(&shape, data.len())?;
        Ok(Heatmaps { data, shape, range })
    }

    /// All values, `N * H * W` of them, map after map.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The values as a plain vector of shape `[N, H, W]`.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The shape `[N, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// The interval `(low, high)` the values are meant to be displayed in.
    pub fn range(&self) -> (f32, f32) {
        self.range
    }

    /// The number of maps, `N`.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// `true` if there are no maps.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// Map `n` as `H * W` values in row-major order, or `None` if `n >= N`.
    pub fn map(&self, n: usize) -> Option<&[f32]> {
        let size = self.shape[1] * self.shape[2];
        self.data.get(n * size..(n + 1) * size)
    }

    /// Map `n` coloured with `colormap`, reading the values in [`Heatmaps::range`]
    /// (see [`crate::colorize`]). Errors if `n >= N`.
    pub fn colorize(&self, n: usize, colormap: Colormap) -> Result<Image> {
        let map = self.map(n).ok_or_else(|| VizError::InvalidParameter {
            name: "n",
            expected: "the index of a map",
            found: format!("{n} for {} maps", self.len()),
        })?;
        colorize(map, self.shape[1], self.shape[2], self.range, colormap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_rank_two_three_and_four_are_padded_to_nchw() {
        let data = [0.0f32; 12];
        assert_eq!(MapView::new(&data, &[3, 4]).unwrap().shape(), [1, 1, 3, 4]);
        assert_eq!(
            MapView::new(&data, &[3, 2, 2]).unwrap().shape(),
            [1, 3, 2, 2]
        );
        assert_eq!(
            MapView::new(&data, &[2, 3, 2, 1]).unwrap().shape(),
            [2, 3, 2, 1]
        );
    }

    #[test]
    fn bad_shapes_are_errors_with_clear_messages() {
        let data = [0.0f32; 5];
        let e = MapView::new(&data, &[2, 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape [2, 3] has 6 elements but the data has 5"
        );
        let e = MapView::new(&data, &[5]).unwrap_err();
        assert!(
            e.to_string().contains("[H, W], [C, H, W] or [N, C, H, W]"),
            "{e}"
        );
        assert!(MapView::new(&data, &[1, 1, 1, 1, 5]).is_err());
        assert!(MapView::new(&[], &[0, 5]).is_err());
        let e = MapView::new(&data, &[usize::MAX, 3]).unwrap_err();
        assert!(e.to_string().contains("more elements than fit"), "{e}");
    }

    #[test]
    fn image_slices_follow_the_nchw_layout() {
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let view = MapView::new(&data, &[3, 2, 2, 1]).unwrap();
        assert_eq!(view.len(), 3);
        assert_eq!(view.image(1).unwrap(), &[4.0, 5.0, 6.0, 7.0]);
        assert!(view.image(3).is_none());
        let maps = Heatmaps::new(data, [3, 2, 2], (0.0, 1.0)).unwrap();
        assert_eq!(maps.map(2).unwrap(), &[8.0, 9.0, 10.0, 11.0]);
        assert!(maps.map(3).is_none());
        assert!(Heatmaps::new(vec![0.0; 3], [1, 2, 2], (0.0, 1.0)).is_err());
        let img = maps.colorize(0, Colormap::Gray).unwrap();
        assert_eq!((img.channels(), img.height(), img.width()), (3, 2, 2));
        assert_eq!(img.pixel(0, 1), [1.0; 3]); // 1.0 in range (0, 1) is white
        assert!(maps.colorize(3, Colormap::Gray).is_err());
    }
}
