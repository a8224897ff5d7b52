//! Spec strings: a [`Sequential`] described in one line, PyTorch's layer and argument names,
//! parsed by [`Sequential::from_spec`] and printed back by `Display`.
//!
//! ```text
//! conv2d(1,16,3,padding=1), relu, maxpool2d(2), flatten, linear(1568,10)
//! conv2d(3, 8, kernel_size=(3, 5), stride=2, bias=False), batchnorm2d(8, eps=1e-3), leakyrelu(0.2)
//! linear(784,256), dropout(p=.25), relu, linear(256,10), logsoftmax(dim=1)
//! ```
//!
//! # Grammar
//!
//! Whitespace between tokens is ignored. In EBNF:
//!
//! ```text
//! spec     = entry , { "," , entry } ;
//! entry    = [ name , ":" ] , item ;           (* a named child: state "name.weight" *)
//! item     = residual | group | layer ;
//! group    = "(" , [ entry , { "," , entry } , [ "," ] ] , ")" ;     (* a nested Sequential *)
//! residual = "residual" , "(" , entry , { "," , entry } ,
//!            { "," , ( "downsample" | "after" ) , "=" , item } , [ "," ] , ")" ;
//! layer    = name , [ "(" , [ arg , { "," , arg } , [ "," ] ] , ")" ] ;
//! arg      = [ name , "=" ] , value ;          (* keyword arguments after positional ones *)
//! value    = scalar | "(" , scalar , { "," , scalar } , [ "," ] , ")" ;   (* (3) is 3 *)
//! scalar   = [ "-" ] , number | "True" | "False" | "true" | "false" | "None" | string ;
//! name     = ( letter | "_" ) , { letter | digit | "_" } ;          (* ASCII *)
//! number   = ( digits , [ "." , [ digits ] ] | "." , digits ) , [ exponent ] ;
//! exponent = ( "e" | "E" ) , [ "+" | "-" ] , digits ;
//! string   = "'" , { char - "'" } , "'" | '"' , { char - '"' } , '"' ;
//! ```
//!
//! # Layers
//!
//! Lowercase PyTorch class names; positional order, keyword names and defaults are PyTorch's
//! (`bind::SIGNATURES` and `bind::modern::SIGNATURES` are the tables). Parameters this crate
//! does not implement are accepted only with their default value, and `inplace` (which does not
//! change results) is ignored.
//!
//! ```text
//! linear(in_features, out_features, bias=True)
//! conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
//!        bias=True, padding_mode='zeros' [default only])
//! relu(inplace=False)                    sigmoid                tanh
//! leakyrelu(negative_slope=0.01, inplace=False)
//! softmax(dim=1)                         logsoftmax(dim=1)
//!     (dim non-negative; PyTorch's default None means 1 for the usual 2-D and 4-D inputs)
//! maxpool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
//!           [default only:] dilation=1, return_indices=False)
//! avgpool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
//!           [default only:] divisor_override=None)
//! flatten(start_dim=1, end_dim=-1)       (start_dim non-negative)
//! batchnorm2d(num_features, eps=1e-05, momentum=0.1, affine=True,
//!             [default only:] track_running_stats=True)
//! dropout(p=0.5, inplace=False)         identity
//! gelu(approximate='none')               (or 'tanh')
//! silu    hardswish    hardsigmoid    relu6          (each with inplace=False)
//! adaptiveavgpool2d(output_size)         (an integer or a pair)
//! layernorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True)
//!     (normalized_shape an integer or a tuple: the trailing axes normalized)
//! layernorm2d(num_channels, eps=1e-06, elementwise_affine=True)
//!     (torchvision's ConvNeXt LayerNorm over the channels of NCHW)
//! multiheadattention(embed_dim, num_heads, bias=True, batch_first=False,
//!                    [default only:] dropout=0.0, add_bias_kv=False, add_zero_attn=False,
//!                    kdim=None, vdim=None)
//! ```
//!
//! Sizes (`kernel_size`, `stride`, `padding`, `dilation`) are an integer or a pair `(h,w)`; a
//! pooling `stride` of `None` is the kernel size. Weights come from PyTorch's default
//! initialisation, drawn layer by layer in spec order from one `ChaCha8Rng::seed_from_u64(seed)`.
//! `Display` prints the canonical form: no spaces inside parentheses, `", "` between layers,
//! defaults left out; it parses back to the same model.
//!
//! # Names, groups and residual blocks
//!
//! A child is named by its index (`0.weight`), as in PyTorch's `nn.Sequential`, unless it is
//! given a name: `conv1: conv2d(3,8,7)` holds `conv1.weight`. Names are identifiers, unique
//! among siblings. A group `(layer, ...)` is a nested `Sequential` (`layer1: (...)` holds
//! `layer1.0.weight`, ...; groups and residual blocks nest at most 64 deep).
//!
//! `residual(body..., downsample=item, after=item)` is a [`crate::Residual`]:
//! `y = after(body(x) + downsample(x))`, the shortcut being the identity without `downsample`
//! and `after` the identity when absent. The body's children are the block's own (named as in
//! torchvision's `BasicBlock`: `conv1.weight`), the shortcut's state is under `downsample.` and
//! `after`'s under `after.`. The body's and the shortcut's output shapes must be equal.
//!
//! ResNet-18, torchvision's `resnet18()`, whose `state_dict()` loads unchanged (the keys, their
//! order and shapes are torchvision's; the tests check a reduced-width one against PyTorch):
//!
//! ```text
//! conv1: conv2d(3,64,7,stride=2,padding=3,bias=False), bn1: batchnorm2d(64), relu: relu,
//! maxpool: maxpool2d(3,stride=2,padding=1),
//! layer1: (
//!   residual(conv1: conv2d(64,64,3,padding=1,bias=False), bn1: batchnorm2d(64), relu,
//!            conv2: conv2d(64,64,3,padding=1,bias=False), bn2: batchnorm2d(64),
//!            after=relu),
//!   residual(conv1: conv2d(64,64,3,padding=1,bias=False), bn1: batchnorm2d(64), relu,
//!            conv2: conv2d(64,64,3,padding=1,bias=False), bn2: batchnorm2d(64),
//!            after=relu)),
//! layer2: (
//!   residual(conv1: conv2d(64,128,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(128), relu,
//!            conv2: conv2d(128,128,3,padding=1,bias=False), bn2: batchnorm2d(128),
//!            downsample=(conv2d(64,128,1,stride=2,bias=False), batchnorm2d(128)),
//!            after=relu),
//!   residual(conv1: conv2d(128,128,3,padding=1,bias=False), bn1: batchnorm2d(128), relu,
//!            conv2: conv2d(128,128,3,padding=1,bias=False), bn2: batchnorm2d(128),
//!            after=relu)),
//! layer3: (
//!   residual(conv1: conv2d(128,256,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(256), relu,
//!            conv2: conv2d(256,256,3,padding=1,bias=False), bn2: batchnorm2d(256),
//!            downsample=(conv2d(128,256,1,stride=2,bias=False), batchnorm2d(256)),
//!            after=relu),
//!   residual(conv1: conv2d(256,256,3,padding=1,bias=False), bn1: batchnorm2d(256), relu,
//!            conv2: conv2d(256,256,3,padding=1,bias=False), bn2: batchnorm2d(256),
//!            after=relu)),
//! layer4: (
//!   residual(conv1: conv2d(256,512,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(512), relu,
//!            conv2: conv2d(512,512,3,padding=1,bias=False), bn2: batchnorm2d(512),
//!            downsample=(conv2d(256,512,1,stride=2,bias=False), batchnorm2d(512)),
//!            after=relu),
//!   residual(conv1: conv2d(512,512,3,padding=1,bias=False), bn1: batchnorm2d(512), relu,
//!            conv2: conv2d(512,512,3,padding=1,bias=False), bn2: batchnorm2d(512),
//!            after=relu)),
//! avgpool: adaptiveavgpool2d(1), flatten, fc: linear(512,1000)
//! ```
//!
//! # Stages
//!
//! [`lexer`] (tokens with byte offsets) -> [`blocks`] (the list of named entries, groups and
//! residual blocks, recursive descent to [`blocks::Entry`]s) and [`parser`] (each layer, to a
//! [`parser::LayerSpec`]; syntax only) -> [`bind`] (each layer's arguments against its PyTorch signature, a declarative
//! table) -> [`build`] (the layer's own constructor). Each stage reports a [`Located`] message,
//! which becomes [`NnError::Spec`] with the spec attached.

mod bind;
mod blocks;
mod build;
mod build_more;
pub(crate) mod describe;
mod lexer;
mod limits;
pub(crate) use limits::{check_elements, with_budget};
mod parser;
mod suggest;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::Scalar;

use crate::error::{NnError, Result};
use crate::sequential::Sequential;

/// A message and the byte offset (on a char boundary, at most the spec's length) it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Located {
    pos: usize,
    message: String,
}

impl Located {
    fn new(pos: usize, message: String) -> Self {
        Located { pos, message }
    }
}

impl<T: Scalar> Sequential<T> {
    /// Parses a spec string, initialising weights from seed 0 (see
    /// [`Sequential::from_spec_seeded`]).
    ///
    /// A spec is one line of layers separated by commas, each a lowercase PyTorch class name with
    /// PyTorch's arguments (positional order, keyword names and defaults):
    /// `linear(in_features, out_features, bias=True)`,
    /// `conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    /// bias=True)`, `relu`, `leakyrelu(negative_slope=0.01)`, `sigmoid`, `tanh`, `softmax(dim=1)`,
    /// `logsoftmax(dim=1)`, `maxpool2d(kernel_size, stride=None, padding=0, ceil_mode=False)`,
    /// `avgpool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)`,
    /// `flatten(start_dim=1, end_dim=-1)`,
    /// `batchnorm2d(num_features, eps=1e-05, momentum=0.1, affine=True)`, `dropout(p=0.5)`,
    /// `identity`, `gelu(approximate='none')`, `silu`, `hardswish`, `hardsigmoid`, `relu6`,
    /// `adaptiveavgpool2d(output_size)`,
    /// `layernorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True)`,
    /// `layernorm2d(num_channels, eps=1e-06, elementwise_affine=True)`,
    /// `multiheadattention(embed_dim, num_heads, bias=True, batch_first=False)`.
    /// Sizes are an integer or a pair `(h,w)`; values are integers, numbers (`1e-5`, `.5`),
    /// `True`/`False`, `None`, tuples and quoted strings. `Display` prints the canonical form
    /// (defaults left out), which parses back to the same model.
    ///
    /// A layer may be named (`conv1: conv2d(3,8,7)`, state `conv1.weight`), layers may be grouped
    /// into a nested `Sequential` (`layer1: (...)`, state `layer1.0.weight`), and
    /// `residual(body..., downsample=(...), after=relu)` is a [`crate::Residual`] block, so a
    /// torchvision ResNet is one spec (see the module documentation of `spec` in the source).
    ///
    /// ```
    /// use smoothgrad_nn::Sequential;
    ///
    /// let model: Sequential = Sequential::from_spec(
    ///     "conv2d(1, 16, kernel_size=3, padding=1), relu(), maxpool2d(2, stride=None), flatten, \
    ///      linear(1568, 10, bias=True)").unwrap();
    /// assert_eq!(model.to_string(),
    ///     "conv2d(1,16,3,padding=1), relu, maxpool2d(2), flatten, linear(1568,10)");
    ///
    /// let err = Sequential::<f32>::from_spec("conv2d(1,16,3), relu, linear(10,bais=False)");
    /// assert_eq!(err.unwrap_err().to_string(), "\
    /// invalid model spec at position 32: linear: unexpected keyword argument \"bais\"; did you mean \"bias\"?
    ///   conv2d(1,16,3), relu, linear(10,bais=False)
    ///                                   ^");
    /// ```
    ///
    /// # Errors
    /// A [`NnError::Spec`] whose position points at the problem and whose message says what was
    /// expected and what was found: a syntax error, an unknown layer or keyword (with the nearest
    /// known name), a missing, repeated or ill-typed argument, or settings the layer rejects.
    pub fn from_spec(spec: &str) -> Result<Self> {
        Self::from_spec_seeded(spec, 0)
    }

    /// Parses a spec string (see [`Sequential::from_spec`]), initialising weights from `seed`.
    ///
    /// The weights are drawn with PyTorch's default initialisation, layer by layer in spec order
    /// (each layer's weight, then its bias), from one
    /// `rand_chacha::ChaCha8Rng::seed_from_u64(seed)`: the same seed gives bit-identical weights
    /// on every platform, and a model's first layers do not change when layers are appended.
    ///
    /// # Errors
    /// A [`NnError::Spec`] pointing at the problem, as [`Sequential::from_spec`].
    pub fn from_spec_seeded(spec: &str, seed: u64) -> Result<Self> {
        let at = |e: Located| NnError::Spec {
            position: e.pos,
            message: e.message,
            spec: spec.to_string(),
        };
        let entries = blocks::parse(spec, &bind::check_layer).map_err(at)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        build::sequential(&entries, &mut rng).map_err(at)
    }
}
