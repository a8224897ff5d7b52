"""SmoothGrad of a torchvision model in PyTorch + Captum, timed as a whole process by the
caller (process start, imports and model load included), as `smoothgrad explain` is timed.

    python bench_torch_model.py NAME MODELS_DIR [SAMPLES] [THREADS]

Explains every image of MODELS_DIR/inputs.safetensors for its predicted class with SAMPLES noisy
samples (sigma 0.15) in one batch per image, the model in eval mode with frozen parameters.
"""
import os
import sys

import torch
import torchvision
from captum.attr import NoiseTunnel, Saliency
from safetensors.torch import load_file


def main():
    name, root = sys.argv[1], sys.argv[2]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    model = getattr(torchvision.models, name)(weights=None)
    model.load_state_dict(torch.load(os.path.join(root, f"{name}.pt")))
    model.eval()
    model.requires_grad_(False)
    xs = load_file(os.path.join(root, "inputs.safetensors"))["input"]
    with torch.no_grad():
        targets = model(xs).argmax(dim=1).tolist()
    tunnel = NoiseTunnel(Saliency(model))
    for i in range(xs.shape[0]):
        tunnel.attribute(xs[i:i + 1], nt_type="smoothgrad", nt_samples=samples,
                         nt_samples_batch_size=samples, stdevs=0.15, target=targets[i], abs=False)
    print(f"torch+captum {name}: {xs.shape[0]} images explained")


if __name__ == "__main__":
    main()
