//! [`Tape::to_dot`]: the recorded graph in Graphviz's DOT language, for teaching material.

use std::fmt::Write;

use crate::op::Op;
use crate::scalar::Scalar;
use crate::tape::Tape;

impl<T: Scalar> Tape<T> {
    /// The graph as DOT text: one box per node (index, op, shape), an edge from each input to its
    /// use; variables are drawn bold, constants grey, and nodes that receive a gradient in blue.
    /// Render with `dot -Tpng graph.dot -o graph.png`.
    pub fn to_dot(&self) -> String {
        let nodes = self.nodes();
        let mut s = String::from(
            "digraph tape {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for (i, (op, value)) in nodes.ops.iter().zip(&nodes.values).enumerate() {
            let style = match (op, nodes.needs[i]) {
                (Op::Leaf, true) => ", style=bold",
                (Op::Leaf, false) => ", color=grey, fontcolor=grey",
                (_, true) => ", color=blue",
                (_, false) => "",
            };
            let label = format!("#{i} {} {:?}", op.name(), value.shape());
            let _ = writeln!(
                s,
                "  n{i} [label=\"{}\"{style}];",
                label.replace('"', "\\\"")
            );
            for j in op.inputs() {
                let _ = writeln!(s, "  n{j} -> n{i};");
            }
        }
        s.push_str("}\n");
        s
    }
}
