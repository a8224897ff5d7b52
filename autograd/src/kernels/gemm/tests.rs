use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{sgemm, uses_avx512, KC};

/// How a matrix is laid out in its buffer.
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    ColMajor,
    /// Both strides non-unit, with gaps: `(i, j)` at `offset + i (2 cols + 3) + 2 j`.
    General,
}

/// A strided `rows x cols` matrix in its own buffer, starting `offset` elements in (so the kernel
/// sees unaligned pointers), with NaN in every gap.
#[derive(Clone, Debug)]
struct Mat {
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    offset: usize,
    buf: Vec<f32>,
}

impl Mat {
    fn new(rows: usize, cols: usize, layout: Layout, offset: usize) -> Mat {
        let (rs, cs) = match layout {
            Layout::RowMajor => (cols.max(1), 1),
            Layout::ColMajor => (1, rows.max(1)),
            Layout::General => (2 * cols + 3, 2),
        };
        let len = offset + rows * rs + cols * cs + 1;
        let (rs, cs) = (rs as isize, cs as isize);
        Mat {
            rows,
            cols,
            rs,
            cs,
            offset,
            buf: vec![f32::NAN; len],
        }
    }

    fn idx(&self, i: usize, j: usize) -> usize {
        (self.offset as isize + i as isize * self.rs + j as isize * self.cs) as usize
    }

    fn get(&self, i: usize, j: usize) -> f32 {
        self.buf[self.idx(i, j)]
    }

    fn set(&mut self, i: usize, j: usize, x: f32) {
        let at = self.idx(i, j);
        self.buf[at] = x;
    }

    /// A matrix with entries `f(i, j)`.
    fn from_fn(
        rows: usize,
        cols: usize,
        layout: Layout,
        offset: usize,
        f: impl Fn(usize, usize) -> f32,
    ) -> Mat {
        let mut m = Mat::new(rows, cols, layout, offset);
        for i in 0..rows {
            for j in 0..cols {
                m.set(i, j, f(i, j));
            }
        }
        m
    }

    fn random(rows: usize, cols: usize, layout: Layout, offset: usize, seed: u64) -> Mat {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let vals: Vec<f32> = (0..rows * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
        Mat::from_fn(rows, cols, layout, offset, |i, j| vals[i * cols + j])
    }
}

/// `C <- alpha A B + beta C` through [`sgemm`].
fn run(alpha: f32, a: &Mat, b: &Mat, beta: f32, c: &mut Mat) {
    assert!(a.cols == b.rows && a.rows == c.rows && b.cols == c.cols);
    // SAFETY: each Mat's buffer holds every element its strides address from its offset; C is a
    // distinct buffer.
    unsafe {
        sgemm(
            a.rows,
            a.cols,
            b.cols,
            alpha,
            a.buf.as_ptr().add(a.offset),
            a.rs,
            a.cs,
            b.buf.as_ptr().add(b.offset),
            b.rs,
            b.cs,
            beta,
            c.buf.as_mut_ptr().add(c.offset),
            c.rs,
            c.cs,
        );
    }
}

/// Checks `C` against the `f64` product: `|C - ref| <= (k + 2) eps (|alpha| sum |a||b| + |beta C0|)`.
fn check_against_f64(alpha: f32, a: &Mat, b: &Mat, beta: f32, c0: &Mat, c: &Mat) {
    let eps = f32::EPSILON as f64;
    for i in 0..c.rows {
        for j in 0..c.cols {
            let (mut dot, mut mag) = (0.0f64, 0.0f64);
            for p in 0..a.cols {
                let (x, y) = (a.get(i, p) as f64, b.get(p, j) as f64);
                dot += x * y;
                mag += (x * y).abs();
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                beta as f64 * c0.get(i, j) as f64
            };
            let want = alpha as f64 * dot + old;
            let bound = (a.cols as f64 + 2.0) * eps * (alpha.abs() as f64 * mag + old.abs());
            let got = c.get(i, j) as f64;
            assert!(
                (got - want).abs() <= bound,
                "C[{i},{j}] = {got}, want {want} (bound {bound}) for {}x{}x{}",
                a.rows,
                a.cols,
                b.cols
            );
        }
    }
}

/// The documented sequence of operations for one element, in scalar code: per `KC` block a
/// fused multiply-add chain from 0, then the block's update rule.
fn model(alpha: f32, a: &Mat, b: &Mat, beta: f32, c0: f32, i: usize, j: usize) -> f32 {
    let k = a.cols;
    if k == 0 {
        return if beta == 0.0 { 0.0 } else { beta * c0 };
    }
    let mut c = c0;
    for (block, p0) in (0..k).step_by(KC).enumerate() {
        let mut acc = 0.0f32;
        for p in p0..k.min(p0 + KC) {
            acc = a.get(i, p).mul_add(b.get(p, j), acc);
        }
        let scaled = alpha * acc;
        c = if block > 0 {
            c + scaled
        } else if beta == 0.0 {
            scaled
        } else {
            scaled + beta * c
        };
    }
    c
}

const LAYOUTS: [Layout; 3] = [Layout::RowMajor, Layout::ColMajor, Layout::General];

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::RowMajor),
        Just(Layout::ColMajor),
        Just(Layout::General)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn matches_f64_reference_on_odd_shapes(
        m in 0usize..=70, k in 0usize..=70, n in 0usize..=70,
        la in layout(), lb in layout(), lc in layout(),
        offsets in (0usize..16, 0usize..16, 0usize..16),
        alpha in prop_oneof![Just(1.0f32), Just(-0.5), Just(3.0)],
        beta in prop_oneof![Just(0.0f32), Just(1.0), Just(-0.25)],
        seed in any::<u64>(),
    ) {
        let a = Mat::random(m, k, la, offsets.0, seed);
        let b = Mat::random(k, n, lb, offsets.1, seed ^ 1);
        // With beta == 0, C starts as NaN, which must be ignored.
        let c0 = if beta == 0.0 {
            Mat::from_fn(m, n, lc, offsets.2, |_, _| f32::NAN)
        } else {
            Mat::random(m, n, lc, offsets.2, seed ^ 2)
        };
        let mut c = c0.clone();
        run(alpha, &a, &b, beta, &mut c);
        check_against_f64(alpha, &a, &b, beta, &c0, &c);
        if uses_avx512() {
            for i in 0..m {
                for j in 0..n {
                    let want = model(alpha, &a, &b, beta, c0.get(i, j), i, j);
                    prop_assert_eq!(c.get(i, j).to_bits(), want.to_bits(), "({}, {})", i, j);
                }
            }
        }
    }
}

#[test]
fn gaps_of_a_strided_output_stay_untouched() {
    let (m, k, n) = (13, 5, 33);
    let a = Mat::random(m, k, Layout::RowMajor, 0, 7);
    let b = Mat::random(k, n, Layout::RowMajor, 0, 8);
    for lc in LAYOUTS {
        let mut c = Mat::from_fn(m, n, lc, 3, |_, _| 0.0);
        let before = c.buf.clone();
        run(1.0, &a, &b, 1.0, &mut c);
        let mut live = vec![false; c.buf.len()];
        for i in 0..m {
            for j in 0..n {
                live[c.idx(i, j)] = true;
            }
        }
        for (at, (x, y)) in c.buf.iter().zip(&before).enumerate() {
            if !live[at] {
                assert_eq!(x.to_bits(), y.to_bits(), "gap {at} written for {lc:?}");
            }
        }
    }
}

#[test]
fn k_zero_scales_c_by_beta() {
    let a = Mat::new(3, 0, Layout::RowMajor, 0);
    let b = Mat::new(0, 4, Layout::RowMajor, 0);
    let mut c = Mat::from_fn(3, 4, Layout::General, 1, |i, j| (i * 4 + j) as f32);
    run(2.0, &a, &b, 0.5, &mut c);
    for i in 0..3 {
        for j in 0..4 {
            assert_eq!(c.get(i, j), 0.5 * (i * 4 + j) as f32);
        }
    }
    let mut c = Mat::from_fn(3, 4, Layout::RowMajor, 0, |_, _| f32::NAN);
    run(2.0, &a, &b, 0.0, &mut c);
    assert!((0..3).all(|i| (0..4).all(|j| c.get(i, j) == 0.0)));
}

#[test]
fn exact_small_integer_product() {
    // Integer entries: every partial sum is exact, so any summation order gives the same value.
    let (m, k, n) = (29, 700, 45);
    let a = Mat::from_fn(m, k, Layout::RowMajor, 0, |i, p| {
        ((i * 7 + p * 3) % 5) as f32 - 2.0
    });
    let b = Mat::from_fn(k, n, Layout::ColMajor, 0, |p, j| {
        ((p * 5 + j) % 3) as f32 - 1.0
    });
    let mut c = Mat::from_fn(m, n, Layout::RowMajor, 0, |_, _| 1.0);
    run(1.0, &a, &b, 2.0, &mut c);
    for i in 0..m {
        for j in 0..n {
            let dot: f32 = (0..k).map(|p| a.get(i, p) * b.get(p, j)).sum();
            assert_eq!(c.get(i, j), dot + 2.0, "({i}, {j})");
        }
    }
}

/// The product of a `(m, k, n)` problem, then the same rows and columns inside smaller and larger
/// problems, through other layouts, unaligned pointers and transposed operands: every shared
/// element must be bit-identical. `k` spans three `KC` blocks and `n` crosses an `NC` block.
#[test]
fn shared_elements_are_bit_identical_across_shapes_and_strides() {
    if !uses_avx512() {
        // The fallback, matrixmultiply, makes no such promise.
        return;
    }
    let (m, k, n) = (41, 2 * KC + 37, super::NC + 45);
    let a = Mat::random(m, k, Layout::RowMajor, 0, 11);
    let b = Mat::random(k, n, Layout::RowMajor, 0, 12);
    let c0 = Mat::random(m, n, Layout::RowMajor, 0, 13);
    let mut full = c0.clone();
    run(0.75, &a, &b, 0.5, &mut full);
    // (row range, column range, layouts of A, B, C, pointer offset).
    let cases = [
        (
            (0, m),
            (0, n),
            [Layout::ColMajor, Layout::ColMajor, Layout::ColMajor],
            1,
        ),
        (
            (0, m),
            (0, n),
            [Layout::General, Layout::RowMajor, Layout::General],
            5,
        ),
        (
            (3, 1),
            (7, 1),
            [Layout::RowMajor, Layout::RowMajor, Layout::RowMajor],
            0,
        ),
        (
            (5, 13),
            (17, 40),
            [Layout::RowMajor, Layout::ColMajor, Layout::RowMajor],
            3,
        ),
        (
            (12, 24),
            (0, n),
            [Layout::ColMajor, Layout::RowMajor, Layout::ColMajor],
            0,
        ),
        (
            (40, 1),
            (31, 1000),
            [Layout::General, Layout::General, Layout::RowMajor],
            9,
        ),
        (
            (1, 39),
            (1, 33),
            [Layout::RowMajor, Layout::RowMajor, Layout::General],
            2,
        ),
    ];
    for ((i0, rows), (j0, cols), [la, lb, lc], off) in cases {
        let sa = Mat::from_fn(rows, k, la, off, |i, p| a.get(i0 + i, p));
        let sb = Mat::from_fn(k, cols, lb, off, |p, j| b.get(p, j0 + j));
        let mut sc = Mat::from_fn(rows, cols, lc, off, |i, j| c0.get(i0 + i, j0 + j));
        run(0.75, &sa, &sb, 0.5, &mut sc);
        for i in 0..rows {
            for j in 0..cols {
                let (got, want) = (sc.get(i, j), full.get(i0 + i, j0 + j));
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "({i0}+{i}, {j0}+{j}) {la:?} {lb:?} {lc:?}"
                );
            }
        }
    }
    // Embedded in a larger problem: extra rows of A and columns of B around the original ones.
    let big_a = Mat::from_fn(m + 20, k, Layout::RowMajor, 0, |i, p| {
        if (7..7 + m).contains(&i) {
            a.get(i - 7, p)
        } else {
            0.5
        }
    });
    let big_b = Mat::from_fn(k, n + 9, Layout::ColMajor, 0, |p, j| {
        if j >= 9 {
            b.get(p, j - 9)
        } else {
            -1.0
        }
    });
    let mut big_c = Mat::from_fn(m + 20, n + 9, Layout::RowMajor, 0, |i, j| {
        if (7..7 + m).contains(&i) && j >= 9 {
            c0.get(i - 7, j - 9)
        } else {
            0.0
        }
    });
    run(0.75, &big_a, &big_b, 0.5, &mut big_c);
    for i in 0..m {
        for j in 0..n {
            assert_eq!(
                big_c.get(i + 7, j + 9).to_bits(),
                full.get(i, j).to_bits(),
                "({i}, {j})"
            );
        }
    }
}
