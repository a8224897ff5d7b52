"""Exports full-size torchvision classifiers to ONNX for `benches/models.rs` and for the opt-in
full-size test (`tests/onnx_full_size.rs`). Run by hand, never by CI; the files are large
(45 MB for resnet18) and are never committed:

    python3 benches/make_bench_models.py OUT_DIR [FAMILY ...]

FAMILY names a torchvision builder (default: resnet18 mobilenet_v3_small). For each family it
writes, into OUT_DIR:

* FAMILY.onnx: ``torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, dynamo=False,
  opset_version=17)`` (TorchScript exporter, fixed batch 1, BatchNorm folded by the exporter);
* FAMILY_dynamic.onnx: the same with a dynamic batch axis on input and output;
* FAMILY_dynamo.onnx and FAMILY_dynamo_dynamic.onnx: the same with ``dynamo=True`` (opset 18,
  BatchNormalization left unfolded), if onnxscript is installed (``pip install onnxscript``);
  the dynamic one traces a batch of 2 (``torch.export`` fixes a size-1 example axis to 1);
* FAMILY_io.safetensors: a batch-2 input ``input`` f32 [2, 3, 224, 224], the float64 logits
  ``logits`` [2, 1000], the classes ``target`` i64 [2] (each row's arg max) and ``grad``, the
  float64 input gradient of ``sum_i logits[i, target[i]]`` (PyTorch in float64), and
  ``grad_f32``, the same gradient computed in float32 (how much float32 itself misses).

Weights are torchvision's random initialisation (seed 0) with non-trivial BatchNorm statistics
(running mean ~ N(0, 0.1), running variance ~ U(0.5, 1.5), affine weight ~ U(0.5, 1.5), bias ~
N(0, 0.1)), so a folding or BatchNorm bug changes the numbers; a linear weight torchvision
initializes to zero (ViT's head, which would make every logit and the gradient 0) is drawn
from N(0, 0.02). Every export is of the same
float32 model; the reference runs it converted to float64.
"""

import os
import sys

import torch
import torchvision
from safetensors.torch import save_file

DEFAULT_FAMILIES = ["resnet18", "mobilenet_v3_small"]


def build(family):
    torch.manual_seed(0)
    model = getattr(torchvision.models, family)(weights=None)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.1)
        # A zero-initialized linear weight (ViT's head) makes every logit 0 and the gradient 0.
        for m in model.modules():
            if isinstance(m, torch.nn.Linear) and not m.weight.any():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.02)
    return model.eval()


def has_onnxscript():
    try:
        import onnxscript  # noqa: F401

        return True
    except ImportError:
        return False


def export(model, path, dynamo, dynamic):
    x = torch.randn(1, 3, 224, 224)
    kwargs = dict(input_names=["input"], output_names=["logits"])
    if dynamo:
        if dynamic:
            # torch.export specializes a size-1 example dimension to the constant 1 (ConvNeXt's
            # export then fails: "batch ... specialized to be a constant (1)"), so the dynamic
            # export traces a batch of 2.
            x = torch.randn(2, 3, 224, 224)
            kwargs["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch", min=1, max=1024)}}
        torch.onnx.export(model, (x,), path, dynamo=True, opset_version=18, external_data=False,
                          **kwargs)
    else:
        if dynamic:
            kwargs["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
        torch.onnx.export(model, x, path, dynamo=False, opset_version=17, **kwargs)


def reference(model, path):
    torch.manual_seed(2)
    x = torch.randn(2, 3, 224, 224)
    m64 = model.double()
    x64 = x.double().requires_grad_(True)
    logits = m64(x64)
    target = logits.argmax(dim=1)
    logits.gather(1, target[:, None]).sum().backward()
    model.float()
    x32 = x.clone().requires_grad_(True)
    model(x32).gather(1, target[:, None]).sum().backward()
    save_file(
        {
            "input": x.contiguous(),
            "logits": logits.detach().contiguous(),
            "target": target.to(torch.int64).contiguous(),
            "grad": x64.grad.contiguous(),
            "grad_f32": x32.grad.contiguous(),
        },
        path,
    )


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_bench_models.py OUT_DIR [FAMILY ...]")
    out = sys.argv[1]
    families = sys.argv[2:] or DEFAULT_FAMILIES
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    dynamo = has_onnxscript()
    if not dynamo:
        print("onnxscript is not installed: skipping the dynamo=True exports")
    for family in families:
        model = build(family)
        for dyn in [False, True]:
            suffix = "_dynamic" if dyn else ""
            export(model, os.path.join(out, f"{family}{suffix}.onnx"), False, dyn)
            if dynamo:
                export(model, os.path.join(out, f"{family}_dynamo{suffix}.onnx"), True, dyn)
        reference(model, os.path.join(out, f"{family}_io.safetensors"))
        print("wrote", family)


if __name__ == "__main__":
    main()
