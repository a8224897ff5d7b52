//! From attributions to files, shared by `explain` and `render`: the render options become a
//! [`viz::Pipeline`], a colormap and overlays ([`Renderer`]); the output path's extension picks
//! the file kind ([`OutputKind`]); PNG sets are written all or nothing ([`write_pngs`]).

use std::path::{Path, PathBuf};

use viz::{Capping, Colormap, Heatmaps, Image, Normalization, Pipeline, Reduction, Sign, VizError};

use crate::cli::RenderOptions;
use crate::error::{CliError, Result};
use crate::inputs::extension;

/// What an `--output` path asks for, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Tensors in a `.safetensors` file.
    Safetensors,
    /// Pictures in `.png` files.
    Png,
}

impl OutputKind {
    /// The kind of `path`, from its extension (any case).
    ///
    /// # Errors
    /// Any other extension: "expected .safetensors or .png".
    pub fn of(path: &Path) -> Result<Self> {
        match extension(path).as_deref() {
            Some("safetensors") => Ok(OutputKind::Safetensors),
            Some("png") => Ok(OutputKind::Png),
            _ => Err(CliError::input(format!(
                "--output: expected .safetensors or .png, found \"{}\"",
                path.display()
            ))),
        }
    }
}

/// The pipeline, colormap and overlays the render options describe, all checked.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// Sign, reduction, capping and normalization.
    pub pipeline: Pipeline,
    /// The colormap, or `None` for the default (gray for maps in `[0, 1]`, bwr for signed maps).
    pub colormap: Option<Colormap>,
    /// The images under the heat maps (none, one for all, or one per map), with their paths.
    pub overlays: Vec<(PathBuf, Image)>,
    /// The heat map's opacity over an overlay.
    pub alpha: f32,
}

impl Renderer {
    /// Parses and checks every option and loads the overlay images.
    ///
    /// # Errors
    /// An unknown preset, sign, reduction or colormap; a preset combined with pipeline options; a
    /// percentile outside `[0, 100]`; an alpha outside `[0, 1]`; an unreadable overlay image.
    pub fn from_options(o: &RenderOptions) -> Result<Self> {
        let pipeline = pipeline(o)?;
        let colormap = o
            .colormap
            .as_deref()
            .map(str::parse::<Colormap>)
            .transpose()
            .map_err(|e| viz_error("--colormap", e))?;
        if !(0.0..=1.0).contains(&o.alpha) {
            return Err(CliError::input(format!(
                "--alpha: expected a number in [0, 1], found {}",
                o.alpha
            )));
        }
        let overlays = o
            .overlay
            .iter()
            .map(|p| {
                viz::load(p).map(|img| (p.clone(), img)).map_err(|e| {
                    viz_error(
                        &format!("--overlay: cannot read image \"{}\"", p.display()),
                        e,
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Renderer {
            pipeline,
            colormap,
            overlays,
            alpha: o.alpha as f32,
        })
    }

    /// Runs the pipeline on `data` `[N, C, H, W]`: one processed map `[H, W]` per input.
    ///
    /// # Errors
    /// NaN or infinite values (named by map and element), or a shape the pipeline rejects.
    pub fn maps(&self, data: &[f32], shape: [usize; 4]) -> Result<Heatmaps> {
        let len = shape[1] * shape[2] * shape[3];
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(CliError::input(format!(
                "the attribution of input {} has a non-finite value (NaN or infinity) at element {}",
                i / len.max(1),
                i % len.max(1)
            )));
        }
        Ok(self.pipeline.run_slice(data, &shape)?)
    }

    /// Colours every map and blends it over its overlay image, if any.
    ///
    /// # Errors
    /// An overlay count other than 0, 1 or N, or an overlay whose size differs from the maps'.
    pub fn pictures(&self, heat: &Heatmaps) -> Result<Vec<Image>> {
        let [n, h, w] = heat.shape();
        if !matches!(self.overlays.len(), 0 | 1) && self.overlays.len() != n {
            return Err(CliError::input(format!(
                "--overlay: expected one image for every map or one per map ({n}), found {}",
                self.overlays.len()
            )));
        }
        for (path, img) in &self.overlays {
            if (img.height(), img.width()) != (h, w) {
                return Err(CliError::input(format!(
                    "--overlay: \"{}\" is {}x{} (HxW) but the maps are {h}x{w}",
                    path.display(),
                    img.height(),
                    img.width()
                )));
            }
        }
        let colormap = self.colormap.unwrap_or(default_colormap(heat));
        (0..n)
            .map(|i| {
                let colored = heat.colorize(i, colormap)?;
                match self.overlays.get(i).or(self.overlays.first()) {
                    Some((_, under)) => Ok(viz::overlay(under, &colored, self.alpha)?),
                    None => Ok(colored),
                }
            })
            .collect()
    }
}

/// A viz error after `context` (the option or file it is about), without repeating the
/// parameter's name or a temporary file's path.
pub fn viz_error(context: &str, e: VizError) -> CliError {
    CliError::input(match e {
        VizError::InvalidParameter {
            expected, found, ..
        } => format!("{context}: expected {expected}, found {found}"),
        VizError::Io { source, .. } => format!("{context}: {}", io_reason(&source)),
        other => format!("{context}: {other}"),
    })
}

/// An I/O error's description without the OS error number.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text)
            .to_string(),
        None => text,
    }
}

/// Gray for maps in `[0, 1]`, bwr (blue-white-red) for signed maps.
fn default_colormap(heat: &Heatmaps) -> Colormap {
    if heat.range().0 < 0.0 {
        Colormap::Bwr
    } else {
        Colormap::Gray
    }
}

/// The pipeline: `--preset`, or one built from `--sign`, `--reduce` and `--clip-percentile`
/// (defaults abs, sum, 99: exactly `pair_grayscale`). Non-negative signs cap the upper tail
/// ([`Capping::Upper`]) and min-max to `[0, 1]`; `signed` caps the magnitude
/// ([`Capping::Symmetric`]) and scales to `[-1, 1]` keeping 0 at 0.
fn pipeline(o: &RenderOptions) -> Result<Pipeline> {
    if let Some(name) = &o.preset {
        if o.sign.is_some() || o.reduce.is_some() || o.clip_percentile.is_some() {
            return Err(CliError::input(
                "--preset cannot be combined with --sign, --reduce or --clip-percentile (without a preset they build a pipeline whose defaults are pair_grayscale's)",
            ));
        }
        return Pipeline::preset(name).map_err(|e| viz_error("--preset", e));
    }
    let sign = o.sign.as_deref().map_or(Ok(Sign::Abs), parse_sign)?;
    let reduction = o
        .reduce
        .as_deref()
        .map_or(Ok(Reduction::Sum), parse_reduction)?;
    let percentile = o.clip_percentile.unwrap_or(99.0);
    if !(0.0..=100.0).contains(&percentile) {
        return Err(CliError::input(format!(
            "--clip-percentile: expected a number in [0, 100], found {percentile}"
        )));
    }
    let (capping, normalization) = if sign.is_non_negative() {
        (Capping::Upper { percentile }, Normalization::MinMax)
    } else {
        (Capping::Symmetric { percentile }, Normalization::Symmetric)
    };
    Ok(Pipeline {
        sign,
        reduction,
        capping,
        normalization,
        ..Pipeline::pair_grayscale()
    })
}

/// Parses `--sign`.
fn parse_sign(s: &str) -> Result<Sign> {
    match s.to_ascii_lowercase().as_str() {
        "abs" => Ok(Sign::Abs),
        "positive" => Ok(Sign::Positive),
        "negative" => Ok(Sign::Negative),
        "signed" => Ok(Sign::Signed),
        _ => Err(CliError::input(format!(
            "--sign: expected one of abs, positive, negative, signed, found {s:?}"
        ))),
    }
}

/// Parses `--reduce`.
fn parse_reduction(s: &str) -> Result<Reduction> {
    match s.to_ascii_lowercase().as_str() {
        "sum" => Ok(Reduction::Sum),
        "mean" => Ok(Reduction::Mean),
        "max" => Ok(Reduction::Max),
        "max-abs" | "max_abs" => Ok(Reduction::MaxAbs),
        "l2" => Ok(Reduction::L2),
        _ => Err(CliError::input(format!(
            "--reduce: expected one of sum, mean, max, max-abs, l2, found {s:?}"
        ))),
    }
}

/// The files `n` pictures go to: `output` itself for one, else `stem-0.png`, `stem-1.png`, ...
/// beside it.
pub fn png_paths(output: &Path, n: usize) -> Vec<PathBuf> {
    if n == 1 {
        return vec![output.to_path_buf()];
    }
    let stem = output.file_stem().unwrap_or_default().to_string_lossy();
    let ext = output.extension().unwrap_or_default().to_string_lossy();
    (0..n)
        .map(|i| output.with_file_name(format!("{stem}-{i}.{ext}")))
        .collect()
}

/// Writes `images` to [`png_paths`] of `output`, each atomically; if one write fails, the files
/// already written are removed, so the set is written whole or not at all.
///
/// # Errors
/// The first write that fails.
pub fn write_pngs(output: &Path, images: &[Image]) -> Result<Vec<PathBuf>> {
    let paths = png_paths(output, images.len());
    for (k, (path, image)) in paths.iter().zip(images).enumerate() {
        if let Err(e) = viz::save_png(path, image) {
            paths[..k].iter().for_each(|p| {
                let _ = std::fs::remove_file(p);
            });
            let context = format!("cannot write \"{}\"", path.display());
            return Err(CliError {
                status: 1,
                ..viz_error(&context, e)
            });
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> RenderOptions {
        RenderOptions {
            preset: None,
            sign: None,
            reduce: None,
            clip_percentile: None,
            colormap: None,
            overlay: Vec::new(),
            alpha: 0.5,
        }
    }

    #[test]
    fn default_options_are_pair_grayscale() {
        assert_eq!(pipeline(&options()).unwrap(), Pipeline::pair_grayscale());
    }

    #[test]
    fn signed_maps_are_capped_symmetrically() {
        let o = RenderOptions {
            sign: Some("signed".into()),
            clip_percentile: Some(95.0),
            ..options()
        };
        let p = pipeline(&o).unwrap();
        assert_eq!(p.capping, Capping::Symmetric { percentile: 95.0 });
        assert_eq!(p.normalization, Normalization::Symmetric);
    }

    #[test]
    fn bad_options_are_errors() {
        let with = |f: fn(&mut RenderOptions)| {
            let mut o = options();
            f(&mut o);
            Renderer::from_options(&o).map(|_| ())
        };
        assert!(with(|o| o.preset = Some("nope".into())).is_err());
        assert!(with(|o| o.sign = Some("both".into())).is_err());
        assert!(with(|o| o.reduce = Some("median".into())).is_err());
        assert!(with(|o| o.clip_percentile = Some(101.0)).is_err());
        assert!(with(|o| o.colormap = Some("rainbow".into())).is_err());
        assert!(with(|o| o.alpha = 2.0).is_err());
        assert!(with(|o| {
            o.preset = Some("max_channel".into());
            o.sign = Some("abs".into());
        })
        .is_err());
    }

    #[test]
    fn several_pictures_get_an_index() {
        let p = png_paths(Path::new("out/map.png"), 2);
        assert_eq!(
            p,
            [
                PathBuf::from("out/map-0.png"),
                PathBuf::from("out/map-1.png")
            ]
        );
        assert_eq!(png_paths(Path::new("m.png"), 1), [PathBuf::from("m.png")]);
    }

    #[test]
    fn output_kinds_come_from_the_extension() {
        assert_eq!(OutputKind::of(Path::new("a.PNG")).unwrap(), OutputKind::Png);
        assert_eq!(
            OutputKind::of(Path::new("a.safetensors")).unwrap(),
            OutputKind::Safetensors
        );
        assert!(OutputKind::of(Path::new("a.jpg")).is_err());
        assert!(OutputKind::of(Path::new("a")).is_err());
    }
}
