//! What the preprocessing flags say, parsed and checked: sizes (`N` or `HxW`), `--normalize`,
//! `--pixel-range`, `--layout` and the named presets.

use crate::error::{CliError, Result};

/// ImageNet's per-channel mean (RGB), torchvision's `Normalize` constants.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet's per-channel standard deviation (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// `--resize`: torchvision's `Resize(N)` or `Resize((H, W))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// The shorter side becomes N, the other `trunc(N * long / short)` (torchvision's rounding).
    Shorter(usize),
    /// Exactly `H x W`.
    Exact(usize, usize),
}

impl Resize {
    /// The output `(height, width)` for an input of `(h, w)`, as torchvision's
    /// `_compute_resized_output_size` computes it.
    pub fn output_size(self, (h, w): (usize, usize)) -> (usize, usize) {
        match self {
            Resize::Exact(oh, ow) => (oh, ow),
            Resize::Shorter(n) => {
                let (short, long) = if w <= h { (w, h) } else { (h, w) };
                // Python's int(n * long / short): a float division, truncated.
                let new_long = ((n * long) as f64 / short as f64) as usize;
                if w <= h {
                    (new_long, n)
                } else {
                    (n, new_long)
                }
            }
        }
    }
}

/// The range pixel values are scaled to before `--normalize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelRange {
    /// `v / 255`, torchvision's `ToTensor`.
    Unit,
    /// `(v / 255 - 0.5) / 0.5`, Inception's (and Keras' "tf" mode) `[-1, 1]`.
    Symmetric,
    /// `v`, the raw bytes (Caffe-style models).
    Bytes,
}

impl PixelRange {
    /// The value of byte `v`, in f32 arithmetic as torchvision computes it.
    pub fn scale(self, v: u8) -> f32 {
        let x = f32::from(v);
        match self {
            PixelRange::Unit => x / 255.0,
            PixelRange::Symmetric => (x / 255.0 - 0.5) / 0.5,
            PixelRange::Bytes => x,
        }
    }

    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            PixelRange::Unit => "0,1",
            PixelRange::Symmetric => "-1,1",
            PixelRange::Bytes => "0,255",
        }
    }
}

/// Parses `--pixel-range`: `0,1`, `-1,1` or `0,255`.
///
/// # Errors
/// Any other value.
pub fn parse_pixel_range(s: &str) -> Result<PixelRange> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    match compact.as_str() {
        "0,1" => Ok(PixelRange::Unit),
        "-1,1" => Ok(PixelRange::Symmetric),
        "0,255" => Ok(PixelRange::Bytes),
        _ => Err(CliError::input(format!(
            "--pixel-range: expected 0,1 or -1,1 or 0,255, found {s:?}"
        ))),
    }
}

/// Parses a size flag: `N` (for `--resize`, the shorter side; for `--center-crop`, a square) or
/// `HxW`, every number at least 1.
///
/// # Errors
/// Anything else, named after `flag`.
pub fn parse_size(flag: &str, s: &str) -> Result<(usize, Option<usize>)> {
    let bad = || {
        CliError::input(format!(
            "{flag}: expected N or HxW (whole numbers >= 1, e.g. 224 or 224x320), found {s:?}"
        ))
    };
    let number = |t: &str| t.trim().parse::<usize>().ok().filter(|&n| n > 0);
    match s.split_once(['x', 'X']) {
        None => Ok((number(s).ok_or_else(bad)?, None)),
        Some((h, w)) => Ok((number(h).ok_or_else(bad)?, Some(number(w).ok_or_else(bad)?))),
    }
}

/// `--normalize`: a named constant set or numbers, resolved once the channel count is known.
#[derive(Debug, Clone, PartialEq)]
pub enum NormalizeSpec {
    /// ImageNet's mean and std ([`IMAGENET_MEAN`], [`IMAGENET_STD`]).
    Imagenet,
    /// Inception's mean 0.5 and std 0.5 for every channel (to `[-1, 1]` from `[0, 1]`).
    Inception,
    /// "mean,std" or means then stds, as typed.
    Numbers(String),
}

impl NormalizeSpec {
    /// Parses the flag: `imagenet`, `inception`, or comma-separated numbers (checked by
    /// [`NormalizeSpec::resolve`], which knows the channel count; the syntax is checked now).
    ///
    /// # Errors
    /// Something that is neither a name nor comma-separated numbers.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "imagenet" => Ok(NormalizeSpec::Imagenet),
            "inception" => Ok(NormalizeSpec::Inception),
            _ => {
                parse_numbers(s)?;
                Ok(NormalizeSpec::Numbers(s.to_string()))
            }
        }
    }

    /// The per-channel mean and std for `channels` channels.
    ///
    /// # Errors
    /// ImageNet's constants for a channel count other than 3, or the numbers' errors
    /// ([`parse_normalize`]).
    pub fn resolve(&self, channels: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        match self {
            NormalizeSpec::Imagenet if channels == 3 => {
                Ok((IMAGENET_MEAN.to_vec(), IMAGENET_STD.to_vec()))
            }
            NormalizeSpec::Imagenet => Err(CliError::input(format!(
                "--normalize imagenet: expected RGB inputs (3 channels), found {channels} channel(s)"
            ))),
            NormalizeSpec::Inception => Ok((vec![0.5; channels], vec![0.5; channels])),
            NormalizeSpec::Numbers(s) => parse_normalize(s, channels),
        }
    }
}

/// Comma-separated numbers, or an error naming `--normalize`.
fn parse_numbers(spec: &str) -> Result<Vec<f32>> {
    spec.split(',')
        .map(|s| s.trim().parse::<f32>())
        .collect::<std::result::Result<Vec<f32>, _>>()
        .map_err(|_| {
            CliError::input(format!(
                "--normalize: expected imagenet, inception, or comma-separated numbers \
                 (mean,std or means then stds), found {spec:?}"
            ))
        })
}

/// Parses `--normalize` numbers: "mean,std" for every channel, or `channels` means then
/// `channels` stds.
///
/// # Errors
/// Not numbers, the wrong count, a non-finite mean, or a std that is not a finite number > 0.
pub fn parse_normalize(spec: &str, channels: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let numbers = parse_numbers(spec)?;
    let (mean, std) = match numbers.len() {
        2 => (vec![numbers[0]; channels], vec![numbers[1]; channels]),
        n if n == 2 * channels => (numbers[..channels].to_vec(), numbers[channels..].to_vec()),
        n => {
            return Err(CliError::input(format!(
                "--normalize: expected 2 numbers (mean,std) or {} (means then stds of {channels} channels), found {n}",
                2 * channels
            )))
        }
    };
    if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
        return Err(CliError::input(format!(
            "--normalize: means must be finite, found {m}"
        )));
    }
    if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(CliError::input(format!(
            "--normalize: stds must be finite numbers > 0, found {s}"
        )));
    }
    Ok((mean, std))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_sizes_round_as_torchvision() {
        // 517x389 (WxH) to 256: H = 256, W = int(256 * 517 / 389) = 340.
        assert_eq!(Resize::Shorter(256).output_size((389, 517)), (256, 340));
        assert_eq!(Resize::Shorter(256).output_size((517, 389)), (340, 256));
        assert_eq!(Resize::Shorter(80).output_size((300, 260)), (92, 80));
        assert_eq!(Resize::Shorter(3).output_size((5, 5)), (3, 3));
        assert_eq!(Resize::Exact(97, 131).output_size((5, 9)), (97, 131));
    }

    #[test]
    fn sizes_ranges_and_normalization_parse() {
        assert_eq!(parse_size("--resize", "256").unwrap(), (256, None));
        assert_eq!(parse_size("--resize", "224x320").unwrap(), (224, Some(320)));
        for bad in ["0", "x", "2x", "-3", "1.5", "3x0"] {
            assert!(parse_size("--center-crop", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_pixel_range(" -1, 1").unwrap(), PixelRange::Symmetric);
        assert!(parse_pixel_range("0-1").is_err());
        assert_eq!(PixelRange::Symmetric.scale(0), -1.0);
        assert_eq!(PixelRange::Symmetric.scale(255), 1.0);
        assert_eq!(PixelRange::Bytes.scale(7), 7.0);
        let (m, s) = NormalizeSpec::parse("ImageNet")
            .unwrap()
            .resolve(3)
            .unwrap();
        assert_eq!((m[0], s[2]), (0.485, 0.225));
        assert!(NormalizeSpec::Imagenet.resolve(1).is_err());
        assert_eq!(
            NormalizeSpec::parse("0.5,0.25")
                .unwrap()
                .resolve(3)
                .unwrap(),
            (vec![0.5; 3], vec![0.25; 3])
        );
        let (m, s) = parse_normalize("0.1, 0.2, 0.3, 1, 2, 4", 3).unwrap();
        assert_eq!((m, s), (vec![0.1, 0.2, 0.3], vec![1.0, 2.0, 4.0]));
        assert!(parse_normalize("0.5,0", 3).is_err());
        assert!(parse_normalize("0.5", 3).is_err());
        assert!(NormalizeSpec::parse("imagenette").is_err());
    }
}
