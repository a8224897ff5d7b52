//! The signatures of the layers of modern classifiers (activations, adaptive pooling, layer
//! normalization, attention), PyTorch's, and the argument types only they use.

use std::borrow::Cow;

use super::{fixed, opt, req, Args, Bound, Signature, Ty, INPLACE, SIZE, SIZE_PAIR};

/// The layers of modern classifiers a spec may name.
pub(super) const SIGNATURES: &[Signature] = &[
    Signature {
        name: "identity",
        params: &[],
    },
    Signature {
        name: "gelu",
        params: &[opt(
            "approximate",
            Ty::Str,
            Bound::Str(Cow::Borrowed("none")),
        )],
    },
    Signature {
        name: "silu",
        params: &[INPLACE],
    },
    Signature {
        name: "hardswish",
        params: &[INPLACE],
    },
    Signature {
        name: "hardsigmoid",
        params: &[INPLACE],
    },
    Signature {
        name: "relu6",
        params: &[INPLACE],
    },
    Signature {
        name: "adaptiveavgpool2d",
        params: &[req("output_size", SIZE_PAIR)],
    },
    Signature {
        name: "layernorm",
        params: &[
            req("normalized_shape", Ty::Shape),
            opt("eps", Ty::Float, Bound::Float(1e-5)),
            opt("elementwise_affine", Ty::Bool, Bound::Bool(true)),
            opt("bias", Ty::Bool, Bound::Bool(true)),
        ],
    },
    Signature {
        name: "layernorm2d",
        params: &[
            req("num_channels", SIZE),
            opt("eps", Ty::Float, Bound::Float(1e-6)),
            opt("elementwise_affine", Ty::Bool, Bound::Bool(true)),
        ],
    },
    Signature {
        name: "multiheadattention",
        params: &[
            req("embed_dim", SIZE),
            req("num_heads", SIZE),
            fixed("dropout", Ty::Float, Bound::Float(0.0)),
            opt("bias", Ty::Bool, Bound::Bool(true)),
            fixed("add_bias_kv", Ty::Bool, Bound::Bool(false)),
            fixed("add_zero_attn", Ty::Bool, Bound::Bool(false)),
            fixed("kdim", Ty::Opt(&SIZE), Bound::None),
            fixed("vdim", Ty::Opt(&SIZE), Bound::None),
            opt("batch_first", Ty::Bool, Bound::Bool(false)),
        ],
    },
];

impl Args {
    /// A string parameter.
    pub fn text(&self, name: &str) -> &str {
        match self.get(name) {
            Bound::Str(s) => s,
            other => panic!("{}.{name} is {other:?}, not a string", self.sig.name),
        }
    }

    /// A shape parameter.
    pub fn shape(&self, name: &str) -> &[usize] {
        match self.get(name) {
            Bound::Shape(s) => s,
            other => panic!("{}.{name} is {other:?}, not a shape", self.sig.name),
        }
    }
}
