//! Torchvision's ConvNeXt and ViT (reduced depths and widths, float64), exported by both
//! PyTorch exporters with a fixed batch of 1 and with a dynamic batch
//! (`tests/fixtures/make_onnx_transformer_fixtures.py`), imported and run on a batch of 2 in
//! one graph run: logits and the input gradient of `sum_i logits[i, target[i]]` match PyTorch's
//! float64 ones to 1e-9 of their max, and each sample's logits are those of its own run. Also
//! ConvNeXt at opset 14 (LayerNorm decomposed into ReduceMean, Sub, Pow, Sqrt, Div) and from
//! the dynamo exporter at opset 20 (Gelu).

mod reference;

use reference::{check, load, run, sample};
use smoothgrad_autograd::Tensor;

const EXPORTS: [&str; 4] = ["ts", "ts_dynamic", "dynamo", "dynamo_dynamic"];

fn family(name: &str) {
    let r = load::<f64>(&format!("{name}_io.safetensors"), "logits");
    let mut outs: Vec<Tensor<f64>> = Vec::new();
    for e in EXPORTS {
        outs.push(check(&r, &format!("{name}_{e}.onnx"), 1e-9));
    }
    // the batch-1 export run on the batch equals the dynamic export
    for (e, o) in EXPORTS.iter().zip(&outs).skip(1) {
        let d = reference::relative(o.data(), outs[0].data());
        assert!(d <= 1e-12, "{name}_{e} differs from {name}_ts by {d:e}");
    }
    // a sample's logits in the batch are those of its own run, bit for bit
    let m = smoothgrad_onnx::import::<f64>(reference::fixture(&format!("{name}_ts.onnx"))).unwrap();
    for i in 0..r.input.shape()[0] {
        let one = run(&m, &sample(&r.input, i));
        assert_eq!(one.data(), sample(&outs[0], i).data(), "{name}: sample {i}");
    }
}

#[test]
fn convnext_both_exporters_fixed_and_dynamic_batch() {
    family("convnext");
}

#[test]
fn vit_both_exporters_fixed_and_dynamic_batch() {
    family("vit");
}

#[test]
fn convnext_decomposed_layer_norm_at_opset_14_and_gelu_at_opset_20() {
    let r = load::<f64>("convnext_io.safetensors", "logits");
    check(&r, "convnext_ts_opset14.onnx", 1e-9);
    check(&r, "convnext_dynamo_opset20.onnx", 1e-9);
}

#[test]
fn float32_import_of_a_float64_export_is_close() {
    let r = load::<f64>("vit_io.safetensors", "logits");
    let m = smoothgrad_onnx::import::<f32>(reference::fixture("vit_ts.onnx")).unwrap();
    let x: Vec<f32> = r.input.data().iter().map(|&v| v as f32).collect();
    let out = run(&m, &Tensor::from_vec(x, r.input.shape()).unwrap());
    let out: Vec<f64> = out.data().iter().map(|&v| f64::from(v)).collect();
    let e = reference::relative(&out, r.output.data());
    assert!(e <= 1e-4, "f32 logits off by {e:e}");
}
