//! Where the batch sits in a runtime value: the model's example batch `b0` (the input's first
//! dimension, 1 for a symbolic one) is one factor of one axis, and a graph run with batch `N`
//! replaces that factor by `N`.
//!
//! Convolutional exports keep the batch as axis 0. Attention over sequence-first values moves it
//! (`[L, N, E]` after a transpose), splits it with the heads (`[L, N * H, E / H]`) or merges it
//! with the sequence (`[L * N, E]`); a batch-1 export writes those shapes as constants
//! (`[17, 2, 16]`), so the importer follows the batch through every node: [`Layout`] records the
//! axis and the factor of that axis in front of the batch, and [`reshape_layout`] decides where a
//! reshape puts it.

use std::collections::HashMap;

/// The batch is a factor of axis `axis`: its size is `outer * b0 * inner`, row-major (`outer`
/// indices vary slowest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The axis holding the batch.
    pub axis: usize,
    /// The part of that axis in front of the batch.
    pub outer: usize,
}

impl Default for Layout {
    /// The convolutional layout: the batch leads axis 0.
    fn default() -> Self {
        Layout { axis: 0, outer: 1 }
    }
}

impl Layout {
    /// Whether the batch is an axis of its own (`outer = inner = 1`) in `shape`.
    pub fn separate(self, shape: &[usize], b0: usize) -> bool {
        self.outer == 1 && shape.get(self.axis) == Some(&b0)
    }
}

/// The layout of every runtime value not in the default one, by ONNX value name.
#[derive(Debug)]
pub struct Layouts {
    /// The example batch `b0`: the input's first dimension (1 if symbolic).
    pub batch: usize,
    map: HashMap<String, Layout>,
}

impl Default for Layouts {
    fn default() -> Self {
        Layouts {
            batch: 1,
            map: HashMap::new(),
        }
    }
}

impl Layouts {
    /// The layout of value `name` (the default if none was recorded).
    pub fn get(&self, name: &str) -> Layout {
        self.map.get(name).copied().unwrap_or_default()
    }

    /// Records the layout of value `name`.
    pub fn set(&mut self, name: &str, l: Layout) {
        if l == Layout::default() {
            self.map.remove(name);
        } else {
            self.map.insert(name.to_string(), l);
        }
    }
}

/// Where the batch of `s` (layout `l`) goes when `s` is reshaped to `o` (both for the example
/// batch `b0`); `minus_one` is the target's `-1` entry, if it had one.
///
/// Row-major, the batch stays between the same elements: with `P` elements in front of it, it
/// is a factor of an output axis `j` with `prod(o[..j])` dividing `P` and `o[j]` divisible by
/// `P / prod(o[..j]) * b0`. For `b0 = 1` several axes qualify (`[17, 1, 32] -> [17, 32]` is
/// `[17 N, 32]` or `[17, 32 N]`); the choice, in order: an output axis of its own; the
/// target's `-1` (`[L, -1, D]` of the dynamo exporter; `[1, -1]`, a flatten, is the first
/// case); the front of a non-last axis (`[L, N, E] -> [L, N * H, E / H]`); the back of a
/// non-last axis (`[L, N, H, D] -> [L * N, H * D]`: a last axis is contracted by what follows);
/// the first that qualifies.
///
/// # Errors
/// When no output axis can hold the batch.
pub fn reshape_layout(
    s: &[usize],
    l: Layout,
    o: &[usize],
    b0: usize,
    minus_one: Option<usize>,
) -> Result<Layout, String> {
    let p = s[..l.axis].iter().product::<usize>() * l.outer;
    let mut cands = Vec::new();
    let mut pre = 1usize;
    for (j, &d) in o.iter().enumerate() {
        if pre > 0 && p.is_multiple_of(pre) {
            let outer = p / pre;
            if d > 0 && d % (outer * b0) == 0 {
                cands.push((j, outer, d / (outer * b0)));
            }
        }
        pre *= d;
    }
    let last = o.len().saturating_sub(1);
    let pick = cands
        .iter()
        .find(|c| c.1 == 1 && c.2 == 1)
        .or_else(|| cands.iter().find(|c| Some(c.0) == minus_one))
        .or_else(|| cands.iter().find(|c| c.0 != last && c.1 == 1))
        .or_else(|| cands.iter().find(|c| c.0 != last && c.2 == 1))
        .or_else(|| cands.first());
    match pick {
        Some(&(axis, outer, _)) => Ok(Layout { axis, outer }),
        None => Err(format!(
            "reshaping {s:?} to {o:?} splits the batch (axis {} of the input) across axes",
            l.axis
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(axis: usize, outer: usize) -> Layout {
        Layout { axis, outer }
    }

    #[test]
    fn attention_reshapes_of_a_batch_1_export() {
        // q.view(L, N * H, D) after the sequence-first transpose
        assert_eq!(
            reshape_layout(&[17, 1, 32], at(1, 1), &[17, 2, 16], 1, None),
            Ok(at(1, 1))
        );
        // attn.view(L * N, E): the last axis is contracted by out_proj
        assert_eq!(
            reshape_layout(&[17, 1, 2, 16], at(1, 1), &[17, 32], 1, None),
            Ok(at(0, 17))
        );
        // and back to [L, N, E]
        assert_eq!(
            reshape_layout(&[17, 32], at(0, 17), &[17, 1, 32], 1, None),
            Ok(at(1, 1))
        );
        // [N * H, L, D] -> [N, H, L, D]
        assert_eq!(
            reshape_layout(&[2, 17, 16], at(0, 1), &[1, 2, 17, 16], 1, None),
            Ok(at(0, 1))
        );
        // a dynamic export's -1 decides
        assert_eq!(
            reshape_layout(&[17, 1, 32], at(1, 1), &[17, 2, 16], 1, Some(0)),
            Ok(at(0, 17))
        );
        // unless an axis of its own holds the batch (a flatten to [1, -1])
        assert_eq!(
            reshape_layout(&[1, 16, 1, 1], at(0, 1), &[1, 16], 1, Some(1)),
            Ok(at(0, 1))
        );
    }

    #[test]
    fn a_batch_of_two_is_unambiguous() {
        assert_eq!(
            reshape_layout(&[17, 2, 32], at(1, 1), &[17, 4, 16], 2, None),
            Ok(at(1, 1))
        );
        assert_eq!(
            reshape_layout(&[17, 2, 2, 16], at(1, 1), &[34, 32], 2, None),
            Ok(at(0, 17))
        );
        assert!(reshape_layout(&[3, 2, 5], at(1, 1), &[5, 6], 2, None).is_err());
    }
}
