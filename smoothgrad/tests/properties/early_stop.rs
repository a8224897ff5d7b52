//! Early stopping: fewer samples, the tolerance met, `min_samples` respected.

use super::*;

fn rel_std_error(e: &Explanation<f64>, range: std::ops::Range<usize>) -> f64 {
    let se2: f64 = e.std_error.data()[range.clone()]
        .iter()
        .map(|s| s * s)
        .sum();
    let m2: f64 = e.mean.data()[range].iter().map(|m| m * m).sum();
    (se2 / m2).sqrt()
}

fn early_stop_setup() -> (impl Model<f64>, Tensor<f64>) {
    let (a, b) = random_quadratic(3, 5);
    (quadratic(a, b), Tensor::<f64>::randn_seeded(&[3, 5], 4))
}

#[test]
fn early_stop_uses_fewer_samples_and_meets_the_tolerance() {
    let (model, inputs) = early_stop_setup();
    let (asked, tol) = (5000usize, 0.02);
    let stop = |threads, batch| {
        SmoothGrad {
            tolerance: Some(tol),
            min_samples: 10,
            threads,
            batch_size: batch,
            ..sg(Gradient, asked, NoiseLevel::Absolute(0.5))
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0; 3]),
            &Operator::Logit,
        )
        .unwrap()
    };
    let e = stop(Some(1), 4);
    for n in 0..3 {
        let used = e.samples[n];
        assert!(
            used < asked && used >= 10,
            "input {n}: {used} samples used of {asked}"
        );
        let rse = rel_std_error(&e, n * 5..(n + 1) * 5);
        assert!(
            rse < tol * (1.0 + 1e-9),
            "input {n}: relative std error {rse} at stop, tolerance {tol}"
        );
        // The stop is the first sample count that meets the tolerance: one sample fewer (the same
        // first `used - 1` draws, since the noise streams are per sample) does not.
        let before = sg(Gradient, used - 1, NoiseLevel::Absolute(0.5))
            .explain(
                &model,
                &inputs,
                &Targets::Classes(vec![0; 3]),
                &Operator::Logit,
            )
            .unwrap();
        if used > 10 {
            let rse = rel_std_error(&before, n * 5..(n + 1) * 5);
            assert!(
                rse >= tol * (1.0 - 1e-9),
                "input {n}: already {rse} < {tol} at {} samples",
                used - 1
            );
        }
        // And the early-stopped statistics are those of a plain run with that many samples.
        let same = sg(Gradient, used, NoiseLevel::Absolute(0.5))
            .explain(
                &model,
                &inputs,
                &Targets::Classes(vec![0; 3]),
                &Operator::Logit,
            )
            .unwrap();
        let at = n * 5..(n + 1) * 5;
        assert_eq!(
            bits(&same.mean)[at.clone()],
            bits(&e.mean)[at.clone()],
            "input {n}: mean"
        );
        assert_eq!(
            bits(&same.variance)[at.clone()],
            bits(&e.variance)[at],
            "input {n}: variance"
        );
    }
    assert!(
        e.samples.iter().all(|&s| s > 10),
        "a real stop, not the minimum: {:?}",
        e.samples
    );
    eprintln!("early stop at {:?} of {asked} samples", e.samples);
    for (threads, batch) in [(Some(2), 4), (Some(1), 16), (Some(2), 16), (None, 7)] {
        assert_bitwise(
            &stop(threads, batch),
            &e,
            &format!("early stop, threads {threads:?} batch {batch}"),
        );
    }
}

#[test]
fn early_stop_respects_min_samples_and_waits_for_every_class() {
    let (model, inputs) = early_stop_setup();
    // A huge tolerance is met at once: the stop comes at min_samples (at least 2).
    for (min, expect) in [(0usize, 2usize), (1, 2), (25, 25)] {
        let e = SmoothGrad {
            tolerance: Some(1e6),
            min_samples: min,
            ..sg(Gradient, 100, NoiseLevel::Absolute(0.5))
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0; 3]),
            &Operator::Logit,
        )
        .unwrap();
        assert_eq!(e.samples, vec![expect; 3], "min_samples {min}");
    }
    // With several classes, the stop waits until every class meets the tolerance.
    let mlp = relu_mlp::<f64>(12, 5, 8, 3);
    let x = Tensor::<f64>::randn_seeded(&[1, 5], 13);
    let run = |targets: Targets| {
        SmoothGrad {
            tolerance: Some(0.05),
            ..sg(Gradient, 4000, NoiseLevel::Relative(0.3))
        }
        .explain(&mlp, &x, &targets, &Operator::Logit)
        .unwrap()
        .samples[0]
    };
    let (a, b, both) = (
        run(Targets::Classes(vec![0])),
        run(Targets::Classes(vec![2])),
        run(Targets::Multiple(vec![vec![0, 2]])),
    );
    assert_eq!(both, a.max(b), "classes alone stop at {a} and {b}");
}
