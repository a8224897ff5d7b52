//! SmoothGrad of a tiny burn MLP, with burn computing every gradient:
//! `cargo run --manifest-path adapters/Cargo.toml -p smoothgrad-burn --example explain`.
//!
//! Explains two classes of one input at once: the gradient, SmoothGrad over 50 noisy copies, and
//! SmoothGrad's Monte-Carlo standard error, per feature.

use burn_tensor::Tensor;
use smoothgrad::{Gradient, Method, NoiseLevel, Operator, SmoothGrad, Targets};
use smoothgrad_burn::tiny::TinyMlp;
use smoothgrad_burn::{Burn, Cpu};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A burn model: any `Fn(Tensor<B, D>) -> Tensor<B, 2>` on an autodiff backend.
    let mlp = TinyMlp::<Cpu>::new::<f32>(0);
    let model = Burn::new(move |x: Tensor<Cpu, 2>| mlp.forward(x));

    let input = smoothgrad_autograd::Tensor::<f32>::from_vec(
        vec![0.8, -0.3, 0.1, 1.2, -0.9, 0.4],
        &[1, TinyMlp::<Cpu>::INPUTS],
    )?;
    let targets = Targets::Multiple(vec![vec![0, 2]]);

    let mut sg = SmoothGrad {
        samples: 50,
        seed: 7,
        ..SmoothGrad::default()
    };
    sg.noise.level = NoiseLevel::Absolute(0.3);
    let e = sg.explain(&model, &input, &targets, &Operator::Logit)?;
    let g = Gradient.explain(&model, &input, &targets, &Operator::Logit, 1)?;

    // Results are [1, 2, 6]: one row per class.
    for (j, class) in [0, 2].into_iter().enumerate() {
        println!("class {class}:");
        let row = |t: &smoothgrad_autograd::Tensor<f32>| -> String {
            t.data()[j * 6..(j + 1) * 6]
                .iter()
                .map(|v| format!("{v:8.4}"))
                .collect()
        };
        println!("  gradient   {}", row(&g.values));
        println!("  SmoothGrad {}", row(&e.mean));
        println!("  std error  {}", row(&e.std_error));
    }
    Ok(())
}
