//! Threads and batch sizes do not change the results.

use super::*;

fn explain_with<T: Scalar>(
    model: &Sequential<T>,
    inputs: &Tensor<T>,
    targets: &Targets,
    threads: Option<usize>,
    batch: usize,
) -> Explanation<T> {
    SmoothGrad {
        threads,
        batch_size: batch,
        seed: 5,
        ..sg(Gradient, 50, NoiseLevel::Relative(0.2))
    }
    .explain(model, inputs, targets, &Operator::Logit)
    .unwrap()
}

#[test]
fn thread_count_does_not_change_results_bitwise() {
    let cnn = relu_cnn::<f32>(1);
    let inputs = Tensor::<f32>::randn_seeded(&[3, 2, 4, 4], 2);
    let targets = Targets::Multiple(vec![vec![0, 3], vec![1, 1], vec![2, 0]]);
    let reference = explain_with(&cnn, &inputs, &targets, Some(1), 7);
    for threads in [Some(1), Some(2), Some(3), None, Some(2), None] {
        assert_bitwise(
            &explain_with(&cnn, &inputs, &targets, threads, 7),
            &reference,
            &format!("f32 cnn, threads {threads:?}"),
        );
    }
    let mlp = relu_mlp::<f64>(2, 6, 10, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 6], 3);
    let targets = Targets::Predicted;
    let reference = explain_with(&mlp, &inputs, &targets, Some(1), 32);
    for threads in [Some(2), Some(3), None, Some(1)] {
        assert_bitwise(
            &explain_with(&mlp, &inputs, &targets, threads, 32),
            &reference,
            &format!("f64 mlp, threads {threads:?}"),
        );
    }
}

#[test]
fn batch_size_does_not_change_results() {
    let cnn = relu_cnn::<f32>(1);
    let inputs = Tensor::<f32>::randn_seeded(&[2, 2, 4, 4], 2);
    let targets = Targets::Classes(vec![0, 3]);
    let reference = explain_with(&cnn, &inputs, &targets, Some(2), 1);
    for batch in [7, 32, 50] {
        assert_close(
            &explain_with(&cnn, &inputs, &targets, Some(2), batch),
            &reference,
            1e-6,
            1e-12,
            &format!("batch {batch}"),
        );
    }
}

/// The design promises a result that depends on the seed alone; per-row gradients do not depend
/// on which other rows share the batch, and statistics are fed in sample order, so batch sizes
/// agree bit for bit.
#[test]
fn batch_size_does_not_change_results_bitwise() {
    let cnn = relu_cnn::<f32>(1);
    let inputs = Tensor::<f32>::randn_seeded(&[2, 2, 4, 4], 2);
    let targets = Targets::Multiple(vec![vec![0, 3], vec![2, 1]]);
    for threads in [Some(1), Some(2)] {
        let reference = explain_with(&cnn, &inputs, &targets, threads, 1);
        for batch in [7, 32, 50] {
            assert_bitwise(
                &explain_with(&cnn, &inputs, &targets, threads, batch),
                &reference,
                &format!("f32 cnn, threads {threads:?}, batch {batch}"),
            );
        }
    }
    let mlp = relu_mlp::<f64>(2, 6, 10, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 6], 3);
    let targets = Targets::Classes(vec![2, 1]);
    let reference = explain_with(&mlp, &inputs, &targets, Some(1), 1);
    for batch in [7, 32, 50] {
        assert_bitwise(
            &explain_with(&mlp, &inputs, &targets, Some(2), batch),
            &reference,
            &format!("f64 mlp, batch {batch}"),
        );
    }
}

#[test]
fn other_base_methods_are_reproducible_across_threads_and_batch_sizes() {
    let cnn = relu_cnn::<f32>(8);
    let inputs = Tensor::<f32>::randn_seeded(&[2, 2, 4, 4], 9);
    let targets = Targets::Classes(vec![1, 2]);
    let ig = IntegratedGradients {
        steps: 8,
        internal_batch_size: 13,
        ..IntegratedGradients::default()
    };
    let run_ig = |threads, batch| {
        SmoothGrad {
            threads,
            batch_size: batch,
            ..sg(ig.clone(), 12, NoiseLevel::Relative(0.1))
        }
        .explain(&cnn, &inputs, &targets, &Operator::Logit)
        .unwrap()
    };
    let reference = run_ig(Some(1), 12);
    for (threads, batch) in [(Some(2), 5), (Some(3), 1), (None, 32)] {
        assert_bitwise(
            &run_ig(threads, batch),
            &reference,
            &format!("IG threads {threads:?} batch {batch}"),
        );
    }
    let run_gb = |threads, batch| {
        SmoothGrad {
            threads,
            batch_size: batch,
            ..sg(GuidedBackprop, 12, NoiseLevel::Relative(0.1))
        }
        .explain(&cnn, &inputs, &targets, &Operator::Probability)
        .unwrap()
    };
    let reference = run_gb(Some(1), 12);
    for (threads, batch) in [(Some(2), 5), (Some(3), 1), (None, 32)] {
        assert_bitwise(
            &run_gb(threads, batch),
            &reference,
            &format!("guided threads {threads:?} batch {batch}"),
        );
    }
}
