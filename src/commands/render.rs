//! `render`: attributions to processed maps (`.safetensors`, `map` f32 `[N, H, W]`, exactly the
//! pipeline's output) or to pictures (`.png`), with the options shared with `explain`.

use smoothgrad_autograd::io::{self, Writer};

use crate::cli::RenderArgs;
use crate::error::{CliError, Result};
use crate::files::{write_pngs, OutputKind};
use crate::rendering::Renderer;

/// The tensor `render` reads.
const ATTRIBUTION: &str = "attribution";

/// Runs `render`: every option and the file are checked, and every map rendered, before anything
/// is written.
pub fn run(args: &RenderArgs) -> Result<()> {
    let kind = OutputKind::of(&args.output)?;
    let renderer = Renderer::from_options(&args.render)?;
    let (data, shape) = read_attribution(args)?;
    let heat = renderer.maps(&data, shape)?;
    match kind {
        OutputKind::Safetensors => {
            let [n, h, w] = heat.shape();
            let map = smoothgrad_autograd::Tensor::from_vec(heat.into_vec(), &[n, h, w])
                .expect("the pipeline returns [N, H, W] maps");
            let mut file = Writer::new();
            file.tensor("map", &map)
                .metadata("pipeline", &format!("{:?}", renderer.pipeline));
            file.write(&args.output)
                .map_err(|e| CliError::failure(e.to_string()))?;
            println!("wrote map {:?} to {}", [n, h, w], args.output.display());
        }
        OutputKind::Png => {
            for path in write_pngs(&args.output, &renderer.pictures(&heat)?)? {
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}

/// The `attribution` tensor as f32 with shape `[N, C, H, W]` (`[N, H, W]` read as `C = 1`).
fn read_attribution(args: &RenderArgs) -> Result<(Vec<f32>, [usize; 4])> {
    let file = io::read_file(&args.attribution)?;
    let tensor = file.get::<f32>(ATTRIBUTION)?;
    let shape = match *tensor.shape() {
        [n, c, h, w] => [n, c, h, w],
        [n, h, w] => [n, 1, h, w],
        ref other => {
            return Err(CliError::input(format!(
                "{}: tensor \"attribution\": expected shape [N, C, H, W] or [N, H, W], found \
                 {other:?}",
                file.source()
            )));
        }
    };
    if shape.contains(&0) {
        return Err(CliError::input(format!(
            "{}: tensor \"attribution\": expected no zero dimension, found {:?}",
            file.source(),
            tensor.shape()
        )));
    }
    Ok((tensor.to_vec(), shape))
}
