//! `bench`: SmoothGrad on the peers' workloads, timed as the peer scripts time themselves.
//!
//! One explanation per image (sigma 0.15 absolute, `samples` noisy samples, the predicted class),
//! a warm-up explanation, then the best of three passes over all images.

use std::time::Instant;

use smoothgrad::{predicted, Gradient, Noise, NoiseLevel, Operator, SmoothGrad, Targets};

use crate::cli::{BenchArgs, Workload};
use crate::error::{CliError, Result};
use crate::workloads::WorkloadDef;

/// The definition of a `--workload`.
fn workload(w: Workload) -> &'static WorkloadDef {
    let name = match w {
        Workload::Mlp => "mlp",
        Workload::Lenet => "lenet",
        Workload::Cifar => "cifar",
        Workload::Vgg64 => "vgg64",
    };
    WorkloadDef::by_name(name).expect("every workload is defined")
}

/// Runs `bench`. The library checks `--samples`, `--batch-size` and the size of the command's
/// own pool (`--threads`); the command checks what only it uses, `--images`.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.images == 0 {
        return Err(CliError::input("--images must be at least 1, found 0"));
    }
    smoothgrad::threads::check(Some(args.threads))?;
    let w = workload(args.workload);
    let model = w.model(0);
    let xs = w.inputs(args.images, 1);
    let k = 10;
    let targets = predicted(&model, &xs, k);
    let sg = SmoothGrad {
        samples: args.samples,
        noise: Noise {
            level: NoiseLevel::Absolute(0.15),
            ..Noise::default()
        },
        batch_size: args.batch_size.unwrap_or(args.samples),
        ..SmoothGrad::new(Gradient)
    };
    // One image per explanation, cut out before timing.
    let rows: Vec<_> = (0..args.images).map(|i| xs.select_rows([i])).collect();
    let explain_one = |i: usize| -> Result<()> {
        let targets = Targets::Classes(vec![targets[i]]);
        sg.explain(&model, &rows[i], &targets, &Operator::Logit)?;
        Ok(())
    };
    // explain() runs inside this pool (threads: None), built once for all the timed runs.
    let timed = smoothgrad::threads::run_in_pool(Some(args.threads), || -> Result<()> {
        explain_one(0)?;
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t0 = Instant::now();
            for i in 0..args.images {
                explain_one(i)?;
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        let rate = args.images as f64 / best;
        let gflops = rate * args.samples as f64 * 2.0 * w.forward_flops() as f64 / 1e9;
        println!(
            "smoothgrad-rs {}: {rate:.2} explanations/s ({} samples), ~{gflops:.1} GFLOP/s effective",
            w.name, args.samples
        );
        Ok(())
    });
    timed.map_err(|e| CliError::failure(e.to_string()))?
}
