//! The command line, defined with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// SmoothGrad: removing noise by adding noise (Smilkov et al. 2017), in pure Rust.
#[derive(Parser, Debug)]
#[command(name = "smoothgrad", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: the demo).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a CNN on synthetic shapes and show what SmoothGrad does (the default command).
    Demo(DemoArgs),
    /// Explain a model's predictions on inputs.
    Explain(ExplainArgs),
    /// Render attributions as images or processed maps.
    Render(RenderArgs),
    /// Time SmoothGrad on the peer benchmark workloads.
    Bench(BenchArgs),
    /// Describe a model: inputs, outputs, parameters, ops, and the node explained.
    Inspect(InspectArgs),
    /// Score an attributions file: deletion/insertion AUC, max-sensitivity, randomization, and
    /// energy in mask / pointing game with masks; writes JSON.
    Evaluate(EvaluateArgs),
    /// Print a model's top classes, with softmax probabilities, for images.
    Predict(PredictArgs),
}

/// Options of `demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where figures, metrics and the model go.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Seeds of the runs, comma-separated: each trains its own model on its own data and noise,
    /// and the metrics are reported as mean and spread over them (default 0,1,2).
    #[arg(long, alias = "seed", value_delimiter = ',', default_values_t = [0u64, 1, 2])]
    pub seeds: Vec<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// A shorter run (fewer images and epochs, seed 0 only), for tests.
    #[arg(long)]
    pub quick: bool,
    /// Which candidate setup (dataset and model) to run; the README's setup log lists them
    /// (default: the chosen one).
    #[arg(long)]
    pub setup: Option<String>,
    /// SmoothGrad's noise level in percent of each input's range, from 0 to 100 (default: the
    /// chosen setup's level).
    #[arg(long, value_name = "PCT")]
    pub noise: Option<f64>,
    /// Your own model (.onnx, or .safetensors as `explain` takes it) to explain instead of
    /// training one; needs --input.
    #[arg(long, requires = "input")]
    pub model: Option<PathBuf>,
    /// With --model: a folder of images (JPEG/PNG/WebP/BMP/PPM/PGM, searched recursively as
    /// `explain --input DIR` searches it).
    #[arg(long, requires = "model")]
    pub input: Option<PathBuf>,
    /// With --model: how the images become the model's input, as for `explain` (e.g.
    /// `--preprocess imagenet` for photos of any size into a torchvision classifier).
    #[command(flatten)]
    pub preprocess: PreprocessOptions,
}

/// The base attribution methods: what `--base` names, and each is a `--method` of its own.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseMethod {
    /// The plain gradient (saliency).
    Gradient,
    /// Gradient times input.
    GradientXInput,
    /// Integrated gradients.
    IntegratedGradients,
    /// Guided backpropagation.
    GuidedBackprop,
}

/// The SmoothGrad family: statistics of `--base` over noisy copies of the input.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// SmoothGrad: the mean over noisy samples.
    Smoothgrad,
    /// SmoothGrad-squared: the mean of squares.
    SmoothgradSq,
    /// VarGrad: the variance.
    Vargrad,
}

/// What `--method` names: a base method alone, or a SmoothGrad statistic over `--base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodName {
    /// A base method, explained once.
    Base(BaseMethod),
    /// A statistic of the base method over `--samples` noisy copies.
    Smooth(Statistic),
}

impl MethodName {
    /// Every value, in the order `--help` lists them: the base methods, then the family.
    const ALL: [MethodName; 7] = [
        MethodName::Base(BaseMethod::Gradient),
        MethodName::Base(BaseMethod::GradientXInput),
        MethodName::Base(BaseMethod::IntegratedGradients),
        MethodName::Base(BaseMethod::GuidedBackprop),
        MethodName::Smooth(Statistic::Smoothgrad),
        MethodName::Smooth(Statistic::SmoothgradSq),
        MethodName::Smooth(Statistic::Vargrad),
    ];
}

/// The spellings (and help) of the two enums, so `--method` takes either.
impl ValueEnum for MethodName {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self {
            MethodName::Base(b) => b.to_possible_value(),
            MethodName::Smooth(s) => s.to_possible_value(),
        }
    }
}

/// How `--noise` is read.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseMode {
    /// A fraction of each input's range (max - min).
    Relative,
    /// A standard deviation.
    Absolute,
}

/// The score explained.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorName {
    /// The target's logit.
    Logit,
    /// The target's softmax probability.
    Probability,
    /// The target's log-probability.
    LogProbability,
}

/// Options of `explain`.
#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    /// The model: a .safetensors file saved by this project (the spec is in its "arch"
    /// metadata), or weights saved elsewhere (e.g. by PyTorch) together with --arch. Trailing
    /// softmax/log-softmax layers are never explained through: the model is cut before them, so
    /// `--operator logit` explains the logits and `probability`/`log-probability` apply softmax
    /// once, themselves.
    #[arg(long)]
    pub model: PathBuf,
    /// The model's spec (e.g. "conv2d(3,16,3,padding=1), relu, flatten, linear(4096,10)"), for
    /// weights saved without one, e.g. by PyTorch's safetensors.torch.save_file. The weights
    /// must match it, name for name and shape for shape.
    #[arg(long)]
    pub arch: Option<String>,
    /// Inputs: one .safetensors file (tensor "input" f32 `[N,C,H,W]`, optional "target": i64
    /// `[N]` class indices or `[N,K]` one-hot rows, which overrides --target), or one or more
    /// JPEG/PNG/WebP/BMP/PPM/PGM images, batched in the order given, read as torchvision's
    /// loader reads them and preprocessed by the options below (all the same size after them).
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// How images become the model's input.
    #[command(flatten)]
    pub preprocess: PreprocessOptions,
    /// Class names, one per line (ImageNet's 1000 names work as they are): --target may then
    /// name classes, and the count must equal the model's outputs.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Output: .safetensors ("attribution" f32 with the inputs' shape, or `[N,T,...]` for T > 1
    /// targets per input, "input" the preprocessed inputs the attributions are of, "target" i64
    /// `[N]` (or `[N,T]`) the classes explained, and for smoothgrad/smoothgrad-sq/vargrad "std_error", the Monte-Carlo
    /// standard error of the SmoothGrad mean), or .png (rendered with the options below; several
    /// inputs give OUT-0.png, OUT-1.png, ...).
    #[arg(
        long,
        required_unless_present = "output_dir",
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,
    /// The method. smoothgrad, smoothgrad-sq and vargrad are the mean, the mean of squares and
    /// the variance of --base over --samples noisy copies of each input, from one pass.
    #[arg(long, value_enum, default_value_t = MethodName::Smooth(Statistic::Smoothgrad))]
    pub method: MethodName,
    /// The method SmoothGrad smooths (for smoothgrad, smoothgrad-sq and vargrad).
    #[arg(long, value_enum, default_value_t = BaseMethod::Gradient)]
    pub base: BaseMethod,
    /// Noisy samples per input (at least 1).
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Noise level, >= 0 (see --noise-mode); 0 gives the base method itself.
    #[arg(long, default_value_t = 0.15, allow_negative_numbers = true)]
    pub noise: f64,
    /// relative: sigma = noise x (max - min) of each input (the paper's 10-20%); absolute:
    /// sigma = noise.
    #[arg(long, value_enum, default_value_t = NoiseMode::Relative)]
    pub noise_mode: NoiseMode,
    /// Inputs per forward/backward pass (base methods), or noisy samples in flight at once
    /// (SmoothGrad: each wave of this many is split evenly across the threads, so memory does
    /// not grow with --samples or --threads).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Seed of the noise: the result depends on it alone, not on --threads or --batch-size.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The classes to explain for every input: an index >= 0, a class name from --labels,
    /// "predicted" (the arg max of the model's outputs), "top-K" (the K highest outputs), or a
    /// list "3,7" of indices or names (each input explained for each). A "target" tensor in a
    /// .safetensors input overrides it.
    #[arg(long, default_value = "predicted", allow_negative_numbers = true)]
    pub target: String,
    /// The score explained: the target's logit, softmax probability or log-probability.
    #[arg(long, value_enum, default_value_t = OperatorName::Logit)]
    pub operator: OperatorName,
    /// Steps of integrated gradients (midpoint rule, from an all-zero baseline).
    #[arg(long, default_value_t = 50)]
    pub ig_steps: usize,
    /// Explain this node's output instead of the logits (Xplique's `output_layer`): a node of
    /// a graph or ONNX model (`smoothgrad inspect` lists them), or a layer of a Sequential by
    /// name (its index unless named). Its output must be `[N, K]`.
    #[arg(long)]
    pub output_node: Option<String>,
    /// The most memory the run may use, e.g. 4G, 512M (default: what the system has
    /// available: the cgroup's limit or MemAvailable). The memory a request needs is estimated
    /// from the model, the inputs and the settings before any work, and a request that needs
    /// more is refused.
    #[arg(long)]
    pub max_memory: Option<String>,
    /// The floating-point type the whole explanation is computed in: the model's weights, the
    /// inputs, the noise, every gradient. f64 is for accuracy on deep ReLU networks: f32
    /// rounding moves the few ReLU inputs that lie within f32 error of 0 to the other side, and
    /// each unit flipped moves the input gradient by about 1e-3 of its largest value (a
    /// ResNet-50: f32 misses PyTorch's float64 gradient by 5.6e-3, f64 matches it to 4e-7; so
    /// does PyTorch's own f32, by 3e-3 on a Wide ResNet-50). f64 takes about twice the time
    /// and memory. auto (the default) is f64 for the methods that take one gradient per input
    /// (gradient, gradient-x-input, guided-backprop), whose cost is one pass, unless f64 would
    /// not fit in the memory limit, and f32 for SmoothGrad and integrated gradients, whose
    /// average over many passes is limited by its Monte-Carlo or quadrature error long before
    /// f32 rounding. The results are written as f32 either way.
    #[arg(long, value_enum, default_value_t = Precision::Auto)]
    pub precision: Precision,
    /// Datasets (`--output-dir`) and settings the library has (`--tolerance`, ...).
    #[command(flatten)]
    pub dataset: Box<DatasetOptions>,
    /// Rendering options, for a .png output.
    #[command(flatten)]
    pub render: RenderOptions,
}

/// The floating-point type an explanation is computed in.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f64 for a single gradient per input (when it fits in memory), f32 otherwise.
    Auto,
    /// 32-bit floats.
    F32,
    /// 64-bit floats: about twice the time, for results that do not depend on f32 rounding.
    F64,
}

/// What each input's picture in `--output-dir` shows.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pictures {
    /// The heat map alone.
    Map,
    /// The heat map blended over the (preprocessed) input.
    Overlay,
    /// The map and the overlay side by side.
    Both,
    /// No pictures (e.g. inputs that are not images).
    None,
}

/// SmoothGrad's noise distribution.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseDist {
    /// `N(0, sigma^2)`.
    Gaussian,
    /// Uniform with the same standard deviation sigma.
    Uniform,
}

/// The quadrature rule of integrated gradients.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgRule {
    /// Left Riemann sum: alpha = k/m, k = 0..m-1.
    Left,
    /// Right Riemann sum: alpha = k/m, k = 1..m.
    Right,
    /// Midpoint rule: alpha = (k + 1/2)/m (Captum's riemann_middle).
    Midpoint,
    /// Trapezoid rule over alpha = k/(m-1) (Captum's default gausslegendre aside).
    Trapezoid,
}

/// `explain`'s dataset options (`--output-dir` runs) and the library settings it exposes.
#[derive(Args, Debug, Clone)]
pub struct DatasetOptions {
    /// Explain a dataset into this folder: --input then takes files, folders (searched
    /// recursively, sorted by path) and globs ("photos/*.jpg"); inputs stream through in chunks
    /// of --chunk-size. OUT gets one PNG per input (OUT/NAME.png, NAME the input's path below
    /// its folder or glob root) and attributions.safetensors ("attribution", "input", "target",
    /// "std_error", file names in the "files" metadata, sorted by name). An interrupted run
    /// resumes from OUT/.partial when started again with the same settings.
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: inputs explained and committed together (at most this many are
    /// recomputed when a run is interrupted and resumed).
    #[arg(long, default_value_t = 32)]
    pub chunk_size: usize,
    /// With --output-dir: the picture written for each input.
    #[arg(long, value_enum, default_value_t = Pictures::Map)]
    pub pictures: Pictures,
    /// With --output-dir: "I/N" explains only inputs I, I+N, I+2N, ... (0 <= I < N) of the
    /// sorted list, into attributions-shard-I-of-N.safetensors, so N processes cover a dataset
    /// with no coordination (e.g. a Slurm array job with --shard $SLURM_ARRAY_TASK_ID/N).
    #[arg(long)]
    pub shard: Option<String>,
    /// With --output-dir: discard unfinished or finished results in OUT and start over.
    #[arg(long)]
    pub overwrite: bool,
    /// With --output-dir: stop at the first input that cannot be read (default: report it,
    /// skip it, finish the others, and exit with status 2).
    #[arg(long)]
    pub fail_fast: bool,
    /// No progress bar (it is drawn on stderr only when stderr is a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// SmoothGrad: stop an input early, after at least --min-samples samples, once the
    /// relative standard error ||std error|| / ||mean|| falls below this (> 0).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// SmoothGrad: the fewest samples an early stop (--tolerance) may use.
    #[arg(long, default_value_t = 10)]
    pub min_samples: usize,
    /// SmoothGrad: the noise distribution (both have standard deviation sigma).
    #[arg(long, value_enum, default_value_t = NoiseDist::Gaussian)]
    pub noise_dist: NoiseDist,
    /// SmoothGrad: clamp every noisy input to "MIN,MAX" (e.g. "0,1" for images in [0, 1]).
    #[arg(long, allow_hyphen_values = true)]
    pub clamp: Option<String>,
    /// Integrated gradients' baseline: zeros, blur (each input blurred by a Gaussian of
    /// sigma 5 pixels, per channel), a constant (e.g. 0.5), or a file (an image or a
    /// .safetensors "input" of one input's shape, preprocessed as the inputs are).
    #[arg(long, default_value = "zeros", allow_hyphen_values = true)]
    pub ig_baseline: String,
    /// Integrated gradients' quadrature rule.
    #[arg(long, value_enum, default_value_t = IgRule::Midpoint)]
    pub ig_rule: IgRule,
}

/// How attributions become pictures (shared by `explain` and `render`).
#[derive(Args, Debug, Clone)]
pub struct RenderOptions {
    /// A preset pipeline: pair_grayscale, pair_diverging, max_channel, captum_heat_map,
    /// diverging. Cannot be combined with --sign, --reduce or --clip-percentile. Without a
    /// preset, those three build a pipeline whose defaults are pair_grayscale's.
    #[arg(long)]
    pub preset: Option<String>,
    /// Sign handling: abs (default), positive, negative (as a magnitude), signed. Signed maps
    /// are capped symmetrically and scaled to `[-1, 1]`; the others min-max to `[0, 1]`.
    #[arg(long)]
    pub sign: Option<String>,
    /// Channel reduction: sum (default), mean, max, max-abs, l2.
    #[arg(long)]
    pub reduce: Option<String>,
    /// Percentile in `[0, 100]` to cap at (default 99; 100 keeps every value): the upper tail of
    /// non-negative maps, the magnitude of signed ones.
    #[arg(long, allow_negative_numbers = true)]
    pub clip_percentile: Option<f64>,
    /// Colormap: gray, viridis, inferno, jet, bwr (default: gray for maps in `[0, 1]`, bwr for
    /// signed maps).
    #[arg(long)]
    pub colormap: Option<String>,
    /// Images (PNG/PPM/PGM) to blend the heat maps over: one for every map, or one per map in
    /// order. Each must have the maps' height and width.
    #[arg(long, num_args = 1..)]
    pub overlay: Vec<PathBuf>,
    /// Opacity of the heat map over --overlay, in `[0, 1]`.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub alpha: f64,
}

/// Options of `render`.
#[derive(Args, Debug, Clone)]
pub struct RenderArgs {
    /// Attributions: a .safetensors file with "attribution" f32 `[N,C,H,W]` (or `[N,H,W]`, read as
    /// C = 1), as `explain` writes.
    #[arg(long)]
    pub attribution: PathBuf,
    /// Output: .png (pictures; several maps give OUT-0.png, OUT-1.png, ...) or .safetensors
    /// ("map" f32 `[N,H,W]`, the pipeline's output before colouring, unscaled).
    #[arg(long)]
    pub output: PathBuf,
    /// Rendering options.
    #[command(flatten)]
    pub render: RenderOptions,
}

/// The four benchmark workloads (defined in `src/workloads.rs`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// 784-256-256-10 MLP on 1x28x28.
    Mlp,
    /// Two conv layers on 1x28x28.
    Lenet,
    /// Four conv layers on 3x32x32.
    Cifar,
    /// A small VGG on 3x64x64.
    Vgg64,
}

/// Options of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Which workload (or --model).
    #[arg(
        long,
        value_enum,
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    pub workload: Option<Workload>,
    /// Time this model instead of a workload: an .onnx file or the project's .safetensors
    /// weights (with --arch), explained on uniform [0, 1) inputs of --input-shape.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The architecture of --model's safetensors weights, as for `explain`.
    #[arg(long, requires = "model")]
    pub arch: Option<String>,
    /// One input's shape for --model, as C,H,W (or any comma-separated dims).
    #[arg(long, default_value = "3,224,224", requires = "model")]
    pub input_shape: String,
    /// Images explained (one explanation each).
    #[arg(long, default_value_t = 8)]
    pub images: usize,
    /// Noisy samples per explanation.
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Samples per forward/backward pass (default: all samples at once, as the peers).
    #[arg(long)]
    pub batch_size: Option<usize>,
}

/// Options of `inspect`.
#[derive(Args, Debug, Clone)]
pub struct InspectArgs {
    /// The model: an .onnx file, or a .safetensors file saved by this project.
    pub model: PathBuf,
    /// The node `explain --output-node` would explain (default: the logits).
    #[arg(long)]
    pub output_node: Option<String>,
}

/// Options of `evaluate`.
#[derive(Args, Debug, Clone)]
pub struct EvaluateArgs {
    /// The model the attributions explain (as `explain --model`).
    #[arg(long)]
    pub model: PathBuf,
    /// The model's spec, for weights saved without one (as `explain --arch`).
    #[arg(long)]
    pub arch: Option<String>,
    /// The attributions: a .safetensors file `explain` wrote ("attribution", "target", and the
    /// method's settings in its metadata, which max-sensitivity and randomization re-explain
    /// with).
    #[arg(long)]
    pub attributions: PathBuf,
    /// The inputs explained, when the attributions file has no "input" tensor (an `--output`
    /// run): as `explain --input`, in the same order.
    #[arg(long, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Normalization of image --input files (as `explain --normalize`).
    #[arg(long)]
    pub normalize: Option<String>,
    /// Object masks for energy in mask and the pointing game: a .safetensors file ("mask"
    /// `[N, H, W]`, nonzero inside the object), or a folder holding one image per input at the
    /// input's name (pixels > 0.5 inside the object).
    #[arg(long)]
    pub masks: Option<PathBuf>,
    /// The measures, comma-separated: deletion, insertion, sensitivity, randomization,
    /// localization (with --masks).
    #[arg(long, default_value = "deletion,insertion,sensitivity,randomization")]
    pub metrics: String,
    /// Deletion and insertion steps (curve points - 1).
    #[arg(long, default_value_t = 32)]
    pub steps: usize,
    /// Max-sensitivity: the L-infinity radius of the uniform perturbations.
    #[arg(long, default_value_t = 0.05)]
    pub radius: f64,
    /// Max-sensitivity: perturbations per input.
    #[arg(long, default_value_t = 5)]
    pub perturbations: usize,
    /// Seed of the perturbations and of the randomized parameters.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pointing game: a hit within this many pixels of the mask counts.
    #[arg(long, default_value_t = 0.0)]
    pub pointing_tolerance: f64,
    /// Where the JSON report goes (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar (it is drawn on stderr only when stderr is a terminal).
    #[arg(long)]
    pub quiet: bool,
}

// ---- Preprocessing, labels and `predict` (how one file becomes a tensor) ----

/// The layout of image tensors.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[N, C, H, W]` (PyTorch).
    Nchw,
    /// `[N, H, W, C]` (Keras, TensorFlow and ONNX files converted from them).
    Nhwc,
}

/// How image files become a model's input, with torchvision's semantics (shared by `explain`
/// and `predict`).
#[derive(Args, Debug, Clone, Default)]
pub struct PreprocessOptions {
    /// A preset: imagenet (resize 256, center crop 224, `[0, 1]`, ImageNet mean and std) or
    /// inception (resize 342, center crop 299, `[-1, 1]`). Explicit options override its values.
    #[arg(long)]
    pub preprocess: Option<String>,
    /// Resize: N (the shorter side to N, the aspect ratio kept, as torchvision's Resize(N)) or
    /// HxW, bilinear with PIL's antialiasing.
    #[arg(long)]
    pub resize: Option<String>,
    /// Center crop (after --resize): N (square) or HxW; a crop larger than the image is an error.
    #[arg(long)]
    pub center_crop: Option<String>,
    /// The range pixels are scaled to before --normalize: 0,1 (torchvision's ToTensor, the
    /// default), -1,1 (Inception, Keras' "tf" mode) or 0,255 (the raw bytes).
    #[arg(long, allow_hyphen_values = true)]
    pub pixel_range: Option<String>,
    /// (x - mean) / std per channel, as torchvision's Normalize: imagenet, inception (0.5, 0.5),
    /// "mean,std" for every channel, or "m1,m2,m3,s1,s2,s3" (means, then stds). Stds must be > 0.
    #[arg(long)]
    pub normalize: Option<String>,
    /// The tensor layout the model takes (attributions come out in the same layout).
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    /// Rotate and flip images as their EXIF orientation says (torchvision's loader ignores it).
    #[arg(long)]
    pub exif_orientation: bool,
}

/// Options of `predict`.
#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// The model, as for `explain` (a .safetensors or .onnx file).
    #[arg(long)]
    pub model: PathBuf,
    /// The model's spec, for weights saved without one.
    #[arg(long)]
    pub arch: Option<String>,
    /// Images (JPEG/PNG/WebP/BMP/PPM/PGM), or one .safetensors file with an "input" tensor.
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// How images become the model's input.
    #[command(flatten)]
    pub preprocess: PreprocessOptions,
    /// Class names, one per line.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// How many classes to print per image (at least 1).
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}
