//! SmoothGrad of a tiny candle CNN, with candle computing every gradient:
//! `cargo run --manifest-path adapters/Cargo.toml -p smoothgrad-candle --example explain`.
//!
//! The image is a bright 2x2 square on a dark 6x6 background; the map shows which pixels move the
//! predicted class's logit, averaged over 50 noisy copies (SmoothGrad) next to the plain
//! gradient.

use smoothgrad::{predicted, Gradient, Method, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::Tensor;
use smoothgrad_candle::tiny::TinyCnn;
use smoothgrad_candle::Candle;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A candle model: any `Fn(&candle_core::Tensor) -> candle_core::Result<Tensor>`.
    let cnn = TinyCnn::new::<f32>(0)?;
    let model = Candle::new(move |x: &candle_core::Tensor| cnn.forward(x));

    let image = Tensor::<f32>::from_fn(&[1, 1, 6, 6], |i| {
        let (r, c) = (i / 6, i % 6);
        if (2..4).contains(&r) && (1..3).contains(&c) {
            1.0
        } else {
            0.0
        }
    });
    let class = predicted(&model, &image, TinyCnn::CLASSES)[0];
    let targets = Targets::Classes(vec![class]);

    let sg = SmoothGrad {
        samples: 50,
        seed: 7,
        ..SmoothGrad::default()
    };
    let e = sg.explain(&model, &image, &targets, &Operator::Logit)?;
    let g = Gradient.explain(&model, &image, &targets, &Operator::Logit, 1)?;

    println!(
        "predicted class {class}; |attribution| per pixel, SmoothGrad (50 samples) | gradient"
    );
    for r in 0..6 {
        let row = |t: &Tensor<f32>| -> String {
            (0..6)
                .map(|c| format!("{:6.3}", t.data()[r * 6 + c].abs()))
                .collect()
        };
        println!("{} | {}", row(&e.mean), row(&g.values));
    }
    let se = e.std_error.data().iter().fold(0f32, |m, v| m.max(*v));
    println!("largest Monte-Carlo standard error: {se:.4}");
    Ok(())
}
