//! `MultiheadAttention` self-attention (Vaswani et al. 2017), as PyTorch's `nn.MultiheadAttention`
//! called the way torchvision's ViT calls it: `self_attention(x, x, x, need_weights=False)`.
//!
//! With `E` features, `H` heads of `d = E / H` features, `W = in_proj_weight` `[3E, E]` split into
//! `W_q, W_k, W_v` (rows `0..E`, `E..2E`, `2E..3E`) and `b = in_proj_bias` likewise:
//!
//! ```text
//! q = x W_q^T + b_q,  k = x W_k^T + b_k,  v = x W_v^T + b_v              [B, S, E]
//! head j uses features j d .. (j + 1) d:  A_j = softmax_keys(q_j k_j^T / sqrt(d))   [B, S, S]
//! o = concat_j(A_j v_j)                                                   [B, S, E]
//! y = o W_o^T + b_o                                                       (out_proj)
//! ```

use std::fmt;

use rand::Rng;
use smoothgrad_autograd::{Scalar, Tensor, Var};

use super::{shape_error, Linear};
use crate::error::{NnError, Result};
use crate::init;
use crate::module::{Context, Module, StateKind};

/// Multi-head self-attention over `[B, S, E]` (`batch_first`) or `[S, B, E]`; state
/// `in_proj_weight` `[3E, E]`, `in_proj_bias` `[3E]`, `out_proj.weight` `[E, E]`,
/// `out_proj.bias` `[E]` (PyTorch's names). Spec:
/// `multiheadattention(embed_dim, num_heads, bias=True, batch_first=False)` (PyTorch's
/// `dropout`, `add_bias_kv`, `add_zero_attn`, `kdim` and `vdim` only at their defaults).
pub struct MultiheadAttention<T: Scalar = f32> {
    /// The stacked query, key and value projections, `[3E, E]`.
    pub in_proj_weight: Tensor<T>,
    /// The stacked projection biases, `[3E]` (with `bias`).
    pub in_proj_bias: Option<Tensor<T>>,
    /// The output projection, `E -> E`.
    pub out_proj: Linear<T>,
    /// Whether the batch is axis 0 (`[B, S, E]`) rather than axis 1 (`[S, B, E]`).
    pub batch_first: bool,
    num_heads: usize,
}

impl<T: Scalar> MultiheadAttention<T> {
    /// A layer with PyTorch's initialisation: Xavier-uniform `in_proj_weight`, zero biases, the
    /// output projection as a default `Linear`.
    ///
    /// # Errors
    /// [`NnError::Config`] if a size is 0 or `embed_dim` is not divisible by `num_heads`.
    pub fn new(
        embed_dim: usize,
        num_heads: usize,
        bias: bool,
        batch_first: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        if embed_dim == 0 || num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(NnError::Config(format!(
                "multiheadattention: invalid settings embed_dim {embed_dim}, num_heads \
                 {num_heads} (both positive, embed_dim divisible by num_heads)"
            )));
        }
        let e = embed_dim;
        let in_proj_weight = init::xavier_uniform(&[3 * e, e], rng);
        let mut out_proj = Linear::new(e, e, bias, rng);
        out_proj.bias = bias.then(|| Tensor::zeros(&[e]));
        Ok(MultiheadAttention {
            in_proj_weight,
            in_proj_bias: bias.then(|| Tensor::zeros(&[3 * e])),
            out_proj,
            batch_first,
            num_heads,
        })
    }

    /// `E`.
    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.shape()[1]
    }

    /// `H`.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }
}

impl<T: Scalar> Module<T> for MultiheadAttention<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let x = if self.batch_first {
            x
        } else {
            x.transpose(0, 1)
        };
        let [b, s, e] = x.shape()[..] else {
            panic!(
                "multiheadattention: expected a rank-3 input, found {:?}",
                x.shape()
            );
        };
        let (h, d) = (self.num_heads, e / self.num_heads);
        let w = cx.param("in_proj_weight", &self.in_proj_weight);
        let qkv = x.matmul_t(w);
        let qkv = match &self.in_proj_bias {
            Some(bias) => qkv + cx.param("in_proj_bias", bias),
            None => qkv,
        };
        // [B, S, 3E] -> [B, S, 3, H, d] -> [3, B, H, S, d]
        let qkv = qkv.reshape(&[b, s, 3, h, d]).permute(&[2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.narrow(0, i, 1).squeeze(0);
        let (q, k, v) = (part(0), part(1), part(2));
        let scale = T::from_f64_lossy(1.0 / (d as f64).sqrt());
        let attn = q.matmul(k.transpose(2, 3)).mul_scalar(scale).softmax(3);
        let o = attn.matmul(v).permute(&[0, 2, 1, 3]).reshape(&[b, s, e]);
        let y = cx.scoped("out_proj", |cx| self.out_proj.forward(o, cx));
        if self.batch_first {
            y
        } else {
            y.transpose(0, 1)
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let e = self.embed_dim();
        let layout = if self.batch_first { "B, S" } else { "S, B" };
        match input {
            [a, b, last] if *last == e && *a > 0 && *b > 0 => Ok(input.to_vec()),
            _ => Err(shape_error(
                self,
                format!("expected input [{layout}, {e}] with S, B >= 1, found {input:?}"),
            )),
        }
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        f("in_proj_weight", StateKind::Parameter, &self.in_proj_weight);
        if let Some(b) = &self.in_proj_bias {
            f("in_proj_bias", StateKind::Parameter, b);
        }
        self.out_proj
            .visit_state(&mut |name, kind, t| f(&format!("out_proj.{name}"), kind, t));
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        f(
            "in_proj_weight",
            StateKind::Parameter,
            &mut self.in_proj_weight,
        );
        if let Some(b) = &mut self.in_proj_bias {
            f("in_proj_bias", StateKind::Parameter, b);
        }
        self.out_proj
            .visit_state_mut(&mut |name, kind, t| f(&format!("out_proj.{name}"), kind, t));
    }
}

impl<T: Scalar> fmt::Display for MultiheadAttention<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "multiheadattention({},{}",
            self.embed_dim(),
            self.num_heads
        )?;
        if self.in_proj_bias.is_none() {
            write!(f, ",bias=False")?;
        }
        if self.batch_first {
            write!(f, ",batch_first=True")?;
        }
        write!(f, ")")
    }
}
