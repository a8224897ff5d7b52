"""Writes the real-model benchmark files into OUT (default /tmp/smoothgrad-bench-models):
resnet18 and mobilenet_v3_small from torchvision with random weights and non-trivial BatchNorm
statistics, as NAME.onnx (the usual `torch.onnx.export(model, torch.randn(1, 3, 224, 224), path)`)
and NAME.pt (the state dict, for the PyTorch peer), plus inputs.safetensors (`input`: 8 images,
3x224x224, uniform [0, 1)). Run with the torch peer environment:

    python benches/peers/make_models.py [OUT]
"""
import os
import sys

import torch
import torchvision
from safetensors.torch import save_file

MODELS = ("resnet18", "mobilenet_v3_small")


def build(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/smoothgrad-bench-models"
    os.makedirs(out, exist_ok=True)
    for name in MODELS:
        model = build(name)
        torch.save(model.state_dict(), os.path.join(out, f"{name}.pt"))
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(out, f"{name}.onnx"),
                          dynamo=False, opset_version=17)
    g = torch.Generator().manual_seed(1)
    save_file({"input": torch.rand(8, 3, 224, 224, generator=g)},
              os.path.join(out, "inputs.safetensors"))
    print("wrote", out)


if __name__ == "__main__":
    main()
