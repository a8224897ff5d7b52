//! Figure grids: rows of images side by side (input | method 1 | method 2 ...), separated by
//! padding, with optional column titles drawn in the built-in bitmap font.

use crate::error::{Result, VizError};
use crate::font::{draw_text_clipped, text_width, GLYPH_HEIGHT};
use crate::image::Image;

/// Layout and colours of a [`grid`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridOptions {
    /// Pixels of background around and between cells (and under the titles).
    pub padding: usize,
    /// Background RGB colour.
    pub background: [f32; 3],
    /// Title RGB colour.
    pub text_color: [f32; 3],
    /// Each font pixel of a title becomes a `title_scale x title_scale` block (>= 1).
    pub title_scale: usize,
}

impl Default for GridOptions {
    /// 4 pixels of white padding, black titles at scale 2 (14 pixels tall).
    fn default() -> Self {
        GridOptions {
            padding: 4,
            background: [1.0; 3],
            text_color: [0.0; 3],
            title_scale: 2,
        }
    }
}

/// Lays `rows` of images out as one RGB image, with `titles` (possibly none) above the columns.
///
/// Every cell is as large as the largest image; smaller images are centred in their cell, and
/// rows may be shorter than others (the missing cells stay background). Grayscale images are
/// drawn as gray RGB. With `P` the padding, `cw x ch` the cell size and `T` the title height
/// (`7 * title_scale + P`, or 0 without titles), the result is
/// `P + rows * (ch + P) + T` pixels tall and `P + columns * (cw + P)` wide. A title wider than its
/// cell is cut at the cell's edge.
///
/// Errors if there is no image, if there are more titles than columns, if `title_scale` is 0 with
/// titles, or if the result would not fit in memory.
pub fn grid(rows: &[Vec<Image>], titles: &[&str], options: &GridOptions) -> Result<Image> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let cells = rows.iter().flatten();
    let cell_h = cells.clone().map(Image::height).max().unwrap_or(0);
    let cell_w = cells.map(Image::width).max().unwrap_or(0);
    if columns == 0 {
        return Err(VizError::InvalidParameter {
            name: "rows",
            expected: "at least one image",
            found: format!("{} empty rows", rows.len()),
        });
    }
    if titles.len() > columns {
        return Err(VizError::InvalidParameter {
            name: "titles",
            expected: "at most one title per column",
            found: format!("{} titles for {columns} columns", titles.len()),
        });
    }
    if !titles.is_empty() && options.title_scale == 0 {
        return Err(VizError::InvalidParameter {
            name: "title_scale",
            expected: "a scale >= 1",
            found: "0".into(),
        });
    }
    let pad = options.padding;
    let title_h = if titles.is_empty() {
        0
    } else {
        GLYPH_HEIGHT
            .saturating_mul(options.title_scale)
            .saturating_add(pad)
    };
    // padding + n * (cell + padding), with overflow reported as an error rather than a panic.
    let extent = |n: usize, cell: usize| {
        cell.checked_add(pad)
            .and_then(|step| step.checked_mul(n))
            .and_then(|v| v.checked_add(pad))
    };
    let too_big = || VizError::InvalidParameter {
        name: "rows",
        expected: "a grid small enough to fit in memory",
        found: format!(
            "{} rows of {columns} cells of {cell_h}x{cell_w}",
            rows.len()
        ),
    };
    let width = extent(columns, cell_w).ok_or_else(too_big)?;
    let height = extent(rows.len(), cell_h)
        .and_then(|h| h.checked_add(title_h))
        .ok_or_else(too_big)?;
    let mut out = Image::filled(3, height, width, options.background)?;

    let cell_left = |c: usize| pad + c * (cell_w + pad);
    for (c, title) in titles.iter().enumerate() {
        let text_w = text_width(title, options.title_scale);
        let x = cell_left(c) + cell_w.saturating_sub(text_w) / 2;
        let (scale, color) = (options.title_scale, options.text_color);
        draw_text_clipped(&mut out, x, pad, title, scale, color, cell_w);
    }
    for (r, row) in rows.iter().enumerate() {
        let cell_top = pad + title_h + r * (cell_h + pad);
        for (c, image) in row.iter().enumerate() {
            let top = cell_top + (cell_h - image.height()) / 2;
            let left = cell_left(c) + (cell_w - image.width()) / 2;
            paste(&mut out, image, top, left);
        }
    }
    Ok(out)
}

/// Copies `image` into `out` with its top-left corner at (`top`, `left`).
fn paste(out: &mut Image, image: &Image, top: usize, left: usize) {
    for y in 0..image.height() {
        for x in 0..image.width() {
            out.set_pixel(top + y, left + x, image.pixel(y, x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(size: usize, v: f32) -> Image {
        Image::filled(1, size, size, [v; 3]).unwrap()
    }

    #[test]
    fn layout_by_hand() {
        let options = GridOptions {
            padding: 1,
            background: [1.0, 0.0, 0.0],
            ..GridOptions::default()
        };
        // Row 0: two 2x2 cells (0.2, 0.4); row 1: one 1x1 cell (0.6), centred at offset (0, 0).
        let rows = vec![vec![square(2, 0.2), square(2, 0.4)], vec![square(1, 0.6)]];
        let g = grid(&rows, &[], &options).unwrap();
        assert_eq!((g.channels(), g.height(), g.width()), (3, 7, 7));
        let red = [1.0, 0.0, 0.0];
        assert_eq!(g.pixel(0, 0), red);
        assert_eq!(g.pixel(1, 1), [0.2; 3]);
        assert_eq!(g.pixel(2, 2), [0.2; 3]);
        assert_eq!(g.pixel(1, 3), red); // padding between the columns
        assert_eq!(g.pixel(2, 5), [0.4; 3]);
        assert_eq!(g.pixel(4, 1), [0.6; 3]); // (2 - 1) / 2 = 0: top-left of its cell
        assert_eq!(g.pixel(5, 2), red);
        assert_eq!(g.pixel(5, 5), red); // the missing cell stays background
    }

    #[test]
    fn titles_add_a_strip_above_the_columns() {
        let options = GridOptions {
            padding: 2,
            title_scale: 1,
            ..GridOptions::default()
        };
        let rows = vec![vec![square(12, 0.5), square(12, 0.5)]];
        let g = grid(&rows, &["I", "II"], &options).unwrap();
        // 2 + (7 + 2) + 12 + 2 rows; 2 + 2 * (12 + 2) columns.
        assert_eq!((g.height(), g.width()), (25, 30));
        // "I" (5 wide) centred in the first 12-wide cell: starts at 2 + 3 = 5; its top row is
        // ".###." so columns 6..9 of row 2 are black.
        let row: Vec<f32> = (4..11).map(|x| g.pixel(2, x)[0]).collect();
        assert_eq!(row, [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(g.pixel(11, 2), [0.5; 3]); // first image row
    }

    #[test]
    fn bad_grids_are_errors() {
        let o = GridOptions::default();
        assert!(grid(&[], &[], &o).is_err());
        assert!(grid(&[vec![]], &[], &o).is_err());
        assert!(grid(&[vec![square(1, 0.0)]], &["a", "b"], &o).is_err());
        let zero = GridOptions {
            title_scale: 0,
            ..o
        };
        assert!(grid(&[vec![square(1, 0.0)]], &["a"], &zero).is_err());
        let huge = GridOptions {
            padding: usize::MAX / 2,
            ..o
        };
        assert!(grid(&[vec![square(1, 0.0)]], &[], &huge).is_err());
    }
}
