//! The run's `.safetensors` file from its committed chunks: names and skipped inputs gathered
//! from the chunks' metadata, then each tensor streamed chunk by chunk ([`write_streamed`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::json;
use smoothgrad_autograd::io::{self, TensorFile};
use smoothgrad_autograd::Tensor;

use crate::dataset::assemble::{write_streamed, Column};
use crate::dataset::partial::Partial;
use crate::error::{CliError, Result};
use crate::plan::{DirPlan, ExplainPlan};

/// What the chunks hold: every explained input's name, the skipped ones with the reason.
pub struct Summary {
    /// The explained inputs, in order.
    pub names: Vec<String>,
    /// The skipped inputs and why.
    pub failures: Vec<(String, String)>,
    /// Whether the file was written (not when no input could be explained).
    pub written: bool,
    /// Classes explained per input (`K` of a `[N, K]` target; 1 for `[N]`).
    pub per_input: usize,
}

/// The tensors every chunk holds, in the file's order.
const TENSORS: [(&str, &str, usize); 4] = [
    ("attribution", "F32", 4),
    ("input", "F32", 4),
    ("std_error", "F32", 4),
    ("target", "I64", 8),
];

/// Streams the chunks into the run's file (unless no input could be explained).
pub fn assemble(
    plan: &ExplainPlan,
    d: &DirPlan,
    partial: &Partial,
    chunks: usize,
    out: &Path,
) -> Result<Summary> {
    let read = |k: usize| -> Result<TensorFile> { Ok(io::read_file(partial.chunk(k))?) };
    let list = |f: &TensorFile, key: &str| -> Vec<serde_json::Value> {
        f.metadata()
            .get(key)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    };
    let (mut names, mut failures) = (Vec::new(), Vec::new());
    let mut shapes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for k in 0..chunks {
        let f = read(k)?;
        names.extend(
            list(&f, "names")
                .into_iter()
                .filter_map(|v| v.as_str().map(String::from)),
        );
        failures.extend(list(&f, "failures").into_iter().filter_map(|v| {
            Some((
                v.get(0)?.as_str()?.to_string(),
                v.get(1)?.as_str()?.to_string(),
            ))
        }));
        for (name, _, _) in TENSORS {
            if let Ok(shape) = f.shape(name) {
                let entry = shapes.entry(name).or_insert_with(|| {
                    let mut s = shape.to_vec();
                    s[0] = 0;
                    s
                });
                entry[0] += shape[0];
            }
        }
    }
    if names.is_empty() && !failures.is_empty() {
        return Ok(Summary {
            names,
            failures,
            written: false,
            per_input: 1,
        });
    }
    let columns: Vec<Column> = TENSORS
        .iter()
        .filter_map(|&(name, dtype, width)| {
            Some(Column {
                name,
                dtype,
                shape: shapes.get(name)?.clone(),
                width,
            })
        })
        .collect();
    let mut meta: BTreeMap<String, String> = plan
        .metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    meta.insert("files".into(), json!(names).to_string());
    meta.insert(
        "shard".into(),
        format!("{}/{}", d.shard.index, d.shard.count),
    );
    meta.insert("noise_keys".into(), "fnv1a64(file name)".into());
    let skipped: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    meta.insert("skipped".into(), json!(skipped).to_string());
    write_streamed(out, &columns, &meta, |c, sink: &mut dyn Write| {
        let io_err = |e: std::io::Error| {
            CliError::failure(format!("cannot write \"{}\": {e}", out.display()))
        };
        for k in 0..chunks {
            let f = read(k)?;
            let name = columns[c].name;
            if !f.contains(name) {
                continue;
            }
            if name == "target" {
                let (t, _) = f.get_i64(name)?;
                for v in t {
                    sink.write_all(&v.to_le_bytes()).map_err(io_err)?;
                }
            } else {
                let t: Tensor<f32> = f.get(name)?;
                let bytes: Vec<u8> = t.data().iter().flat_map(|v| v.to_le_bytes()).collect();
                sink.write_all(&bytes).map_err(io_err)?;
            }
        }
        Ok(())
    })?;
    let per_input = shapes
        .get("target")
        .and_then(|s| s.get(1).copied())
        .unwrap_or(1);
    Ok(Summary {
        names,
        failures,
        written: true,
        per_input,
    })
}
