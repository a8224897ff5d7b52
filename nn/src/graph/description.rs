//! A [`Graph`]'s structure as text: what a weights file records (metadata `graph`) so that the
//! graph can be rebuilt, and how it is read back.
//!
//! One node per line, in evaluation order, then the output:
//!
//! ```text
//! input "input"
//! module "conv1" ("input") conv2d(4,4,3,padding=1,bias=False)
//! module "bn1" ("conv1") batchnorm2d(4)
//! op "add" ("bn1", "input") add
//! sequential "head" ("add") flatten, linear(64,10)
//! output "head"
//! ```
//!
//! - `input NAME`: the graph's input, first and once;
//! - `module NAME (INPUT) SPEC`: one layer, by its spec ([`crate::Sequential::from_spec`] builds
//!   it); its state is named `NAME.weight`, ...;
//! - `sequential NAME (INPUT) SPEC`: a [`crate::Sequential`] of the spec's layers; its state is
//!   named `NAME.0.weight`, ...;
//! - `op NAME (INPUT, ...) OP`: a [`TensorOp`] as it prints (`concat(axis=1)`, `reshape([-1, 4])`);
//! - `param NAME [D, ...]`: a learned tensor of that shape stored under `NAME` itself
//!   ([`NodeKind::Param`]; zeros until the file's state is loaded);
//! - `output NAME`: the value the graph returns, last.
//!
//! Names are double-quoted (`\"` and `\\` escape a quote and a backslash, `\n` a newline); the
//! inputs name earlier nodes. Blank lines are ignored. A problem is reported with its line and
//! column and a caret under it, as spec errors are.

use std::collections::HashMap;

use smoothgrad_autograd::Scalar;

use super::op_text::parse_op;
use super::{Graph, Node, NodeKind, TensorOp, ValueId};
use crate::error::{NnError, Result};
use crate::module::{Module, Structure};
use crate::sequential::Sequential;

/// The graph's description, as [`parse`] reads it.
///
/// # Errors
/// [`NnError::Config`] naming the first module node whose structure is unknown (a module without
/// a spec, or a nested graph): such a graph cannot be saved with its structure.
pub(super) fn describe<T: Scalar>(graph: &Graph<T>) -> Result<String> {
    let mut out = String::new();
    let name = |v: &ValueId| quote(&graph.nodes[v.0].name);
    for node in &graph.nodes {
        let inputs: Vec<String> = node.inputs.iter().map(name).collect();
        let inputs = inputs.join(", ");
        let line = match &node.kind {
            NodeKind::Input => format!("input {}", quote(&node.name)),
            NodeKind::Module(m) => {
                let unknown = |why: &str| {
                    NnError::Config(format!(
                        "node {:?} {why}, so the graph's structure cannot be saved (give every \
                         module node a spec, or save the weights alone with \
                         weights::save_state)",
                        node.name
                    ))
                };
                let (keyword, spec) = match m.structure() {
                    Ok(Structure::Layer(spec)) => ("module", spec),
                    Ok(Structure::Sequential(spec)) => ("sequential", spec),
                    Ok(Structure::Graph(_)) => return Err(unknown("is a nested graph")),
                    Err(_) => return Err(unknown("is a module without a spec")),
                };
                format!("{keyword} {} ({inputs}) {spec}", quote(&node.name))
            }
            NodeKind::Op(op) => format!("op {} ({inputs}) {op}", quote(&node.name)),
            NodeKind::Param(t) => format!("param {} {:?}", quote(&node.name), t.shape()),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("output {}", name(&graph.output)));
    Ok(out)
}

/// `name` double-quoted, with `"`, `\` and newlines escaped.
fn quote(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Rebuilds a graph from its description; module weights come from PyTorch's default
/// initialisation (seed 0), to be replaced by loading a file's state.
///
/// # Errors
/// [`NnError::Config`]: `invalid graph description at line L, column C: <what was expected and
/// found>`, the line, and a caret under the problem.
pub(super) fn parse<T: Scalar>(text: &str) -> Result<Graph<T>> {
    let mut nodes: Vec<Node<T>> = Vec::new();
    // Each node's id and the line it is on.
    let mut ids: HashMap<String, (ValueId, usize)> = HashMap::new();
    let mut output: Option<(ValueId, usize)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let mut line = Line {
            text: raw.strip_suffix('\r').unwrap_or(raw),
            number: i + 1,
            pos: 0,
        };
        line.skip_ws();
        if line.at_end() {
            continue;
        }
        if let Some((_, on)) = output {
            return Err(line.error(
                line.pos,
                format!(
                    "expected nothing after the output (line {on}), found {}",
                    line.found()
                ),
            ));
        }
        let (kw_pos, keyword) = line.word();
        if nodes.is_empty() && keyword != "input" {
            return Err(line.error(
                kw_pos,
                format!(
                    "expected the \"input\" line first, found {}",
                    line.describe(kw_pos, keyword)
                ),
            ));
        }
        if keyword == "output" {
            let (pos, name) = line.name()?;
            let id = lookup(&ids, &line, pos, &name, "the output is")?;
            line.end()?;
            output = Some((id, line.number));
            continue;
        }
        let (name_pos, name) = match keyword {
            "input" | "module" | "sequential" | "op" | "param" => line.name()?,
            _ => {
                return Err(line.error(
                    kw_pos,
                    format!(
                        "expected \"input\", \"module\", \"sequential\", \"op\", \"param\" or \
                         \"output\", found {}",
                        line.describe(kw_pos, keyword)
                    ),
                ))
            }
        };
        if let Some((_, on)) = ids.get(&name) {
            return Err(line.error(
                name_pos,
                format!("node name {name:?} is used twice (first on line {on})"),
            ));
        }
        let (kind, inputs) = if keyword == "input" {
            if !nodes.is_empty() {
                return Err(line.error(kw_pos, "the graph has one input, on line 1".into()));
            }
            line.end()?;
            (NodeKind::Input, Vec::new())
        } else if keyword == "param" {
            line.skip_ws();
            let (pos, body) = (line.pos, line.text[line.pos..].trim_end());
            (param_node(&line, pos, body)?, Vec::new())
        } else {
            let inputs_pos = line.pos;
            let inputs = line.inputs(&ids, &name)?;
            line.skip_ws();
            let (body_pos, body) = (line.pos, line.text[line.pos..].trim_end());
            let kind = match keyword {
                "op" => op_node(&line, body_pos, body, &name, inputs.len())?,
                _ => {
                    if inputs.len() != 1 {
                        return Err(line.error(
                            inputs_pos,
                            format!(
                                "a {keyword} node reads one input, node {name:?} lists {}",
                                inputs.len()
                            ),
                        ));
                    }
                    NodeKind::Module(module(&line, body_pos, body, keyword == "module")?)
                }
            };
            (kind, inputs)
        };
        ids.insert(name.clone(), (ValueId(nodes.len()), line.number));
        nodes.push(Node { name, kind, inputs });
    }
    if nodes.is_empty() {
        return Err(NnError::Config(
            "invalid graph description: it is empty (expected an \"input\" line first)".into(),
        ));
    }
    let Some((output, _)) = output else {
        return Err(NnError::Config(
            "invalid graph description: it has no \"output\" line (the last line must be \
             `output \"NAME\"`)"
                .into(),
        ));
    };
    Ok(Graph::from_parts(nodes, output))
}

/// The tensor of a `param` line: `[D, ...]`, zeros of that shape.
fn param_node<T: Scalar>(line: &Line<'_>, pos: usize, body: &str) -> Result<NodeKind<T>> {
    let bad = || {
        line.error(
            pos,
            format!("expected a shape such as [1, 1, 768], found {body:?}"),
        )
    };
    let inner = body
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .ok_or_else(bad)?;
    let dims: Vec<usize> = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner
            .split(',')
            .map(|d| d.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<Result<_>>()?
    };
    crate::spec::check_elements("param", &dims)
        .map(|()| NodeKind::Param(smoothgrad_autograd::Tensor::zeros(&dims)))
        .map_err(|message| line.error(pos, message))
}

/// The op of an `op` line, checked against its number of inputs.
fn op_node<T: Scalar>(
    line: &Line<'_>,
    pos: usize,
    body: &str,
    name: &str,
    inputs: usize,
) -> Result<NodeKind<T>> {
    let op: TensorOp = parse_op(body).map_err(|(p, m)| line.error(pos + p, m))?;
    let wrong = match op.arity() {
        Some(n) if n != inputs => Some(format!("{n} input{}", if n == 1 { "" } else { "s" })),
        None if inputs == 0 => Some("at least one input".to_string()),
        _ => None,
    };
    if let Some(takes) = wrong {
        return Err(line.error(
            pos,
            format!("node {name:?}: {op} takes {takes}, found {inputs}"),
        ));
    }
    Ok(NodeKind::Op(op))
}

/// The module of a `module` line (one layer) or a `sequential` line.
fn module<T: Scalar>(
    line: &Line<'_>,
    pos: usize,
    spec: &str,
    single: bool,
) -> Result<Box<dyn Module<T>>> {
    let model = Sequential::<T>::from_spec(spec).map_err(|e| match e {
        NnError::Spec {
            position, message, ..
        } => line.error(pos + position, format!("invalid spec: {message}")),
        other => other,
    })?;
    if !single {
        return Ok(Box::new(model));
    }
    let n = model.len();
    let mut layers = model.into_layers();
    match layers.pop() {
        Some(layer) if n == 1 => Ok(layer),
        _ => Err(line.error(
            pos,
            format!(
                "a module node is one layer, found {n}: write a list of layers as \"sequential\""
            ),
        )),
    }
}

/// The id of an earlier node named `name`.
fn lookup(
    ids: &HashMap<String, (ValueId, usize)>,
    line: &Line<'_>,
    pos: usize,
    name: &str,
    who: &str,
) -> Result<ValueId> {
    ids.get(name).map(|(id, _)| *id).ok_or_else(|| {
        line.error(
            pos,
            format!("{who} {name:?}, which is not a node before it"),
        )
    })
}

/// A cursor over one line of the description.
struct Line<'a> {
    text: &'a str,
    number: usize,
    pos: usize,
}

impl<'a> Line<'a> {
    /// The error at byte `pos` of this line, with the line and a caret under the problem.
    fn error(&self, pos: usize, message: String) -> NnError {
        let column = self
            .text
            .char_indices()
            .take_while(|(i, _)| *i < pos)
            .count();
        NnError::Config(format!(
            "invalid graph description at line {}, column {}: {message}\n  {}\n  {}^",
            self.number,
            column + 1,
            self.text,
            " ".repeat(column)
        ))
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn bump(&mut self) {
        self.pos += self.peek().map_or(0, char::len_utf8);
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// What comes next, for an error message.
    fn found(&self) -> String {
        self.peek()
            .map_or("the end of the line".to_string(), |c| format!("{c:?}"))
    }

    /// `word` quoted, or what is at `pos` if it is empty.
    fn describe(&self, pos: usize, word: &str) -> String {
        if word.is_empty() {
            self.text[pos..]
                .chars()
                .next()
                .map_or("the end of the line".to_string(), |c| format!("{c:?}"))
        } else {
            format!("{word:?}")
        }
    }

    /// A run of ASCII letters (a keyword), possibly empty.
    fn word(&mut self) -> (usize, &'a str) {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.bump();
        }
        (start, &self.text[start..self.pos])
    }

    /// A double-quoted name, unescaped.
    fn name(&mut self) -> Result<(usize, String)> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() != Some('"') {
            return Err(self.error(
                start,
                format!("expected a quoted node name, found {}", self.found()),
            ));
        }
        self.bump();
        let mut name = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self.error(
                        start,
                        "unterminated node name (no closing '\"')".to_string(),
                    ))
                }
                Some('"') => {
                    self.bump();
                    return Ok((start, name));
                }
                Some('\\') => {
                    let at = self.pos;
                    self.bump();
                    match self.peek() {
                        Some('"') => name.push('"'),
                        Some('\\') => name.push('\\'),
                        Some('n') => name.push('\n'),
                        _ => {
                            return Err(self.error(
                                at,
                                "unknown escape in a node name (expected \\\", \\\\ or \\n)"
                                    .to_string(),
                            ))
                        }
                    }
                    self.bump();
                }
                Some(c) => {
                    name.push(c);
                    self.bump();
                }
            }
        }
    }

    /// `("a", "b", ...)`: earlier nodes, by name.
    fn inputs(
        &mut self,
        ids: &HashMap<String, (ValueId, usize)>,
        node: &str,
    ) -> Result<Vec<ValueId>> {
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error(
                self.pos,
                format!(
                    "expected \"(\" and the inputs of node {node:?}, found {}",
                    self.found()
                ),
            ));
        }
        self.bump();
        let mut inputs = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.bump();
            return Ok(inputs);
        }
        loop {
            let (pos, name) = self.name()?;
            let who = format!("node {node:?} reads");
            inputs.push(lookup(ids, self, pos, &name, &who)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.bump(),
                Some(')') => {
                    self.bump();
                    return Ok(inputs);
                }
                _ => {
                    return Err(self.error(
                        self.pos,
                        format!(
                            "expected \",\" or \")\" after an input, found {}",
                            self.found()
                        ),
                    ))
                }
            }
        }
    }

    /// Nothing but whitespace is left.
    fn end(&mut self) -> Result<()> {
        self.skip_ws();
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error(
                self.pos,
                format!("expected the end of the line, found {}", self.found()),
            ))
        }
    }
}
