//! Colormaps: a value in `[0, 1]` to an RGB colour, through matplotlib's exact 256-entry lookup
//! tables, and [`colorize`] to turn a whole heat map into an RGB [`Image`].

use std::fmt;
use std::str::FromStr;

use crate::colormap_data::{BWR, GRAY, INFERNO, JET, VIRIDIS};
use crate::error::{check_len, Result, VizError};
use crate::image::Image;

/// A colormap: 256 RGB colours, looked up the way matplotlib does for `N = 256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Colormap {
    /// matplotlib's `gray`: black to white, entry `i` = `i / 255` (to the last bit of an f64).
    /// PAIR's and the SmoothGrad paper's figures.
    Gray,
    /// matplotlib's `viridis` (`_viridis_data`): perceptually uniform dark blue - green - yellow.
    Viridis,
    /// matplotlib's `inferno` (`_inferno_data`): perceptually uniform black - red - yellow.
    Inferno,
    /// matplotlib's `jet` (its segment data sampled at `i / 255`): blue - cyan - yellow - red.
    /// Xplique's default; not perceptually uniform.
    Jet,
    /// matplotlib's `bwr`: blue `(0, 0, 1)` - white `(1, 1, 1)` - red `(1, 0, 0)`, linear in
    /// between. The diverging map for signed attributions (0 -> white when the range is
    /// `(-1, 1)`).
    Bwr,
}

impl Colormap {
    /// Every colormap, in declaration order.
    pub const ALL: [Colormap; 5] = [
        Colormap::Gray,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Jet,
        Colormap::Bwr,
    ];

    /// The matplotlib name: `"gray"`, `"viridis"`, `"inferno"`, `"jet"` or `"bwr"`.
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Gray => "gray",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Jet => "jet",
            Colormap::Bwr => "bwr",
        }
    }

    /// The lookup table: 256 RGB triples in `[0, 1]`, exactly matplotlib's float64 values.
    pub fn table(self) -> &'static [[f64; 3]; 256] {
        match self {
            Colormap::Gray => &GRAY,
            Colormap::Viridis => &VIRIDIS,
            Colormap::Inferno => &INFERNO,
            Colormap::Jet => &JET,
            Colormap::Bwr => &BWR,
        }
    }

    /// The table index matplotlib uses for `v`: `min(floor(v * 256), 255)`, with values below 0
    /// mapped to 0 and values above 1 to 255 (matplotlib's default under/over colours).
    /// **NaN maps to index 0** (matplotlib would draw it transparent).
    pub fn index(v: f32) -> usize {
        // v * 256 is exact in binary floating point, so the floor is exact too.
        let x = v * 256.0;
        if x >= 0.0 {
            // `as` saturates: +inf gives usize::MAX, then the min.
            (x as usize).min(255)
        } else {
            0 // negative or NaN
        }
    }

    /// The colour of `v` in `[0, 1]`: `table()[index(v)]`, as `f32`.
    pub fn rgb(self, v: f32) -> [f32; 3] {
        self.table()[Colormap::index(v)].map(|c| c as f32)
    }
}

impl fmt::Display for Colormap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Colormap {
    type Err = VizError;

    /// Parses a matplotlib name (case-insensitive); `"grey"` and `"grayscale"` are read as `gray`.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.to_ascii_lowercase();
        let name = match lower.as_str() {
            "grey" | "grayscale" | "greyscale" => "gray",
            other => other,
        };
        Colormap::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| VizError::InvalidParameter {
                name: "colormap",
                expected: "one of gray, viridis, inferno, jet, bwr",
                found: format!("{s:?}"),
            })
    }
}

/// Colours an `height x width` map (row-major `values`) into a 3-channel [`Image`].
///
/// Each value is first brought to `[0, 1]` with `t = (v - low) / (high - low)` for
/// `range = (low, high)` (use [`crate::Heatmaps::range`]; `(0, 1)` leaves values unchanged,
/// `(-1, 1)` puts 0 at the middle of a diverging map), then looked up with [`Colormap::rgb`]. If
/// `high <= low`, every pixel gets the first colour.
pub fn colorize(
    values: &[f32],
    height: usize,
    width: usize,
    range: (f32, f32),
    colormap: Colormap,
) -> Result<Image> {
    check_len(&[height, width], values.len())?;
    let (low, high) = (f64::from(range.0), f64::from(range.1));
    let plane = values.len();
    let mut data = vec![0.0f32; 3 * plane];
    for (p, &v) in values.iter().enumerate() {
        let t = if high > low {
            ((f64::from(v) - low) / (high - low)) as f32
        } else {
            0.0
        };
        let rgb = colormap.rgb(t);
        for (c, &value) in rgb.iter().enumerate() {
            data[c * plane + p] = value;
        }
    }
    Image::new(3, height, width, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 3], b: [f64; 3]) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (f64::from(*x) - y).abs() < 1e-7)
    }

    #[test]
    fn endpoints_match_matplotlib() {
        assert!(close(
            Colormap::Viridis.rgb(0.0),
            [0.267004, 0.004874, 0.329415]
        ));
        assert!(close(
            Colormap::Viridis.rgb(1.0),
            [0.993248, 0.906157, 0.143936]
        ));
        assert!(close(
            Colormap::Inferno.rgb(0.0),
            [0.001462, 0.000466, 0.013866]
        ));
        assert!(close(
            Colormap::Inferno.rgb(1.0),
            [0.988362, 0.998364, 0.644924]
        ));
        assert_eq!(Colormap::Gray.rgb(0.0), [0.0; 3]);
        assert_eq!(Colormap::Gray.rgb(1.0), [1.0; 3]);
        assert_eq!(Colormap::Jet.rgb(0.0), [0.0, 0.0, 0.5]);
        assert_eq!(Colormap::Jet.rgb(1.0), [0.5, 0.0, 0.0]);
        assert_eq!(Colormap::Bwr.rgb(0.0), [0.0, 0.0, 1.0]);
        assert_eq!(Colormap::Bwr.rgb(1.0), [1.0, 0.0, 0.0]);
    }

    /// Linear interpolation through the breakpoints `(x, y)` of one continuous channel.
    fn piecewise(points: &[(f64, f64)], x: f64) -> f64 {
        let k = points
            .iter()
            .position(|p| p.0 >= x)
            .unwrap_or(points.len() - 1);
        if k == 0 {
            return points[0].1;
        }
        let ((x0, y0), (x1, y1)) = (points[k - 1], points[k]);
        y0 + (x - x0) / (x1 - x0) * (y1 - y0)
    }

    #[test]
    fn jet_and_bwr_follow_their_segment_data() {
        let jet: [&[(f64, f64)]; 3] = [
            &[
                (0.0, 0.0),
                (0.35, 0.0),
                (0.66, 1.0),
                (0.89, 1.0),
                (1.0, 0.5),
            ],
            &[
                (0.0, 0.0),
                (0.125, 0.0),
                (0.375, 1.0),
                (0.64, 1.0),
                (0.91, 0.0),
                (1.0, 0.0),
            ],
            &[
                (0.0, 0.5),
                (0.11, 1.0),
                (0.34, 1.0),
                (0.65, 0.0),
                (1.0, 0.0),
            ],
        ];
        let bwr: [&[(f64, f64)]; 3] = [
            &[(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)],
            &[(0.0, 0.0), (0.5, 1.0), (1.0, 0.0)],
            &[(0.0, 1.0), (0.5, 1.0), (1.0, 0.0)],
        ];
        for (map, segments) in [(Colormap::Jet, jet), (Colormap::Bwr, bwr)] {
            for (i, rgb) in map.table().iter().enumerate() {
                let x = i as f64 / 255.0;
                for c in 0..3 {
                    let want = piecewise(segments[c], x);
                    assert!((rgb[c] - want).abs() < 1e-12, "{map} entry {i} channel {c}");
                }
            }
        }
        for (i, rgb) in Colormap::Gray.table().iter().enumerate() {
            assert!(rgb.iter().all(|&v| (v - i as f64 / 255.0).abs() < 1e-15));
        }
    }

    #[test]
    fn lookup_index_follows_matplotlib() {
        assert_eq!(Colormap::index(0.0), 0);
        assert_eq!(Colormap::index(1.0 / 256.0 - 1e-6), 0);
        assert_eq!(Colormap::index(1.0 / 256.0), 1);
        assert_eq!(Colormap::index(0.5), 128);
        assert_eq!(Colormap::index(255.0 / 256.0), 255);
        assert_eq!(Colormap::index(1.0), 255);
        assert_eq!(Colormap::index(7.0), 255);
        assert_eq!(Colormap::index(f32::INFINITY), 255);
        assert_eq!(Colormap::index(-0.3), 0);
        assert_eq!(Colormap::index(f32::NAN), 0);
    }

    #[test]
    fn tables_are_in_the_unit_interval() {
        for map in Colormap::ALL {
            assert!(map
                .table()
                .iter()
                .flatten()
                .all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for map in Colormap::ALL {
            assert_eq!(map.to_string().parse::<Colormap>().unwrap(), map);
        }
        assert_eq!("Grayscale".parse::<Colormap>().unwrap(), Colormap::Gray);
        let e = "plasma".parse::<Colormap>().unwrap_err();
        assert!(e.to_string().contains("found \"plasma\""), "{e}");
    }

    #[test]
    fn colorize_maps_the_range_onto_the_table() {
        // (-1, 1): -1 -> first colour, 0 -> entry 128 (white for bwr), 1 -> last.
        let img = colorize(&[-1.0, 0.0, 1.0], 1, 3, (-1.0, 1.0), Colormap::Bwr).unwrap();
        assert_eq!((img.channels(), img.height(), img.width()), (3, 1, 3));
        assert_eq!(img.pixel(0, 0), [0.0, 0.0, 1.0]);
        assert_eq!(img.pixel(0, 1), Colormap::Bwr.rgb(0.5));
        assert_eq!(img.pixel(0, 2), [1.0, 0.0, 0.0]);
        // An empty range gives the first colour; a wrong size is an error.
        let flat = colorize(&[3.0], 1, 1, (2.0, 2.0), Colormap::Jet).unwrap();
        assert_eq!(flat.pixel(0, 0), [0.0, 0.0, 0.5]);
        assert!(colorize(&[0.0; 3], 2, 2, (0.0, 1.0), Colormap::Gray).is_err());
    }
}
