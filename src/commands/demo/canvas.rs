//! Text in the demo's pictures: the embedded DejaVu Sans (`font/`, with its licence) registered
//! with `plotters`' pure-Rust `ab_glyph` path, so neither the figures nor the plots need a system
//! font library; and a labelled grid of images drawn with it.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use smoothgrad_viz::{grid, GridOptions, Image};

use crate::error::{CliError, Result};

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `font/LICENSE`).
const DEJAVU_SANS: &[u8] = include_bytes!("font/DejaVuSans.ttf");

/// The family name the plots use.
pub const FONT: &str = "sans-serif";

/// Registers the embedded font as [`FONT`] (once per process).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file, checked by the tests.
        let _ = register_font(FONT, FontStyle::Normal, DEJAVU_SANS);
    });
}

/// A plotting error as a CLI failure.
pub fn plot_error(e: impl std::fmt::Display) -> CliError {
    CliError::failure(format!("cannot draw a plot: {e}"))
}

/// Height of a column title band, in pixels.
const TITLE_BAND: usize = 34;
/// Title font size, in pixels.
const TITLE_SIZE: f64 = 22.0;

/// `rows` of images in a grid (4 px white padding) with `titles` above the columns and `labels`
/// written into the cells that are `None` (e.g. the row's kind: "signed"), in DejaVu Sans.
/// Titles are never cut: the cells widen to the widest title.
pub fn labelled_grid(
    rows: &[Vec<Option<Image>>],
    titles: &[&str],
    labels: &[Vec<&str>],
) -> Result<Image> {
    register();
    let cell_w = rows
        .iter()
        .flatten()
        .flatten()
        .map(Image::width)
        .max()
        .unwrap_or(1);
    let cell_h = rows
        .iter()
        .flatten()
        .flatten()
        .map(Image::height)
        .max()
        .unwrap_or(1);
    let widest = titles.iter().map(|t| text_width(t)).max().unwrap_or(0) + 8;
    let blank = Image::filled(3, cell_h, cell_w.max(widest), [1.0; 3])?;
    let filled: Vec<Vec<Image>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.clone().unwrap_or_else(|| blank.clone()))
                .collect()
        })
        .collect();
    let mut filled = filled;
    // One widened blank cell in the first row makes every column wide enough for its title.
    if let Some(first) = filled.first_mut() {
        first.push(blank.clone());
    }
    let body = grid(&filled, &[], &GridOptions::default())?;
    let column = cell_w.max(widest) + 4;
    let body = crop_width(&body, 4 + column * (filled[0].len() - 1))?;
    let (w, h) = (body.width(), body.height() + TITLE_BAND);
    let mut buf = vec![255u8; w * h * 3];
    buf[TITLE_BAND * w * 3..].copy_from_slice(&body.to_interleaved_u8());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
        let style = TextStyle::from((FONT, TITLE_SIZE).into_font())
            .pos(Pos::new(HPos::Center, VPos::Center));
        for (c, title) in titles.iter().enumerate() {
            let x = 4 + c * column + column / 2 - 2;
            root.draw(&Text::new(
                *title,
                (x as i32, TITLE_BAND as i32 / 2),
                &style,
            ))
            .map_err(plot_error)?;
        }
        let small =
            TextStyle::from((FONT, 18.0).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        for (r, row) in rows.iter().enumerate() {
            let mut texts = labels.get(r).into_iter().flatten();
            for (c, cell) in row.iter().enumerate() {
                if cell.is_none() {
                    if let Some(text) = texts.next() {
                        let x = 4 + c * column + column / 2 - 2;
                        let y = TITLE_BAND + 4 + r * (cell_h + 4) + cell_h / 2;
                        root.draw(&Text::new(*text, (x as i32, y as i32), &small))
                            .map_err(plot_error)?;
                    }
                }
            }
        }
        root.present().map_err(plot_error)?;
    }
    Ok(Image::from_interleaved_u8(3, h, w, &buf)?)
}

/// The width of `text` in the title font, in pixels.
fn text_width(text: &str) -> usize {
    let font = (FONT, TITLE_SIZE).into_font();
    font.box_size(text)
        .map(|(w, _)| w as usize)
        .unwrap_or(text.len() * 14)
}

/// The left `width` columns of an RGB image.
fn crop_width(image: &Image, width: usize) -> Result<Image> {
    let (h, w) = (image.height(), image.width());
    let width = width.min(w);
    let bytes = image.to_interleaved_u8();
    let cropped: Vec<u8> = (0..h)
        .flat_map(|y| bytes[y * w * 3..(y * w + width) * 3].iter().copied())
        .collect();
    Ok(Image::from_interleaved_u8(3, h, width, &cropped)?)
}

/// Saves a plot buffer (RGB, `w x h`) as PNG.
pub fn save_rgb(buf: &[u8], w: usize, h: usize, path: &std::path::Path) -> Result<()> {
    let image = Image::from_interleaved_u8(3, h, w, buf)?;
    smoothgrad_viz::save_png(path, &image)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_drawn_in_full_above_their_columns() {
        let cell = Image::filled(3, 10, 10, [0.0; 3]).unwrap();
        let rows = vec![
            vec![Some(cell.clone()), None],
            vec![
                Some(cell),
                Some(Image::filled(3, 10, 10, [0.5; 3]).unwrap()),
            ],
        ];
        let picture = labelled_grid(&rows, &["A long column title", "B"], &[vec!["x"]]).unwrap();
        // The columns widened to the title: far wider than two 10 px cells.
        assert!(picture.width() > text_width("A long column title") * 2);
        // Some title pixels are dark, in the band above the cells.
        let dark = (0..TITLE_BAND)
            .flat_map(|y| (0..picture.width()).map(move |x| (y, x)))
            .filter(|&(y, x)| picture.pixel(y, x)[0] < 0.5)
            .count();
        assert!(dark > 50, "{dark} dark title pixels");
    }
}
