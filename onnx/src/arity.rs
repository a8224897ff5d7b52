//! How many inputs each supported op must be given: checked before conversion, which reads an
//! op's required inputs by position.

use crate::proto::NodeProto;

/// Required (non-empty) leading inputs of each supported op, per the ONNX operator docs; later,
/// optional inputs may be absent or empty.
const REQUIRED: &[(&str, usize)] = &[
    ("Conv", 2),
    ("BatchNormalization", 5),
    ("Gemm", 2),
    ("MatMul", 2),
    ("Add", 2),
    ("Sub", 2),
    ("Mul", 2),
    ("Div", 2),
    ("Reshape", 2),
    ("Gather", 2),
    ("Constant", 0),
];

/// Why node `n` has too few inputs or no output, if it has: `Add needs 2 inputs, found 1`.
pub fn check(n: &NodeProto) -> Option<String> {
    let op = n.op_type();
    let need = REQUIRED
        .iter()
        .find(|(o, _)| *o == op)
        .map_or(1, |&(_, k)| k);
    let given = n.input.iter().take_while(|i| !i.is_empty()).count();
    if given < need {
        return Some(format!(
            "{op} needs {need} input{}, found {given}",
            if need == 1 { "" } else { "s" }
        ));
    }
    if n.output.first().is_none_or(|o| o.is_empty()) {
        return Some(format!("{op} needs an output, found none"));
    }
    None
}
