//! From attributions to pictures, shared by `explain` and `render`: the render options become a
//! [`smoothgrad_viz::Pipeline`], a colormap and overlays ([`Renderer`]).

use std::path::PathBuf;

use smoothgrad_viz::{
    Capping, Colormap, Heatmaps, Image, Normalization, Pipeline, Reduction, Sign,
};

use crate::cli::RenderOptions;
use crate::error::{viz_error, CliError, Result};

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
        // viz checks alpha when it blends; a blend of one pixel checks it now, before any work.
        let pixel = Image::filled(1, 1, 1, [0.0; 3]).expect("a 1x1 image");
        smoothgrad_viz::overlay(&pixel, &pixel, o.alpha as f32)
            .map_err(|e| viz_error("--alpha", e))?;
        let overlays = o
            .overlay
            .iter()
            .map(|p| {
                smoothgrad_viz::load(p)
                    .map(|img| (p.clone(), img))
                    .map_err(|e| {
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
                    Some((_, under)) => Ok(smoothgrad_viz::overlay(under, &colored, self.alpha)?),
                    None => Ok(colored),
                }
            })
            .collect()
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
    let (capping, normalization) = if sign.is_non_negative() {
        (Capping::Upper { percentile }, Normalization::MinMax)
    } else {
        (Capping::Symmetric { percentile }, Normalization::Symmetric)
    };
    let pipeline = Pipeline {
        sign,
        reduction,
        capping,
        normalization,
        ..Pipeline::pair_grayscale()
    };
    // viz checks the percentile when it caps; a map of one value checks it now, before any work.
    pipeline
        .run_slice(&[0.0], &[1, 1, 1, 1])
        .map_err(|e| viz_error("--clip-percentile", e))?;
    Ok(pipeline)
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
}
