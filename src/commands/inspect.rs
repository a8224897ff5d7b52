//! `inspect`: what a model is, before explaining it. For an ONNX file: its producer and opsets,
//! inputs and outputs with their declared shapes (symbolic dimensions by name), parameter count,
//! nodes per op type, the node `explain` explains (after the softmax cut or `--output-node`),
//! and every unsupported node with its name and opset ([`smoothgrad_onnx::summary`]). For a
//! `.safetensors` model saved by this project: its kind, parameter count, layers per kind, first
//! layer and the node explained.
//!
//! The summary is read from the file alone, so an unsupported op never stops the print: the
//! model is then listed with its unsupported nodes, and the explained node is reported as
//! unknown. A missing or unreadable file, or an `--output-node` no node has, is an error
//! (status 2), as for `explain`.

use std::collections::BTreeMap;
use std::path::Path;

use smoothgrad_nn::{Module, StateKind};
use smoothgrad_onnx::summary::{self, Dim, Summary};

use crate::cli::InspectArgs;
use crate::error::{CliError, Result};
use crate::files::extension;
use crate::inputs::{load_model, ModelSource};

/// Runs `inspect`: prints the description to stdout.
pub fn run(args: &InspectArgs) -> Result<()> {
    let text = if extension(&args.model).as_deref() == Some("onnx") {
        onnx(&args.model, args.output_node.as_deref())?
    } else {
        project_model(&args.model, args.output_node.as_deref())?
    };
    print!("{text}");
    Ok(())
}

/// The description of an ONNX file.
fn onnx(path: &Path, output_node: Option<&str>) -> Result<String> {
    let proto = smoothgrad_onnx::read_model(path, smoothgrad_onnx::DEFAULT_MAX_BYTES)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    // Read once: the summary, then (if every op is supported) the graph, from the same bytes.
    let source = ModelSource::<f32>::onnx(path, proto);
    let s = summary::summarize(source.onnx_model().expect("an ONNX source"));
    let mut out = format!("model: {} (ONNX", path.display());
    if !s.producer.is_empty() {
        out += &format!(", written by {}", s.producer);
    }
    let opsets: Vec<String> = s.opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
    out += &format!(", opset {})\n", opsets.join(", "));
    for i in &s.inputs {
        out += &format!("input: {i}\n");
    }
    for o in &s.outputs {
        out += &format!("output: {o}\n");
    }
    out += &format!("parameters: {}\n", s.parameters);
    let ops: Vec<String> = s
        .op_counts
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    out += &format!("nodes: {} ({})\n", s.nodes, ops.join(", "));
    out += &explained_onnx(source, &s, output_node)?;
    if s.unsupported.is_empty() {
        out += "unsupported: none\n";
    } else {
        let list: Vec<String> = s
            .unsupported
            .iter()
            .map(|u| format!("{:?} ({}, opset {})", u.node, u.op, u.opset))
            .collect();
        out += &format!("unsupported: {} node(s): {}\n", list.len(), list.join(", "));
    }
    Ok(out)
}

/// The `explained:` line of an ONNX model, for its declared input shape (symbolic dimensions
/// taken as 1): the model is imported as `explain` imports it; if it cannot be, why.
fn explained_onnx(
    source: ModelSource<f32>,
    s: &Summary,
    output_node: Option<&str>,
) -> Result<String> {
    if !s.unsupported.is_empty() {
        return Ok("explained: unknown (the model has unsupported ops)\n".to_string());
    }
    let model = match source.build(None) {
        Ok(m) => m,
        Err(e) => return Ok(format!("explained: unknown (the import fails: {e})\n")),
    };
    let input: Option<Vec<usize>> = s.inputs.first().and_then(|i| i.dims.as_ref()).map(|d| {
        d.iter()
            .map(|d| match d {
                Dim::Fixed(n) if *n > 0 => *n as usize,
                _ => 1,
            })
            .collect()
    });
    explained(&*model, output_node, input.as_deref())
}

/// The description of a `.safetensors` model saved by this project.
fn project_model(path: &Path, output_node: Option<&str>) -> Result<String> {
    let model = load_model(path, None, None)?;
    let children = model.named_children();
    let kind = if model.as_graph().is_some() {
        "graph"
    } else {
        "Sequential"
    };
    let mut out = format!(
        "model: {} (a {kind} saved by smoothgrad, {} layers)\n",
        path.display(),
        children.len()
    );
    match children.first().and_then(|(_, m)| m.spec()) {
        Some(spec) => {
            out += &format!("input: not recorded in the file; the first layer is {spec}\n")
        }
        None => out += "input: not recorded in the file\n",
    }
    let mut parameters = 0usize;
    model.visit_state(&mut |_, kind, t| {
        if kind == StateKind::Parameter {
            parameters += t.numel();
        }
    });
    out += &format!("parameters: {parameters}\n");
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (_, m) in &children {
        let spec = m.spec().unwrap_or_else(|| "(no spec)".to_string());
        let head = spec.split('(').next().unwrap_or_default().to_string();
        *kinds.entry(head).or_default() += 1;
    }
    let mut kinds: Vec<(String, usize)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    out += &format!("layers: {}\n", list.join(", "));
    out += &explained(&*model, output_node, None)?;
    Ok(out)
}

/// The `explained:` line: the node (graph) or layer (Sequential) whose value `explain`
/// explains, with its shape for `input` if known, and the normalizers cut after it.
///
/// # Errors
/// An `--output-node` the model has no node or layer of (status 2, a few valid names listed).
fn explained(
    model: &dyn Module,
    output_node: Option<&str>,
    input: Option<&[usize]>,
) -> Result<String> {
    let err = |e: String| CliError::input(format!("--output-node: {e}"));
    if let Some(name) = output_node {
        smoothgrad::Cut::output_node(model, name).map_err(err)?;
    }
    let shape = |s: smoothgrad_nn::Result<Vec<usize>>| match (input, s) {
        (Some(i), Ok(s)) => format!(", output {s:?} for input {i:?}"),
        _ => String::new(),
    };
    if let Some(g) = model.as_graph() {
        let value = match output_node {
            Some(name) => g.find(name).expect("checked by Cut::output_node"),
            None => g.logits_value(),
        };
        let name = g.nodes()[value.index()].name();
        let why = match output_node {
            Some(_) => "--output-node".to_string(),
            None if value == g.output() => "the output".to_string(),
            None => {
                // The logits value is reached from the output through the normalizers' inputs.
                let (mut v, mut cut) = (g.output(), 0);
                while v != value {
                    v = g.nodes()[v.index()].inputs()[0];
                    cut += 1;
                }
                format!("the logits, before the trailing {cut} normalizer node(s)")
            }
        };
        let s = shape(input.map_or(Ok(vec![]), |i| g.shape_of(i, value)));
        return Ok(format!("explained: node {name:?} ({why}{s})\n"));
    }
    if let Some(seq) = model.as_sequential() {
        let names = seq.named_children();
        let end = match output_node {
            Some(name) => names
                .iter()
                .position(|(n, _)| n == name)
                .map_or(0, |i| i + 1),
            None => seq.logits_len(),
        };
        let Some(i) = end.checked_sub(1) else {
            return Ok("explained: the input itself (no layer kept)\n".to_string());
        };
        let why = match output_node {
            Some(_) => "--output-node".to_string(),
            None if end == seq.len() => "the output".to_string(),
            None => format!(
                "the logits, before the trailing {} normalizer layer(s)",
                seq.len() - end
            ),
        };
        let s = shape(input.map_or(Ok(vec![]), |x| seq.output_shape_range(x, 0..end)));
        return Ok(format!("explained: layer {:?} ({why}{s})\n", names[i].0));
    }
    Ok("explained: the model's output\n".to_string())
}
