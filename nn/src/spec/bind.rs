//! Binding: matches a [`LayerSpec`]'s arguments to its layer's PyTorch signature, as Python
//! binds a call (positional then keyword, no argument twice, defaults for the rest), and converts
//! each value to the type the parameter wants.

use std::borrow::Cow;
use std::fmt;

use super::blocks::RESIDUAL;
use super::parser::{Arg, LayerSpec, Value};
use super::suggest::suggest;
use super::Located;

/// Which integers a parameter takes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Range {
    /// `>= 1` (sizes, channels).
    Positive,
    /// `>= 0` (padding, axes).
    NonNegative,
    /// Any (`end_dim`, which counts from the end when negative).
    Any,
}

/// A parameter's type.
#[derive(Clone, Copy, Debug)]
pub(super) enum Ty {
    /// An integer in the range.
    Int(Range),
    /// An integer or a pair `(h,w)`, each in the range (not [`Range::Any`]).
    Pair(Range),
    /// A finite number.
    Float,
    /// `True` or `False`.
    Bool,
    /// A quoted string.
    Str,
    /// `None` or the inner type.
    Opt(&'static Ty),
    /// A positive integer or a tuple of them (LayerNorm's `normalized_shape`).
    Shape,
}

/// A bound argument, converted to its parameter's type.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Bound {
    /// A non-negative integer.
    Size(usize),
    /// Any integer.
    Int(isize),
    /// `[h, w]`; a single integer `n` binds as `[n, n]`.
    Pair([usize; 2]),
    /// A finite number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// `None`.
    None,
    /// A string.
    Str(Cow<'static, str>),
    /// A shape; a single integer `n` binds as `[n]`.
    Shape(Vec<usize>),
}

/// One parameter of a layer's PyTorch signature.
pub(super) struct Param {
    pub name: &'static str,
    ty: Ty,
    /// `None` for a required parameter.
    default: Option<Bound>,
    /// Whether only the default is supported (PyTorch options this crate does not implement).
    only_default: bool,
}

/// A layer's name and PyTorch signature, parameters in PyTorch's positional order.
pub(super) struct Signature {
    pub name: &'static str,
    params: &'static [Param],
}

const fn req(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        default: None,
        only_default: false,
    }
}

const fn opt(name: &'static str, ty: Ty, default: Bound) -> Param {
    Param {
        name,
        ty,
        default: Some(default),
        only_default: false,
    }
}

/// A PyTorch parameter of which only the default is supported.
const fn fixed(name: &'static str, ty: Ty, default: Bound) -> Param {
    Param {
        name,
        ty,
        default: Some(default),
        only_default: true,
    }
}

use Range::{Any, NonNegative, Positive};

const SIZE: Ty = Ty::Int(Positive);
const SIZE_PAIR: Ty = Ty::Pair(Positive);
const PADDING: Ty = Ty::Pair(NonNegative);
const AXIS: Ty = Ty::Int(NonNegative);
const INPLACE: Param = opt("inplace", Ty::Bool, Bound::Bool(false));
const SOFTMAX: &[Param] = &[opt("dim", AXIS, Bound::Size(1))];

/// Every layer a spec may name, with PyTorch's signature for it.
pub(super) const SIGNATURES: &[Signature] = &[
    Signature {
        name: "linear",
        params: &[
            req("in_features", SIZE),
            req("out_features", SIZE),
            opt("bias", Ty::Bool, Bound::Bool(true)),
        ],
    },
    Signature {
        name: "conv2d",
        params: &[
            req("in_channels", SIZE),
            req("out_channels", SIZE),
            req("kernel_size", SIZE_PAIR),
            opt("stride", SIZE_PAIR, Bound::Pair([1, 1])),
            opt("padding", PADDING, Bound::Pair([0, 0])),
            opt("dilation", SIZE_PAIR, Bound::Pair([1, 1])),
            opt("groups", SIZE, Bound::Size(1)),
            opt("bias", Ty::Bool, Bound::Bool(true)),
            fixed("padding_mode", Ty::Str, Bound::Str(Cow::Borrowed("zeros"))),
        ],
    },
    Signature {
        name: "relu",
        params: &[INPLACE],
    },
    Signature {
        name: "leakyrelu",
        params: &[
            opt("negative_slope", Ty::Float, Bound::Float(0.01)),
            INPLACE,
        ],
    },
    Signature {
        name: "sigmoid",
        params: &[],
    },
    Signature {
        name: "tanh",
        params: &[],
    },
    Signature {
        name: "softmax",
        params: SOFTMAX,
    },
    Signature {
        name: "logsoftmax",
        params: SOFTMAX,
    },
    Signature {
        name: "maxpool2d",
        params: &[
            req("kernel_size", SIZE_PAIR),
            opt("stride", Ty::Opt(&SIZE_PAIR), Bound::None),
            opt("padding", PADDING, Bound::Pair([0, 0])),
            fixed("dilation", SIZE_PAIR, Bound::Pair([1, 1])),
            fixed("return_indices", Ty::Bool, Bound::Bool(false)),
            opt("ceil_mode", Ty::Bool, Bound::Bool(false)),
        ],
    },
    Signature {
        name: "avgpool2d",
        params: &[
            req("kernel_size", SIZE_PAIR),
            opt("stride", Ty::Opt(&SIZE_PAIR), Bound::None),
            opt("padding", PADDING, Bound::Pair([0, 0])),
            opt("ceil_mode", Ty::Bool, Bound::Bool(false)),
            opt("count_include_pad", Ty::Bool, Bound::Bool(true)),
            fixed("divisor_override", Ty::Opt(&SIZE), Bound::None),
        ],
    },
    Signature {
        name: "flatten",
        params: &[
            opt("start_dim", AXIS, Bound::Size(1)),
            opt("end_dim", Ty::Int(Any), Bound::Int(-1)),
        ],
    },
    Signature {
        name: "batchnorm2d",
        params: &[
            req("num_features", SIZE),
            opt("eps", Ty::Float, Bound::Float(1e-5)),
            opt("momentum", Ty::Float, Bound::Float(0.1)),
            opt("affine", Ty::Bool, Bound::Bool(true)),
            fixed("track_running_stats", Ty::Bool, Bound::Bool(true)),
        ],
    },
    Signature {
        name: "dropout",
        params: &[opt("p", Ty::Float, Bound::Float(0.5)), INPLACE],
    },
];

mod modern;

/// Every signature: the table above, then the layers of modern classifiers.
fn signatures() -> impl Iterator<Item = &'static Signature> + Clone {
    SIGNATURES.iter().chain(modern::SIGNATURES)
}

/// A layer's arguments after binding: one value per parameter of its signature.
pub(super) struct Args {
    pub sig: &'static Signature,
    values: Vec<Bound>,
}

impl Args {
    fn get(&self, name: &str) -> &Bound {
        let i = self.sig.params.iter().position(|p| p.name == name);
        &self.values[i.unwrap_or_else(|| panic!("{} has no parameter {name}", self.sig.name))]
    }

    /// A non-negative integer parameter.
    pub fn size(&self, name: &str) -> usize {
        match self.get(name) {
            Bound::Size(n) => *n,
            other => panic!("{}.{name} is {other:?}, not a size", self.sig.name),
        }
    }

    /// An integer parameter that may be negative.
    pub fn int(&self, name: &str) -> isize {
        match self.get(name) {
            Bound::Int(n) => *n,
            other => panic!("{}.{name} is {other:?}, not an integer", self.sig.name),
        }
    }

    /// A pair parameter that may be `None`.
    pub fn opt_pair(&self, name: &str) -> Option<[usize; 2]> {
        match self.get(name) {
            Bound::Pair(p) => Some(*p),
            Bound::None => None,
            other => panic!("{}.{name} is {other:?}, not a pair", self.sig.name),
        }
    }

    /// A pair parameter.
    pub fn pair(&self, name: &str) -> [usize; 2] {
        self.opt_pair(name)
            .unwrap_or_else(|| panic!("{}.{name} is None", self.sig.name))
    }

    /// A number parameter.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Bound::Float(x) => *x,
            other => panic!("{}.{name} is {other:?}, not a number", self.sig.name),
        }
    }

    /// A flag parameter.
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            Bound::Bool(b) => *b,
            other => panic!("{}.{name} is {other:?}, not a flag", self.sig.name),
        }
    }
}

/// Binds a layer's arguments to its signature.
///
/// # Errors
/// An unknown layer or keyword, too many positional arguments, an argument given twice, a value
/// of the wrong type, an unsupported non-default value, or a missing required argument.
pub(super) fn bind(layer: &LayerSpec) -> Result<Args, Located> {
    let sig = signature(&layer.name, layer.name_pos)?;
    let at = |pos: usize, message: String| Located::new(pos, format!("{}: {message}", sig.name));
    let mut slots: Vec<Option<Bound>> = vec![None; sig.params.len()];
    for (i, arg) in layer.args.iter().enumerate() {
        let (index, pos) = match &arg.keyword {
            None if i < sig.params.len() => (i, arg.pos),
            None => {
                let given = layer.args.iter().filter(|a| a.keyword.is_none()).count();
                let max = sig.params.len();
                let message = format!(
                    "too many positional arguments (expected at most {max}, found {given})"
                );
                return Err(at(arg.pos, message));
            }
            Some((keyword, pos)) => (keyword_index(sig, keyword).map_err(|m| at(*pos, m))?, *pos),
        };
        if slots[index].is_some() {
            let message = format!("argument \"{}\" given twice", sig.params[index].name);
            return Err(at(pos, message));
        }
        slots[index] = Some(convert(&sig.params[index], arg).map_err(|m| at(arg.pos, m))?);
    }
    let values = sig.params.iter().zip(slots).map(|(param, slot)| {
        slot.or_else(|| param.default.clone()).ok_or_else(|| {
            let message = format!("missing required argument \"{}\"", param.name);
            at(layer.name_pos, message)
        })
    });
    Ok(Args {
        sig,
        values: values.collect::<Result<_, _>>()?,
    })
}

/// Whether `name` (at `pos`) is a layer, or an error suggesting the nearest known one.
pub(super) fn check_layer(name: &str, pos: usize) -> Result<(), Located> {
    signature(name, pos).map(|_| ())
}

/// The signature of layer `name`, or an error suggesting the nearest known layer (or form).
fn signature(name: &str, pos: usize) -> Result<&'static Signature, Located> {
    signatures().find(|s| s.name == name).ok_or_else(|| {
        let names = signatures().map(|s| s.name).chain([RESIDUAL]);
        let hint = match suggest(name, names.clone()) {
            Some(known) => format!("did you mean \"{known}\"?"),
            None => format!("expected one of: {}", names.collect::<Vec<_>>().join(", ")),
        };
        Located::new(
            pos,
            format!("unknown layer \"{name}\" at position {pos}; {hint}"),
        )
    })
}

/// The index of parameter `keyword`, or a message suggesting the nearest one.
fn keyword_index(sig: &Signature, keyword: &str) -> Result<usize, String> {
    let names = sig.params.iter().map(|p| p.name);
    if let Some(i) = names.clone().position(|n| n == keyword) {
        return Ok(i);
    }
    let hint = match suggest(keyword, names.clone()) {
        Some(known) => format!("did you mean \"{known}\"?"),
        None if sig.params.is_empty() => format!("{} takes no arguments", sig.name),
        None => format!(
            "{} takes: {}",
            sig.name,
            names.collect::<Vec<_>>().join(", ")
        ),
    };
    Err(format!("unexpected keyword argument \"{keyword}\"; {hint}"))
}

/// Converts an argument for `param`, checking that a fixed parameter keeps its default.
fn convert(param: &Param, arg: &Arg) -> Result<Bound, String> {
    let bound = param.ty.convert(&arg.value).map_err(|hint| {
        let mut message = format!(
            "argument \"{}\" expects {}, found {}",
            param.name,
            param.ty.describe(),
            arg.value
        );
        if let Some(hint) = hint {
            message = format!("{message} ({hint})");
        }
        message
    })?;
    match &param.default {
        Some(default) if param.only_default && bound != *default => Err(format!(
            "{}={bound} is not supported (only {}={default})",
            param.name, param.name
        )),
        _ => Ok(bound),
    }
}

/// A hint appended to a type error.
type Hint = Option<&'static str>;

impl Ty {
    /// What the type accepts, for error messages.
    fn describe(&self) -> String {
        match self {
            Ty::Int(Positive) => "a positive integer".into(),
            Ty::Int(NonNegative) => "a non-negative integer".into(),
            Ty::Int(Any) => "an integer".into(),
            Ty::Pair(range) => format!("{} or a pair (h,w)", Ty::Int(*range).describe()),
            Ty::Float => "a finite number".into(),
            Ty::Bool => "True or False".into(),
            Ty::Str => "a string".into(),
            Ty::Opt(inner) => format!("None or {}", inner.describe()),
            Ty::Shape => "a positive integer or a tuple of them".into(),
        }
    }

    /// The value as this type, or a hint at what went wrong.
    fn convert(&self, value: &Value) -> Result<Bound, Hint> {
        match (self, value) {
            (Ty::Int(Any), _) => {
                let n = integer(value)?;
                isize::try_from(n).map(Bound::Int).map_err(|_| OUT_OF_RANGE)
            }
            (Ty::Int(range), _) => range.size(value).map(Bound::Size),
            (Ty::Pair(range), Value::Tuple(items)) if items.len() == 2 => Ok(Bound::Pair([
                range.size(&items[0])?,
                range.size(&items[1])?,
            ])),
            (Ty::Pair(range), _) => range
                .size(value)
                .map(|n| Bound::Pair([n, n]))
                .map_err(|hint| string_padding_hint(value).or(hint)),
            (Ty::Float, Value::Number(text)) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Bound::Float(x)),
                _ => Err(None),
            },
            (Ty::Bool, Value::Bool(b)) => Ok(Bound::Bool(*b)),
            (Ty::Str, Value::Str(s)) => Ok(Bound::Str(Cow::Owned(s.clone()))),
            (Ty::Opt(_), Value::None) => Ok(Bound::None),
            (Ty::Opt(inner), _) => inner.convert(value),
            (Ty::Shape, Value::Tuple(items)) if !items.is_empty() => items
                .iter()
                .map(|v| Positive.size(v))
                .collect::<Result<_, _>>()
                .map(Bound::Shape),
            (Ty::Shape, _) => Positive.size(value).map(|n| Bound::Shape(vec![n])),
            _ => Err(None),
        }
    }
}

const OUT_OF_RANGE: Hint = Some("out of range");

/// What to say about PyTorch's string paddings, which this crate does not take.
fn string_padding_hint(value: &Value) -> Hint {
    match value {
        Value::Str(s) if s == "valid" => Some("padding='valid' is padding=0"),
        Value::Str(s) if s == "same" => {
            Some("padding='same' is not supported: give the padding, e.g. 1 for a 3x3 kernel")
        }
        _ => None,
    }
}

impl Range {
    /// The value as a size in this range.
    fn size(self, value: &Value) -> Result<usize, Hint> {
        let n = integer(value)?;
        let min = if matches!(self, Positive) { 1 } else { 0 };
        if n < min {
            let axis = matches!(self, NonNegative);
            return Err(axis.then_some("negative axes are not supported: count from the front"));
        }
        usize::try_from(n).map_err(|_| OUT_OF_RANGE)
    }
}

/// The value as an integer: a number written without `.` or exponent.
fn integer(value: &Value) -> Result<i64, Hint> {
    match value {
        Value::Number(text)
            if text
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
        {
            text.parse().map_err(|_| OUT_OF_RANGE)
        }
        _ => Err(None),
    }
}

impl fmt::Display for Bound {
    /// The value as a spec writes it: `3`, `(3,5)`, `0.01`, `True`, `None`, `"zeros"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Size(n) => write!(f, "{n}"),
            Bound::Int(n) => write!(f, "{n}"),
            Bound::Pair([h, w]) if h == w => write!(f, "{h}"),
            Bound::Pair([h, w]) => write!(f, "({h},{w})"),
            Bound::Float(x) => write!(f, "{x}"),
            Bound::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Bound::None => f.write_str("None"),
            Bound::Str(s) => write!(f, "{s:?}"),
            Bound::Shape(s) if s.len() == 1 => write!(f, "{}", s[0]),
            Bound::Shape(s) => {
                let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
                write!(f, "({})", dims.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_bind_every_signature_default_has_its_type() {
        for sig in signatures() {
            for p in sig.params {
                let ok = match (&p.ty, &p.default) {
                    (_, None) => !p.only_default,
                    (Ty::Int(Any), Some(Bound::Int(_)))
                    | (Ty::Int(_), Some(Bound::Size(_)))
                    | (Ty::Pair(_), Some(Bound::Pair(_)))
                    | (Ty::Opt(_), Some(Bound::None))
                    | (Ty::Float, Some(Bound::Float(_)))
                    | (Ty::Bool, Some(Bound::Bool(_)))
                    | (Ty::Str, Some(Bound::Str(_))) => true,
                    _ => false,
                };
                assert!(ok, "{}.{}", sig.name, p.name);
            }
        }
    }
}
