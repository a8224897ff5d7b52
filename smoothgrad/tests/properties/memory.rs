//! Peak memory does not grow with the number of samples.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

// A counting allocator: current and peak live bytes, for the memory test
// below. It only adds two relaxed atomic operations per allocation.

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// The counting allocator sees every thread of this test binary, and the harness runs tests in
// parallel, so the measurement runs in a child process that executes only `peak_memory_probe`
// (which does nothing unless the environment variable below is set).

const PROBE_ENV: &str = "SMOOTHGRAD_PEAK_MEMORY_PROBE";

/// Strict alternation of the two chunks of a wave, so that the memory trace of a 2-thread run is
/// the same in every wave and every run, whatever the scheduling.
///
/// Without it the peak with 2 threads depends on how the two chunks of a wave happen to overlap:
/// a fresh thread pool makes overlap unlikely in the first wave, so a run with 2 waves (50
/// samples) often shows much less than a run with 63 (2000 samples), and even with the chunks in
/// step layer by layer, which thread frees its buffers first within a layer still moves the peak.
///
/// Each chunk meets at the input and after every layer, in the forward and in the backward pass
/// ([`Meet`]). The first meeting assigns roles 0 and 1 by arrival; from then on the chunks take
/// turns: role 0 runs one segment (from one meeting to the next) while role 1 waits, then role 1
/// runs the same segment while role 0 waits, and so on. Both tapes are alive throughout, and the
/// interleaving, hence the peak, is fixed. (Timeouts only guard against a hang if the engine ever
/// schedules its chunks differently; the test would then measure an unsynchronised run.)
struct Turns {
    state: std::sync::Mutex<TurnState>,
    cv: std::sync::Condvar,
    /// Meetings per chunk: one per [`Meet`] in the forward pass and one in the backward pass.
    meetings: usize,
}

#[derive(Default)]
struct TurnState {
    arrivals: u64,
    turn: u64,
}

impl Turns {
    fn wait_until(
        &self,
        s: std::sync::MutexGuard<'_, TurnState>,
        ready: impl Fn(&TurnState) -> bool,
    ) {
        let _ = self
            .cv
            .wait_timeout_while(s, std::time::Duration::from_secs(2), |s| !ready(s))
            .unwrap();
    }

    /// Called at every meeting of a chunk; `chunk` counts its meetings and holds its role.
    fn meet(&self, chunk: &Chunk) {
        let call = chunk.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut s = self.state.lock().unwrap();
        if call == 1 {
            let role = (s.arrivals % 2) as usize;
            s.arrivals += 1;
            chunk.role.store(role, Ordering::SeqCst);
            if role == 0 {
                self.wait_until(s, |s| s.arrivals % 2 == 0);
            } else {
                s.turn += s.turn % 2; // even: role 0 goes first
                self.cv.notify_all();
                self.wait_until(s, |s| s.turn % 2 == 1);
            }
            return;
        }
        s.turn += 1;
        self.cv.notify_all();
        if call < self.meetings {
            let role = chunk.role.load(Ordering::SeqCst) as u64;
            self.wait_until(s, |s| s.turn % 2 == role);
        }
    }
}

/// One chunk's meetings so far and its role.
struct Chunk {
    calls: AtomicUsize,
    role: AtomicUsize,
}

/// The identity, meeting the other chunk in its forward and in its backward rule.
struct Meet(std::sync::Arc<Turns>, std::sync::Arc<Chunk>);

impl smoothgrad_autograd::CustomOp<f32> for Meet {
    fn name(&self) -> &str {
        "meet"
    }

    fn forward(&self, inputs: &[&Tensor<f32>]) -> Tensor<f32> {
        self.0.meet(&self.1);
        inputs[0].clone()
    }

    fn backward(
        &self,
        _: &[&Tensor<f32>],
        _: &Tensor<f32>,
        dy: &Tensor<f32>,
    ) -> Vec<Option<Tensor<f32>>> {
        self.0.meet(&self.1);
        vec![Some(dy.clone())]
    }
}

/// The CNN, with a [`Meet`] on the input and after every layer when `turns` is set.
struct SyncedCnn {
    cnn: Sequential<f32>,
    turns: Option<std::sync::Arc<Turns>>,
}

impl Model<f32> for SyncedCnn {
    fn forward<'t>(&self, x: Var<'t, f32>) -> Var<'t, f32> {
        let Some(turns) = &self.turns else {
            return Model::forward(&self.cnn, x);
        };
        let chunk = std::sync::Arc::new(Chunk {
            calls: AtomicUsize::new(0),
            role: AtomicUsize::new(0),
        });
        let meet = |h: Var<'t, f32>| x.tape().custom(Meet(turns.clone(), chunk.clone()), &[h]);
        let mut cx = smoothgrad_nn::Context::inference(x.tape());
        (0..self.cnn.len()).fold(meet(x), |h, i| {
            meet(self.cnn.forward_range(h, &mut cx, i..i + 1))
        })
    }

    fn output_shape(
        &self,
        input: &[usize],
    ) -> Result<Vec<usize>, Box<dyn std::error::Error + Send + Sync>> {
        Model::output_shape(&self.cnn, input)
    }
}

/// The threads of this process (Linux), or `None` where `/proc` is not available.
fn live_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

static PROBE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Waits until the worker threads of the previous `explain`'s pool have exited: their last frees
/// would otherwise land inside the next measurement and lower its peak below its baseline.
fn settle() {
    let start = std::time::Instant::now();
    match live_threads() {
        Some(_) => {
            while live_threads().unwrap() > PROBE_THREADS.load(Ordering::SeqCst)
                && start.elapsed() < std::time::Duration::from_secs(5)
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        None => std::thread::sleep(std::time::Duration::from_millis(50)),
    }
}

fn measure_peak(threads: usize, samples: usize) -> usize {
    let mut r = rng(0);
    let cnn: Sequential<f32> = Sequential::new()
        .with(conv3x3(1, 4, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::MaxPool2d::new(Pool2dOptions::new(2)).unwrap())
        .with(smoothgrad_nn::Flatten::default())
        .with(smoothgrad_nn::Linear::new(4 * 6 * 6, 10, true, &mut r));
    // With 2 threads and batch 16 every wave has exactly two chunks (16 + 16, then 9 + 9 for 50
    // samples or 8 + 8 for 2000), so the rendezvous always has its two parties.
    let meetings = 2 * (cnn.len() + 1);
    let turns = (threads == 2).then(|| {
        std::sync::Arc::new(Turns {
            state: Default::default(),
            cv: std::sync::Condvar::new(),
            meetings,
        })
    });
    let model = SyncedCnn { cnn, turns };
    let inputs = Tensor::<f32>::randn_seeded(&[1, 1, 12, 12], 1);
    let explainer = SmoothGrad {
        samples,
        batch_size: 16,
        threads: Some(threads),
        ..SmoothGrad::default()
    };
    settle();
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let e = explainer
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![3]),
            &Operator::Logit,
        )
        .unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - base;
    assert_eq!(e.samples, vec![samples]);
    drop(e);
    drop(model);
    peak
}

#[test]
fn peak_memory_probe() {
    if std::env::var_os(PROBE_ENV).is_none() {
        return;
    }
    PROBE_THREADS.store(live_threads().unwrap_or(0), Ordering::SeqCst);
    for threads in [1usize, 2] {
        measure_peak(threads, 50); // warm-up: lazily initialised globals
        for samples in [50usize, 2000] {
            // The largest of three runs: with 2 threads the overlap of the two chunks varies.
            let peak = (0..3)
                .map(|_| measure_peak(threads, samples))
                .max()
                .unwrap();
            println!("PEAK threads={threads} samples={samples} bytes={peak}");
        }
    }
    // Sensitivity: keeping one attribution per sample would cost 2000 x 144 x 4 bytes (1.1 MB).
    // A base method over 2000 *inputs* must keep its output, and the allocator must see it.
    let mut r = rng(0);
    let cnn: Sequential<f32> = Sequential::new()
        .with(conv3x3(1, 4, &mut r))
        .with(smoothgrad_nn::Flatten::default())
        .with(smoothgrad_nn::Linear::new(4 * 12 * 12, 10, true, &mut r));
    for n in [50usize, 2000] {
        let inputs = Tensor::<f32>::randn_seeded(&[n, 1, 12, 12], 1);
        let base = CURRENT.load(Ordering::SeqCst);
        PEAK.store(base, Ordering::SeqCst);
        let a = Gradient
            .explain(
                &cnn,
                &inputs,
                &Targets::Classes(vec![0; n]),
                &Operator::Logit,
                16,
            )
            .unwrap();
        println!(
            "GROWTH inputs={n} bytes={}",
            PEAK.load(Ordering::SeqCst) - base
        );
        drop(a);
    }
}

/// The criterion: peak memory with 2000 samples is within 1.25x of that with 50, at the
/// same batch size (16), for 1 and 2 threads, on a small CNN.
#[test]
fn peak_memory_does_not_grow_with_the_sample_count() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "memory::peak_memory_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE_ENV, "1")
        .output()
        .expect("re-run this test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "probe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut peaks = std::collections::HashMap::new();
    // The harness may print `test peak_memory_probe ... ` before the first line.
    for line in stdout
        .lines()
        .filter_map(|l| l.find("PEAK ").map(|at| &l[at + 5..]))
    {
        let field = |k: &str| -> usize {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(k))
                .unwrap()
                .parse()
                .unwrap()
        };
        peaks.insert((field("threads="), field("samples=")), field("bytes="));
    }
    assert_eq!(peaks.len(), 4, "probe output:\n{stdout}");
    let growth: Vec<usize> = stdout
        .lines()
        .filter_map(|l| l.find("GROWTH ").map(|at| &l[at..]))
        .map(|l| l.rsplit("bytes=").next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(growth.len(), 2, "probe output:\n{stdout}");
    assert!(
        growth[1] > growth[0] + 1_000_000,
        "the measurement must see O(n) growth: {growth:?}"
    );
    for threads in [1, 2] {
        let (small, large) = (peaks[&(threads, 50)], peaks[&(threads, 2000)]);
        let ratio = large as f64 / small as f64;
        eprintln!("threads {threads}: peak {small} B at 50 samples, {large} B at 2000 samples, ratio {ratio:.3}");
        assert!(
            small > 10_000,
            "the allocator must see the work ({small} bytes)"
        );
        assert!(ratio <= 1.25, "threads {threads}: peak {large} B with 2000 samples vs {small} B with 50 (ratio {ratio:.3})");
    }
}
