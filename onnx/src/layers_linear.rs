//! Linear layers: `Gemm` and `MatMul` with a constant matrix become [`Linear`] modules.

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::{Linear, TensorOp};

use crate::attr;
use crate::constant::Const;
use crate::convert::{tensor, Converter, Val};
use crate::layers::{konst, R, X};
use crate::proto::NodeProto;

pub fn gemm<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    if attr::float(n, "alpha", 1.0) != 1.0
        || attr::float(n, "beta", 1.0) != 1.0
        || attr::int(n, "transA", 0) != 0
    {
        return Err("only alpha 1, beta 1 and transA 0 (a linear layer) are supported".into());
    }
    let w = konst(c, n, 1)?.ok_or("the weight is missing")?;
    if w.dims.len() != 2 {
        return Err(format!("the weight must be a matrix, found {:?}", w.dims));
    }
    let w = if attr::int(n, "transB", 0) == 0 {
        tensor::<T>(&transposed(w))
    } else {
        tensor::<T>(w)
    };
    let b = konst(c, n, 2)?
        .map(|b| tensor::<T>(b).reshape(&[w.shape()[0]]))
        .transpose()
        .map_err(|_| "the bias must have one value per output".to_string())?;
    let lin = Linear::from_weights(w, b).map_err(|e| e.to_string())?;
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    c.module(&name, Box::new(lin), (x.0, &x.1))
}

/// The transpose of a matrix constant.
fn transposed(w: &Const) -> Const {
    let (r, k) = (w.dims[0], w.dims[1]);
    let v = w.as_floats();
    let t = (0..k * r).map(|i| v[(i % r) * k + i / r]).collect();
    Const {
        dims: vec![k, r],
        data: crate::constant::ConstData::Float(t),
    }
}

/// `MatMul`: by a constant matrix, a bias-free [`Linear`]; of two runtime values,
/// [`TensorOp::MatMul`].
pub fn matmul<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    match konst(c, n, 1) {
        Ok(Some(w)) if w.dims.len() == 2 => {
            let wt = tensor::<T>(&transposed(w));
            let lin = Linear::from_weights(wt, None).map_err(|e| e.to_string())?;
            let name = c.layer_name(&n.input[1], None, label);
            c.module(&name, Box::new(lin), (x.0, &x.1))
        }
        _ => {
            let y = c.node_value(&n.input[1])?;
            c.op(label, TensorOp::MatMul, &[x, y])
        }
    }
}
