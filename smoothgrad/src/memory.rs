//! Memory: what a request will need, estimated before any work ([`estimate`]), the memory the
//! process may use ([`available`]: the cgroup limit, else `MemAvailable`), and the check of one
//! against the other ([`check`]), so that a request too large for the machine is refused with an
//! error naming the setting, never by an allocation failure halfway through.
//!
//! The estimate, in bytes of `T` (`s` = elements of one sample, `a` = activation elements of
//! one sample: every layer's output, summed through the model, [`activations`]):
//!
//! ```text
//! parameters                         P x size
//! inputs and results                 N x s x size x (2 + 2 x slots)     (+ 16 x s x slots for
//!                                                                       SmoothGrad's running
//!                                                                       mean and variance)
//! passes      workers x rows x (a x TAPE + s x (2 + slots)) x size
//! path        (integrated gradients) 16 bytes x steps x rows of one call
//! ```
//!
//! where `rows` are the samples of one forward/backward pass (the batch size, or integrated
//! gradients' `internal_batch_size` path points), `workers` the passes that run at once (the
//! threads, for SmoothGrad; one for a base method alone), and `TAPE` = 2 copies of every
//! activation on a tape: the value and its gradient.
//!
//! Measured against the peak resident memory of `smoothgrad explain` (`/usr/bin/time -f %M`, 2
//! cores; the estimate read back by bisecting `--max-memory`), the estimate is 0.68x to 1.49x
//! the peak. The two 2-thread SmoothGrad rows of the ONNX fixtures were re-measured after
//! `batch_size` became the samples in flight, split over the threads; the last row was measured
//! before (with 4 samples per thread, now 2). The smallest runs are the furthest below: the
//! program's own few MiB are not estimated.
//!
//! | request | peak | estimate | ratio |
//! | --- | ---: | ---: | ---: |
//! | ResNet-18 (ONNX fixture), 2 inputs 3x32x32, smoothgrad 50 samples, batch 32, 2 threads | 11.7 MiB | 7.9 MiB | 0.68 |
//! | ResNet-18, 8 inputs, 256 samples, batch 128, 1 thread | 20.6 MiB | 29.6 MiB | 1.44 |
//! | MobileNetV3-small (ONNX), 2 inputs, 128 samples, batch 64, 2 threads | 15.9 MiB | 17.3 MiB | 1.09 |
//! | MobileNetV3-small, integrated gradients, 200 steps | 15.0 MiB | 17.3 MiB | 1.15 |
//! | 2-conv CNN (64 channels, 32x32), 8 inputs, 64 samples, batch 64, 2 threads | 116.6 MiB | 165.5 MiB | 1.42 |
//! | the CNN, gradient, batch 8 | 22.5 MiB | 23.3 MiB | 1.03 |
//! | the CNN, smoothgrad of integrated gradients (32 steps), 8 samples, batch 4, 2 threads | 220.7 MiB | 328.0 MiB | 1.49 |

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::{Module, StateKind};

use crate::error::{ExplainError, Result};

/// Copies of each activation a pass keeps: its value and its gradient (the backward rule's
/// temporaries are freed as it goes; measured peaks agree, see the module docs).
pub const TAPE: usize = 2;

/// One request's shape, as far as memory goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Inputs explained (`N`).
    pub inputs: usize,
    /// Elements of one input (`s`).
    pub sample: usize,
    /// Target slots per input (classes explained for each input, usually 1).
    pub slots: usize,
    /// Samples in one forward/backward pass.
    pub rows: usize,
    /// Passes running at once.
    pub workers: usize,
    /// Whether SmoothGrad's running statistics are kept (the SmoothGrad family).
    pub smoothing: bool,
    /// Integrated gradients' steps and the rows of one call, when it is the base method.
    pub path: Option<(usize, usize)>,
}

/// The estimate's parts, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Estimate {
    /// The model's parameters and buffers.
    pub parameters: u64,
    /// The inputs, the results and SmoothGrad's statistics.
    pub data: u64,
    /// The forward/backward passes running at once.
    pub passes: u64,
    /// Integrated gradients' path points.
    pub path: u64,
}

impl Estimate {
    /// The total, in bytes (saturating).
    pub fn total(&self) -> u64 {
        self.parameters
            .saturating_add(self.data)
            .saturating_add(self.passes)
            .saturating_add(self.path)
    }
}

/// Elements of every value the model computes for one sample of shape `input` (with its batch
/// axis of 1): the outputs of its layers, summed through nested chains and graphs.
///
/// A module's children are walked as a chain (each child's input is the previous child's
/// output); a child that rejects that shape (a graph's branch reading an earlier value) counts
/// as large as the largest value seen so far. A module without children counts its output.
///
/// # Errors
/// [`ExplainError::InputRejected`] if the model rejects `input`.
pub fn activations<T: Scalar>(module: &dyn Module<T>, input: &[usize]) -> Result<u64> {
    let out = module
        .output_shape(input)
        .map_err(|e| ExplainError::rejected(Box::new(e), ""))?;
    Ok(walk(module, input, &out))
}

/// [`activations`] of a module known to map `input` to `out`.
fn walk<T: Scalar>(module: &dyn Module<T>, input: &[usize], out: &[usize]) -> u64 {
    let children = module.named_children();
    if children.is_empty() {
        return numel(out);
    }
    let (mut total, mut largest) = (0u64, numel(input).max(numel(out)));
    let mut shape = input.to_vec();
    for (_, child) in children {
        match child.output_shape(&shape) {
            Ok(next) => {
                let inner = walk(child, &shape, &next);
                total = total.saturating_add(inner);
                largest = largest.max(numel(&next));
                shape = next;
            }
            Err(_) => total = total.saturating_add(largest),
        }
    }
    total.max(numel(out))
}

/// The product of `shape`, saturating.
fn numel(shape: &[usize]) -> u64 {
    shape.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}

/// Elements of the module's parameters and buffers.
pub fn parameters<T: Scalar>(module: &dyn Module<T>) -> u64 {
    let mut n = 0u64;
    module.visit_state(&mut |_, _: StateKind, t| n = n.saturating_add(t.numel() as u64));
    n
}

/// The memory `request` needs on `module`, whose input samples have shape `sample` (without the
/// batch axis), in bytes of `T` (formula in the [module docs](self)).
///
/// # Errors
/// [`ExplainError::InputRejected`] if the model rejects the sample's shape.
pub fn estimate<T: Scalar>(
    module: &dyn Module<T>,
    sample: &[usize],
    request: &Request,
) -> Result<Estimate> {
    let mut one = vec![1];
    one.extend_from_slice(sample);
    let a = activations(module, &one)?;
    let size = std::mem::size_of::<T>() as u64;
    let r = request;
    let (n, s, slots) = (r.inputs as u64, r.sample as u64, r.slots as u64);
    let stats = if r.smoothing { 16 * s * slots } else { 0 };
    let per_row = (a.saturating_mul(TAPE as u64)).saturating_add(s * (2 + slots));
    Ok(Estimate {
        parameters: parameters(module).saturating_mul(size),
        data: n
            .saturating_mul(s)
            .saturating_mul(size * (2 + 2 * slots))
            .saturating_add(stats),
        passes: (r.workers as u64)
            .saturating_mul(r.rows as u64)
            .saturating_mul(per_row)
            .saturating_mul(size),
        path: r.path.map_or(0, |(steps, rows)| {
            16u64
                .saturating_mul(steps as u64)
                .saturating_mul(rows as u64)
                .saturating_mul(r.workers as u64)
        }),
    })
}

/// Where a memory limit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Set by the user (`max_memory`).
    User,
    /// The cgroup's `memory.max` (v2) or `memory.limit_in_bytes` (v1), less what is in use.
    Cgroup,
    /// `/proc/meminfo`'s `MemAvailable`.
    MemAvailable,
}

impl Source {
    /// How a message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Source::User => "the memory limit given",
            Source::Cgroup => "the memory left under this process's cgroup limit",
            Source::MemAvailable => "the memory available (MemAvailable)",
        }
    }
}

/// The memory this process may still use, in bytes: the smaller of what its cgroup leaves
/// (v2 `memory.max - memory.current`, v1 `memory.limit_in_bytes - memory.usage_in_bytes`) and
/// the system's `MemAvailable`; `None` if neither can be read (not Linux).
pub fn available() -> Option<(u64, Source)> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let number = |p: &str| read(p).and_then(|s| s.trim().parse::<u64>().ok());
    let cgroup = number("/sys/fs/cgroup/memory.max")
        .map(|max| max.saturating_sub(number("/sys/fs/cgroup/memory.current").unwrap_or(0)))
        .or_else(|| {
            // v1 reports "no limit" as a huge number (a page count near i64::MAX).
            number("/sys/fs/cgroup/memory/memory.limit_in_bytes")
                .filter(|&l| l < 1 << 60)
                .map(|l| {
                    l.saturating_sub(
                        number("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0),
                    )
                })
        });
    let meminfo = read("/proc/meminfo").and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.saturating_mul(1024))
    });
    match (cgroup, meminfo) {
        (Some(c), Some(m)) if c < m => Some((c, Source::Cgroup)),
        (_, Some(m)) => Some((m, Source::MemAvailable)),
        (Some(c), None) => Some((c, Source::Cgroup)),
        (None, None) => None,
    }
}

/// Parses a size: a number of bytes with an optional unit K, M, G or T (powers of 1024; `KB`,
/// `KiB` and lower case alike), e.g. `4G`, `512M`, `1.5G`, `1000000`.
///
/// # Errors
/// [`ExplainError::Parameter`] for setting `max_memory`: not a positive size.
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = || {
        ExplainError::parameter(
            "max_memory",
            format!("expected a size such as 4G, 512M or 1000000 (bytes), found {text:?}"),
        )
    };
    let t = text.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// A byte count for people: `1.5 GiB`, `300 MiB`, `12 KiB`, `100 bytes`.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    UNITS.iter().find(|(_, s)| bytes >= *s).map_or_else(
        || format!("{bytes} bytes"),
        |(u, s)| format!("{:.1} {u}", bytes as f64 / *s as f64),
    )
}

/// Refuses a request that needs more than `limit` bytes, before any work.
///
/// # Errors
/// [`ExplainError::Parameter`] for setting `max_memory`, saying what the request needs (and
/// which part dominates) and what is available.
pub fn check(estimate: &Estimate, limit: u64, source: Source) -> Result<()> {
    let need = estimate.total();
    if need <= limit {
        return Ok(());
    }
    let parts = [
        ("the model's parameters", estimate.parameters),
        ("the inputs and results", estimate.data),
        (
            "the passes running at once (batch size x activations)",
            estimate.passes,
        ),
        (
            "integrated gradients' path (steps x batch size)",
            estimate.path,
        ),
    ];
    let (largest, _) = parts.iter().max_by_key(|(_, b)| *b).expect("four parts");
    Err(ExplainError::parameter(
        "max_memory",
        format!(
            "the request needs about {} (mostly {largest}), more than {} ({}); use a smaller \
             batch size, fewer threads or fewer inputs",
            human(need),
            source.describe(),
            human(limit)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoothgrad_nn::Sequential;

    #[test]
    fn activations_sum_every_layer_output() {
        let m =
            Sequential::<f32>::from_spec("conv2d(1,4,3,padding=1), relu, flatten, linear(64,10)")
                .unwrap();
        // conv 4x4x4 = 64, relu 64, flatten 64, linear 10.
        assert_eq!(activations(&m, &[1, 1, 4, 4]).unwrap(), 64 + 64 + 64 + 10);
        assert_eq!(parameters(&m), 4 * 9 + 4 + 64 * 10 + 10);
        assert!(activations(&m, &[1, 2, 4, 4]).is_err());
    }

    #[test]
    fn the_estimate_follows_the_formula() {
        let m = Sequential::<f32>::from_spec("flatten, linear(16,2)").unwrap();
        let r = Request {
            inputs: 3,
            sample: 16,
            slots: 1,
            rows: 8,
            workers: 2,
            smoothing: true,
            path: Some((50, 64)),
        };
        let e = estimate(&m, &[1, 4, 4], &r).unwrap();
        assert_eq!(e.parameters, (32 + 2) * 4);
        assert_eq!(e.data, 3 * 16 * 4 * 4 + 16 * 16);
        // a = 16 (flatten) + 2 (linear).
        assert_eq!(e.passes, 2 * 8 * (18 * 2 + 16 * 3) * 4);
        assert_eq!(e.path, 16 * 50 * 64 * 2);
        assert_eq!(e.total(), e.parameters + e.data + e.passes + e.path);
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        for bad in ["", "0", "-1G", "4X", "G", "1e400"] {
            let e = parse_size(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    ExplainError::Parameter {
                        setting: "max_memory",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_request_over_the_limit_names_the_setting_and_the_largest_part() {
        let e = Estimate {
            parameters: 1 << 20,
            data: 1 << 20,
            passes: 3 << 30,
            path: 0,
        };
        assert!(check(&e, 4 << 30, Source::User).is_ok());
        let err = check(&e, 1 << 30, Source::User).unwrap_err();
        assert!(matches!(
            err,
            ExplainError::Parameter {
                setting: "max_memory",
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "the request needs about 3.0 GiB (mostly the passes running at once (batch size x \
             activations)), more than the memory limit given (1.0 GiB); use a smaller batch \
             size, fewer threads or fewer inputs"
        );
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(10), "10 bytes");
        assert!(available().is_some_and(|(b, _)| b > 0));
    }
}
