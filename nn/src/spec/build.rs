//! Construction: bound arguments to a layer, through the layer's own constructor so its checks
//! apply; groups to nested `Sequential`s and residual forms to [`Residual`]s. Weighted layers
//! draw from the shared random stream, in spec order (depth first: a residual's body, then its
//! `downsample`, then its `after`).

use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Scalar};

use super::bind::{bind, Args};
use super::blocks::{Entry, Item};
use super::limits::{check_elements, config_message};
use super::Located;
use crate::layers::{
    AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, LeakyReLU, Linear, LogSoftmax, MaxPool2d,
    ReLU, Sigmoid, Softmax, Tanh,
};
use crate::module::Module;
use crate::residual::Residual;
use crate::sequential::Sequential;

/// Binds and builds every entry, in order, into a `Sequential` with the entries' names.
///
/// # Errors
/// The first entry whose arguments do not bind or whose settings its layer rejects.
pub(super) fn sequential<T: Scalar>(
    entries: &[Entry],
    rng: &mut ChaCha8Rng,
) -> Result<Sequential<T>, Located> {
    let mut model = Sequential::new();
    for entry in entries {
        let module = build_item(&entry.item, rng)?;
        match &entry.name {
            None => model.push_boxed(module),
            Some((name, pos)) => model
                .push_named(name, module)
                .map_err(|e| Located::new(*pos, config_message(e)))?,
        }
    }
    Ok(model)
}

/// Builds one layer, group or residual block.
pub(super) fn build_item<T: Scalar>(
    item: &Item,
    rng: &mut ChaCha8Rng,
) -> Result<Box<dyn Module<T>>, Located> {
    Ok(match item {
        Item::Layer(layer) => {
            let args = bind(layer)?;
            build(&args, rng).map_err(|m| Located::new(layer.name_pos, m))?
        }
        Item::Group { entries, .. } => Box::new(sequential::<T>(entries, rng)?),
        Item::Residual {
            pos,
            body,
            downsample,
            after,
        } => {
            let body = sequential(body, rng)?;
            let mut block =
                Residual::new(body).map_err(|e| Located::new(*pos, config_message(e)))?;
            if let Some(d) = downsample {
                block = block.with_downsample(build_item(d, rng)?);
            }
            if let Some(a) = after {
                block = block.with_after(build_item(a, rng)?);
            }
            Box::new(block)
        }
    })
}

/// Builds the layer, or says (with the layer's name) why its settings are impossible.
pub(super) fn build<T: Scalar>(
    a: &Args,
    rng: &mut ChaCha8Rng,
) -> Result<Box<dyn Module<T>>, String> {
    let name = a.sig.name;
    let layer: Box<dyn Module<T>> = match name {
        "linear" => {
            let (inputs, outputs) = (a.size("in_features"), a.size("out_features"));
            check_elements(name, &[outputs, inputs])?;
            Box::new(Linear::<T>::new(inputs, outputs, a.flag("bias"), rng))
        }
        "conv2d" => {
            let (inputs, outputs) = (a.size("in_channels"), a.size("out_channels"));
            let kernel = a.pair("kernel_size");
            let options = Conv2dOptions {
                stride: a.pair("stride"),
                padding: a.pair("padding"),
                dilation: a.pair("dilation"),
                groups: a.size("groups"),
            };
            check_elements(
                name,
                &[outputs, inputs / options.groups, kernel[0], kernel[1]],
            )?;
            let conv = Conv2d::<T>::new(inputs, outputs, kernel, options, a.flag("bias"), rng);
            Box::new(conv.map_err(config_message)?)
        }
        "relu" => Box::new(ReLU),
        "leakyrelu" => Box::new(LeakyReLU {
            negative_slope: a.float("negative_slope"),
        }),
        "sigmoid" => Box::new(Sigmoid),
        "tanh" => Box::new(Tanh),
        "softmax" => Box::new(Softmax { dim: a.size("dim") }),
        "logsoftmax" => Box::new(LogSoftmax { dim: a.size("dim") }),
        "maxpool2d" => Box::new(MaxPool2d::new(pool_options(a)).map_err(config_message)?),
        "avgpool2d" => {
            let options = pool_options(a).count_include_pad(a.flag("count_include_pad"));
            Box::new(AvgPool2d::new(options).map_err(config_message)?)
        }
        "flatten" => Box::new(flatten(a)?),
        "batchnorm2d" => {
            let features = a.size("num_features");
            check_elements(name, &[features])?;
            let (eps, momentum) = (a.float("eps"), a.float("momentum"));
            let bn = BatchNorm2d::<T>::new(features, eps, momentum, a.flag("affine"));
            Box::new(bn.map_err(config_message)?)
        }
        "dropout" => Box::new(Dropout::new(a.float("p")).map_err(config_message)?),
        other => super::build_more::build(a, rng)
            .unwrap_or_else(|| unreachable!("layer {other} has a signature but no constructor"))?,
    };
    Ok(layer)
}

/// Pooling options; the stride defaults to the kernel, as in PyTorch.
fn pool_options(a: &Args) -> Pool2dOptions {
    let kernel = a.pair("kernel_size");
    Pool2dOptions::new2(kernel)
        .stride2(a.opt_pair("stride").unwrap_or(kernel))
        .padding2(a.pair("padding"))
        .ceil_mode(a.flag("ceil_mode"))
}

/// A flatten layer, checking what can be checked before seeing a shape.
fn flatten(a: &Args) -> Result<Flatten, String> {
    let (start_dim, end_dim) = (a.size("start_dim"), a.int("end_dim"));
    if usize::try_from(end_dim).is_ok_and(|end| end < start_dim) {
        return Err(format!(
            "flatten: start_dim {start_dim} comes after end_dim {end_dim}"
        ));
    }
    Ok(Flatten { start_dim, end_dim })
}
