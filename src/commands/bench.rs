//! `bench`: SmoothGrad on the peers' workloads (or any model), timed as the peer scripts time
//! themselves.
//!
//! One explanation per image (sigma 0.15 absolute, `samples` noisy samples, the predicted class),
//! a warm-up explanation, then the best of three passes over all images. A workload also reports
//! its effective GFLOP/s (forward plus input gradient, twice the forward FLOPs per sample).

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad::{predicted, Gradient, Model, Noise, NoiseLevel, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::Tensor;

use crate::cli::{BenchArgs, Workload};
use crate::error::{CliError, Result};
use crate::inputs::load_model;
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

/// What is timed: a name for the report line, the model, its inputs and, for a workload, the
/// forward FLOPs of one sample.
struct Job<'a> {
    name: String,
    model: &'a dyn Model<f32>,
    inputs: Tensor<f32>,
    flops: Option<u64>,
}

/// Runs `bench`. The library checks `--samples`, `--batch-size` and the size of the command's
/// own pool (`--threads`); the command checks what only it uses, `--images` and
/// `--input-shape`.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.images == 0 {
        return Err(CliError::input("--images must be at least 1, found 0"));
    }
    smoothgrad::threads::check(Some(args.threads))?;
    match (&args.model, args.workload) {
        (Some(path), _) => {
            let shape = input_shape(&args.input_shape)?;
            let mut dims = vec![args.images];
            dims.extend(&shape);
            let model = load_model(path, args.arch.as_deref(), Some(&dims))?;
            model
                .output_shape(&dims)
                .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let name = path
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            let job = Job {
                name,
                model: &model,
                inputs: Tensor::uniform(&dims, 0.0, 1.0, &mut rng),
                flops: None,
            };
            time(args, &job)
        }
        (None, Some(w)) => {
            let w = workload(w);
            let model = w.model(0);
            let job = Job {
                name: w.name.to_string(),
                model: &model,
                inputs: w.inputs(args.images, 1),
                flops: Some(w.forward_flops()),
            };
            time(args, &job)
        }
        (None, None) => Err(CliError::input("bench needs --workload or --model")),
    }
}

/// `--input-shape`: positive dims separated by commas.
fn input_shape(text: &str) -> Result<Vec<usize>> {
    let dims: Option<Vec<usize>> = text
        .split(',')
        .map(|d| d.trim().parse().ok().filter(|&d: &usize| d > 0))
        .collect();
    dims.filter(|d| !d.is_empty()).ok_or_else(|| {
        CliError::input(format!(
            "--input-shape: expected positive dims separated by commas (e.g. 3,224,224), found {text:?}"
        ))
    })
}

/// Times `job` and prints the report line.
fn time(args: &BenchArgs, job: &Job) -> Result<()> {
    let classes: usize = job
        .model
        .output_shape(job.inputs.shape())
        .map_err(|e| CliError::input(e.to_string()))?[1..]
        .iter()
        .product();
    let targets = predicted(job.model, &job.inputs, classes.max(1));
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
    let rows: Vec<_> = (0..args.images)
        .map(|i| job.inputs.select_rows([i]))
        .collect();
    let explain_one = |i: usize| -> Result<()> {
        let targets = Targets::Classes(vec![targets[i]]);
        sg.explain(job.model, &rows[i], &targets, &Operator::Logit)?;
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
        let effective = job.flops.map_or(String::new(), |f| {
            let gflops = rate * args.samples as f64 * 2.0 * f as f64 / 1e9;
            format!(", ~{gflops:.1} GFLOP/s effective")
        });
        println!(
            "smoothgrad-rs {}: {rate:.2} explanations/s ({} samples){effective}",
            job.name, args.samples
        );
        Ok(())
    });
    timed.map_err(|e| CliError::failure(e.to_string()))?
}
