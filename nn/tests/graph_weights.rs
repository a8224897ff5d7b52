//! Saving and loading models with their structure: a `Sequential` (metadata `arch`) and a graph
//! (metadata `graph`, its description) come back as `Box<dyn Module>` with the same outputs bit
//! for bit; corrupt descriptions and structure-less models give clear errors.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::io::{TensorFile, Writer};
use smoothgrad_autograd::{Conv2dOptions, Tape, Tensor};
use smoothgrad_nn::weights;
use smoothgrad_nn::{
    BatchNorm2d, Context, Conv2d, Flatten, Graph, GraphBuilder, Linear, Module, NnError, ReLU,
    Sequential, Softmax, StateKind, Structure, TensorOp,
};

/// A fresh, empty directory for one test's files.
fn scratch(test: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("graph-weights-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every stored tensor replaced by seeded random values (so BatchNorm's statistics matter too),
/// with the running variances kept positive.
fn scramble<M: Module<f64> + ?Sized>(model: &mut M, seed: u64) {
    let mut k = 0;
    model.visit_state_mut(&mut |name, _, t| {
        k += 1;
        let r = Tensor::<f64>::randn_seeded(t.shape(), seed + k);
        *t = if name.ends_with("running_var") || name.ends_with("num_batches_tracked") {
            r.map(|v| v.abs() + 0.5)
        } else {
            r
        };
    });
}

/// A residual block with a concat: `conv -> bn -> relu -> (+ x) -> concat(., x) -> head ->
/// softmax`, the head a `Sequential` (flatten, linear), as a graph.
fn block(seed: u64) -> Graph<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let same = Conv2dOptions::default().padding(1);
    let mut g = GraphBuilder::<f64>::new();
    let x = g.input();
    let h = g.module(
        "layer1.0.conv1",
        Conv2d::new(2, 2, [3, 3], same, false, &mut rng).unwrap(),
        x,
    );
    let h = g.module(
        "layer1.0.bn1",
        BatchNorm2d::new(2, 1e-5, 0.1, true).unwrap(),
        h,
    );
    let h = g.module("layer1.0.relu", ReLU, h);
    let s = g.add("layer1.0.add", h, x);
    let c = g.op("cat", TensorOp::Concat { axis: 1 }, &[s, x]);
    let head =
        Sequential::new()
            .with(Flatten::default())
            .with(Linear::new(4 * 9, 3, true, &mut rng));
    let y = g.module("head", head, c);
    let p = g.module("softmax", Softmax::default(), y);
    let mut graph = g.finish(p).unwrap();
    scramble(&mut graph, seed);
    graph.set_training(false);
    graph
}

/// The model's outputs on `x` in evaluation mode.
fn outputs(model: &dyn Module<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    let y = model.forward(tape.constant(x.clone()), &mut Context::inference(&tape));
    y.value()
}

/// The model's logits on `x`.
fn logits(model: &dyn Module<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    let y = model.forward_logits(tape.constant(x.clone()), &mut Context::inference(&tape));
    y.value()
}

fn state(model: &dyn Module<f64>) -> Vec<(String, StateKind, Tensor<f64>)> {
    let mut out = Vec::new();
    model.visit_state(&mut |n, k, t| out.push((n.to_string(), k, t.clone())));
    out
}

#[test]
fn a_graph_with_a_skip_and_a_concat_round_trips_bit_for_bit() {
    let graph = block(1);
    let x = Tensor::<f64>::randn_seeded(&[2, 2, 3, 3], 2);
    let bytes = weights::to_bytes(&graph).unwrap();
    let file = TensorFile::from_bytes(bytes.clone()).unwrap();
    assert_eq!(
        file.metadata().keys().collect::<Vec<_>>(),
        ["format", "graph"]
    );
    assert_eq!(
        file.metadata()["graph"],
        "input \"input\"\n\
         module \"layer1.0.conv1\" (\"input\") conv2d(2,2,3,padding=1,bias=False)\n\
         module \"layer1.0.bn1\" (\"layer1.0.conv1\") batchnorm2d(2)\n\
         module \"layer1.0.relu\" (\"layer1.0.bn1\") relu\n\
         op \"layer1.0.add\" (\"layer1.0.relu\", \"input\") add\n\
         op \"cat\" (\"layer1.0.add\", \"input\") concat(axis=1)\n\
         sequential \"head\" (\"cat\") flatten, linear(36,3)\n\
         module \"softmax\" (\"head\") softmax(dim=1)\n\
         output \"softmax\""
    );

    let mut loaded: Box<dyn Module<f64>> = weights::load_bytes(&bytes).unwrap();
    loaded.set_training(false);
    assert_eq!(state(&*loaded), state(&graph));
    assert_eq!(outputs(&*loaded, &x), outputs(&graph, &x));
    assert_eq!(logits(&*loaded, &x), logits(&graph, &x));
    assert_eq!(loaded.structure(), graph.structure());

    let mut as_graph: Graph<f64> = weights::load_bytes(&bytes).unwrap();
    as_graph.set_training(false);
    assert_eq!(outputs(&as_graph, &x), outputs(&graph, &x));

    // Through a file, too.
    let path = scratch("graph").join("block.safetensors");
    weights::save(&*loaded, &path).unwrap();
    let again: Box<dyn Module<f64>> = weights::load(&path).unwrap();
    assert_eq!(state(&*again), state(&graph));
}

#[test]
fn a_sequential_round_trips_as_a_boxed_module() {
    let mut model: Sequential<f64> =
        Sequential::from_spec_seeded("conv2d(2,3,3), relu, flatten, linear(3,2), softmax", 4)
            .unwrap();
    scramble(&mut model, 5);
    let x = Tensor::<f64>::randn_seeded(&[3, 2, 3, 3], 6);
    let bytes = weights::to_bytes(&model as &dyn Module<f64>).unwrap();
    let loaded: Box<dyn Module<f64>> = weights::load_bytes(&bytes).unwrap();
    assert_eq!(
        loaded.spec().as_deref(),
        Some("conv2d(2,3,3), relu, flatten, linear(3,2), softmax(dim=1)")
    );
    assert_eq!(outputs(&*loaded, &x), outputs(&model, &x));
    assert_eq!(logits(&*loaded, &x), logits(&model, &x));
    assert_eq!(model.logits_len(), 4);
    let chain: Sequential<f64> = weights::load_bytes(&bytes).unwrap();
    assert_eq!(chain.to_string(), loaded.to_string());
}

#[test]
fn the_logits_of_a_graph_are_the_input_of_its_trailing_softmax() {
    let graph = block(7);
    let x = Tensor::<f64>::randn_seeded(&[2, 2, 3, 3], 8);
    let head = graph.find("head").unwrap();
    assert_eq!(graph.logits_value(), head);
    let tape = Tape::new();
    let h = graph.forward_to(
        tape.constant(x.clone()),
        &mut Context::inference(&tape),
        head,
    );
    assert_eq!(logits(&graph, &x), h.value());
    assert_eq!(graph.logits_shape(&[2, 2, 3, 3]).unwrap(), vec![2, 3]);
    assert_eq!(
        graph
            .shape_of(&[2, 2, 3, 3], graph.find("cat").unwrap())
            .unwrap(),
        vec![2, 4, 3, 3]
    );
    // The module nodes are its children, the units randomization works on.
    let children: Vec<String> = graph.named_children().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        children,
        [
            "layer1.0.conv1",
            "layer1.0.bn1",
            "layer1.0.relu",
            "head",
            "softmax"
        ]
    );
}

/// A module written in Rust only: it has no spec.
struct Custom;

impl Module<f64> for Custom {
    fn forward<'t>(
        &self,
        x: smoothgrad_autograd::Var<'t, f64>,
        _: &mut Context<'t, f64>,
    ) -> smoothgrad_autograd::Var<'t, f64> {
        x
    }

    fn output_shape(&self, input: &[usize]) -> smoothgrad_nn::Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

#[test]
fn a_model_without_structure_says_so_and_saves_its_state_alone() {
    let mut g = GraphBuilder::<f64>::new();
    let x = g.input();
    let h = g.module("mine", Custom, x);
    let graph = g.finish(h).unwrap();
    assert_eq!(graph.spec(), None);
    assert_eq!(
        graph.to_string(),
        "input = input; mine = <no spec>(input); output mine"
    );
    let e = weights::to_bytes(&graph).unwrap_err();
    assert_eq!(
        e.to_string(),
        "node \"mine\" is a module without a spec, so the graph's structure cannot be saved \
         (give every module node a spec, or save the weights alone with weights::save_state)"
    );
    let chain = Sequential::<f64>::new().with(ReLU).with(Custom);
    assert_eq!(chain.spec(), None);
    assert_eq!(chain.to_string(), "relu, <no spec>");
    assert_eq!(
        weights::to_bytes(&chain).unwrap_err().to_string(),
        "layer 1 has no spec, so the model's structure cannot be saved"
    );
    assert_eq!(
        weights::to_bytes(&Custom).unwrap_err().to_string(),
        "the model has no spec, so its structure cannot be saved"
    );
    let layer = Linear::<f64>::from_weights(Tensor::zeros(&[2, 2]), None).unwrap();
    assert_eq!(
        weights::to_bytes(&layer).unwrap_err().to_string(),
        "the model is a single layer (linear(2,2,bias=False)), whose state names (\"weight\") \
         are not those of the Sequential its spec describes (\"0.weight\"): save it inside a \
         Sequential"
    );
    // The state alone saves, and loads into a model built in code.
    let bytes = weights::state_to_bytes(&layer).unwrap();
    let file = TensorFile::from_bytes(bytes.clone()).unwrap();
    assert_eq!(file.metadata().keys().collect::<Vec<_>>(), ["format"]);
    let mut other = Linear::<f64>::from_weights(Tensor::ones(&[2, 2]), None).unwrap();
    weights::load_into_bytes(&mut other, &bytes).unwrap();
    assert_eq!(state(&other), state(&layer));
}

#[test]
fn a_file_asked_for_as_the_wrong_kind_of_model_says_what_it_holds() {
    let graph_bytes = weights::to_bytes(&block(9)).unwrap();
    let e = weights::load_bytes::<Sequential<f64>>(&graph_bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "weights: the data holds a graph model (metadata \"graph\"), not a Sequential: load it \
         as a Graph or a Box<dyn Module>"
    );
    let chain = Sequential::<f64>::new().with(ReLU);
    let e = weights::load_bytes::<Graph<f64>>(&weights::to_bytes(&chain).unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "weights: the data holds a Sequential (metadata \"arch\"), not a graph: load it as a \
         Sequential or a Box<dyn Module>"
    );
    let e = weights::load_bytes::<Box<dyn Module<f64>>>(&Writer::new().to_bytes().unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("has no \"arch\" metadata"), "{e}");
}

/// The message of a description error.
fn description_error(text: &str) -> String {
    match Graph::<f32>::from_description(text) {
        Err(NnError::Config(m)) => m,
        Err(other) => panic!("expected a Config error, found {other:?}"),
        Ok(_) => panic!("{text:?} parsed"),
    }
}

#[test]
fn corrupt_descriptions_point_at_the_problem() {
    let ok = "input \"input\"\nmodule \"fc\" (\"input\") linear(4,2)\noutput \"fc\"";
    assert!(Graph::<f32>::from_description(ok).is_ok());
    let cases: &[(&str, &str)] = &[
        (
            "input \"input\"\nmodul \"fc\" (\"input\") linear(4,2)\noutput \"fc\"",
            "invalid graph description at line 2, column 1: expected \"input\", \"module\", \
             \"sequential\", \"op\", \"param\" or \"output\", found \"modul\"\n  modul \"fc\" (\"input\") \
             linear(4,2)\n  ^",
        ),
        (
            "module \"fc\" (\"input\") linear(4,2)",
            "invalid graph description at line 1, column 1: expected the \"input\" line first, \
             found \"module\"\n  module \"fc\" (\"input\") linear(4,2)\n  ^",
        ),
        (
            "input \"input\"\nmodule \"fc\" (\"inptu\") linear(4,2)\noutput \"fc\"",
            "invalid graph description at line 2, column 14: node \"fc\" reads \"inptu\", which \
             is not a node before it\n  module \"fc\" (\"inptu\") linear(4,2)\n               ^",
        ),
        (
            "input \"input\"\nmodule \"fc\" (\"input\") linear(4,2,bais=False)\noutput \"fc\"",
            "invalid graph description at line 2, column 34: invalid spec: linear: unexpected \
             keyword argument \"bais\"; did you mean \"bias\"?\n  module \"fc\" (\"input\") \
             linear(4,2,bais=False)\n                                   ^",
        ),
        (
            "input \"input\"\nop \"cat\" (\"input\") concat(axis=x)\noutput \"cat\"",
            "invalid graph description at line 2, column 32: concat: expected a non-negative \
             integer for \"axis\", found \"x\"\n  op \"cat\" (\"input\") concat(axis=x)\n  \
             \x20                              ^",
        ),
        (
            "input \"input\"\nop \"s\" (\"input\") add\noutput \"s\"",
            "invalid graph description at line 2, column 18: node \"s\": add takes 2 inputs, \
             found 1\n  op \"s\" (\"input\") add\n                   ^",
        ),
        (
            "input \"input\"\nmodule \"a\" (\"input\") relu\nmodule \"a\" (\"a\") relu\noutput \"a\"",
            "invalid graph description at line 3, column 8: node name \"a\" is used twice (first \
             on line 2)\n  module \"a\" (\"a\") relu\n         ^",
        ),
        (
            "input \"input\"\nmodule \"a\" (\"input\") relu, tanh\noutput \"a\"",
            "invalid graph description at line 2, column 22: a module node is one layer, found \
             2: write a list of layers as \"sequential\"\n  module \"a\" (\"input\") relu, \
             tanh\n                       ^",
        ),
        (
            "input \"input\"\nmodule \"a (\"input\") relu\noutput \"a\"",
            "invalid graph description at line 2, column 13: expected \"(\" and the inputs of \
             node \"a (\", found 'i'\n  module \"a (\"input\") relu\n              ^",
        ),
        (
            "input \"input\"\nmodule \"a\" (\"input\" relu\noutput \"a\"",
            "invalid graph description at line 2, column 21: expected \",\" or \")\" after an \
             input, found 'r'\n  module \"a\" (\"input\" relu\n                      ^",
        ),
        (
            "input \"input\"\noutput \"input\"\nmodule \"a\" (\"input\") relu",
            "invalid graph description at line 3, column 1: expected nothing after the output \
             (line 2), found 'm'\n  module \"a\" (\"input\") relu\n  ^",
        ),
        (
            "input \"input\"\nmodule \"a\" (\"input\") relu",
            "invalid graph description: it has no \"output\" line (the last line must be \
             `output \"NAME\"`)",
        ),
        (
            "\n  \n",
            "invalid graph description: it is empty (expected an \"input\" line first)",
        ),
        (
            "input \"input\"\ninput \"x\"\noutput \"x\"",
            "invalid graph description at line 2, column 1: the graph has one input, on line 1\n  \
             input \"x\"\n  ^",
        ),
        (
            "input \"in\\q\"",
            "invalid graph description at line 1, column 10: unknown escape in a node name \
             (expected \\\", \\\\ or \\n)\n  input \"in\\q\"\n           ^",
        ),
        (
            "input \"input",
            "invalid graph description at line 1, column 7: unterminated node name (no closing \
             '\"')\n  input \"input\n        ^",
        ),
        (
            "input \"input\"\noutput \"fc\"",
            "invalid graph description at line 2, column 8: the output is \"fc\", which is not a \
             node before it\n  output \"fc\"\n         ^",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(text, message)| description_error(text) != *message)
        .map(|(text, _)| format!("{text:?}\n{}", description_error(text)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn a_corrupt_graph_in_a_file_is_a_weights_error_with_its_position() {
    let mut w = Writer::new();
    w.metadata(
        "graph",
        "input \"input\"\nop \"x\" (\"input\") ad\noutput \"x\"",
    );
    let e = weights::load_bytes::<Box<dyn Module<f32>>>(&w.to_bytes().unwrap()).unwrap_err();
    assert!(matches!(e, NnError::Weights { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "weights: the data: the \"graph\" metadata is not a valid graph: invalid graph \
             description at line 2, column 18: expected an op (add, "
        ),
        "{e}"
    );
}

#[test]
fn names_with_quotes_and_one_layer_sequentials_survive_the_description() {
    let mut g = GraphBuilder::<f32>::new();
    let x = g.input();
    let w = Tensor::<f32>::randn_seeded(&[2, 2], 3);
    let a = g.module(
        "odd \"name\"\\",
        Linear::from_weights(w.clone(), None).unwrap(),
        x,
    );
    let one = Sequential::new().with(Linear::from_weights(w, None).unwrap());
    let b = g.module("seq", one, a);
    let graph = g.finish(b).unwrap();
    let text = graph.description().unwrap();
    let again = Graph::<f32>::from_description(&text).unwrap();
    assert_eq!(again.description().unwrap(), text);
    let names =
        |g: &Graph<f32>| -> Vec<String> { g.state_dict().into_iter().map(|(n, ..)| n).collect() };
    assert_eq!(names(&again), ["odd \"name\"\\.weight", "seq.0.weight"]);
    assert_eq!(names(&again), names(&graph));
    assert!(matches!(graph.structure(), Ok(Structure::Graph(_))));
}

#[test]
fn torchvision_architectures_round_trip_with_their_structure() {
    use smoothgrad_nn::models::mobilenet_v3::{mobilenet_v3, MobileNetV3Config};
    use smoothgrad_nn::models::resnet::{resnet, ResNetConfig};
    use smoothgrad_nn::models::vit::{vit, VitConfig};
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let small_resnet = ResNetConfig {
        widths: [4, 8, 8, 8],
        stem: 4,
        ..ResNetConfig::resnet18(5)
    };
    let vit_config = VitConfig {
        image_size: 16,
        patch_size: 8,
        num_layers: 1,
        num_heads: 2,
        hidden_dim: 8,
        mlp_dim: 16,
        num_classes: 5,
    };
    let models: Vec<Graph<f64>> = vec![
        resnet(&small_resnet, &mut rng).unwrap(),
        mobilenet_v3(&MobileNetV3Config::small(0.25, 5), &mut rng).unwrap(),
        vit(&vit_config, &mut rng).unwrap(),
    ];
    let x = Tensor::<f64>::randn_seeded(&[2, 3, 16, 16], 4);
    for mut model in models {
        scramble(&mut model, 5);
        let bytes = weights::to_bytes(&model).unwrap();
        let back: Graph<f64> = weights::load_bytes(&bytes).unwrap();
        assert_eq!(state(&back), state(&model));
        assert_eq!(outputs(&back, &x).data(), outputs(&model, &x).data());
    }
}
