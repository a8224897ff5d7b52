//! `predict`: a model's top classes for each image, with softmax probabilities.
//!
//! The model is cut before a trailing softmax or log-softmax ([`Cut::before_softmax`]) and
//! softmax is applied once here, so a model that ends in softmax is not normalized twice and one
//! that ends in logits gets its probabilities: `p_i = exp(z_i - max z) / sum_j exp(z_j - max z)`.

use smoothgrad::{Cut, Model};

use crate::cli::PredictArgs;
use crate::error::{CliError, Result};
use crate::inputs::targets::{outputs, rows, top_k};
use crate::inputs::{self, Labels};
use crate::preprocess::Preprocess;

/// Runs `predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    let preprocess = Preprocess::from_options(&args.preprocess)?;
    let labels = args.labels.as_deref().map(Labels::read).transpose()?;
    if args.top_k == 0 {
        return Err(CliError::input("--top-k: expected at least 1, found 0"));
    }
    smoothgrad::threads::check(args.threads)?;
    // Read once: the file says how many channels images become, then an ONNX graph is
    // converted for the images' shape.
    let source = inputs::ModelSource::<f32>::open(&args.model, args.arch.as_deref())?;
    let batch = inputs::load_inputs(&args.images, &preprocess, &source)?;
    let model = source.build(Some(batch.tensor.shape()))?;
    let cut = Cut::before_softmax(&*model);
    let shape = batch.tensor.shape().to_vec();
    let mut one = shape.clone();
    one[0] = 1;
    let classes = match cut.output_shape(&one) {
        Ok(out) if out.len() == 2 && out[1] > 0 => out[1],
        Ok(out) => {
            return Err(CliError::input(format!(
                "{}: expected the model to give [N, K] class scores, found outputs {out:?}",
                batch.source
            )))
        }
        Err(e) => {
            return Err(CliError::input(format!(
                "{}: the model does not take inputs of shape {shape:?}: {e}",
                batch.source
            )))
        }
    };
    if let Some(l) = &labels {
        l.check_count(classes)?;
    }
    let scores = smoothgrad::threads::run_in_pool(args.threads, || outputs(&cut, &batch.tensor))
        .map_err(|e| CliError::failure(e.to_string()))?;
    let names: Vec<String> = if inputs::is_single_tensor_file(&args.images) {
        (0..shape[0]).map(|i| format!("input {i}")).collect()
    } else {
        args.images
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    };
    let mut report = String::new();
    for (name, row) in names.iter().zip(rows(&scores)) {
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(CliError::input(format!(
                "{name}: the model's output {j} is not finite ({})",
                row[j]
            )));
        }
        let probabilities = softmax(row);
        report.push_str(&format!("{name}\n"));
        for (rank, class) in top_k(row, args.top_k).into_iter().enumerate() {
            let label = match &labels {
                Some(l) => format!("{} ({class})", l.name(class)),
                None => format!("class {class}"),
            };
            report.push_str(&format!(
                "  {:>2}. {:.4}  {label}\n",
                rank + 1,
                probabilities[class]
            ));
        }
    }
    print!("{report}");
    Ok(())
}

/// Softmax of one row of scores, in f64 after subtracting the maximum.
fn softmax(row: &[f32]) -> Vec<f64> {
    let max = row
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let exps: Vec<f64> = row.iter().map(|&v| (f64::from(v) - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] < 1e-300);
        let p = softmax(&[0.0, (2.0f32).ln()]);
        assert!((p[1] - 2.0 / 3.0).abs() < 1e-7, "{p:?}");
    }
}
