"""SmoothGrad in PyTorch + Captum (NoiseTunnel over Saliency), CPU, eager mode.

    python bench_torch.py WORKLOAD [N_IMAGES] [SAMPLES] [THREADS]

PyTorch's fastest documented CPU settings for this job: the model in eval mode, its parameters
frozen (no weight gradients are computed), all samples of an image in one batch, `THREADS`
intra-op threads. (`torch.inference_mode` would forbid the input gradient SmoothGrad needs.)
"""
import sys

import torch
from captum.attr import NoiseTunnel, Saliency

from workloads import SIGMA, WORKLOADS, best_of_three, inputs, report, weights


def build(name):
    layers = []
    for layer in WORKLOADS[name][1]:
        kind = layer[0]
        if kind == "conv":
            layers.append(torch.nn.Conv2d(layer[1], layer[2], layer[3], padding=layer[4]))
        elif kind == "linear":
            layers.append(torch.nn.Linear(layer[1], layer[2]))
        elif kind == "relu":
            layers.append(torch.nn.ReLU())
        elif kind == "maxpool":
            layers.append(torch.nn.MaxPool2d(layer[1]))
        elif kind == "flatten":
            layers.append(torch.nn.Flatten())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights(name).items()})
    model.eval()
    model.requires_grad_(False)
    return model


def main():
    name = sys.argv[1]
    n_images = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    model = build(name)
    xs = torch.from_numpy(inputs(name, n_images))
    with torch.no_grad():
        targets = model(xs).argmax(dim=1).tolist()
    tunnel = NoiseTunnel(Saliency(model))

    def explain(i):
        tunnel.attribute(xs[i:i + 1], nt_type="smoothgrad", nt_samples=samples,
                         nt_samples_batch_size=samples, stdevs=SIGMA, target=targets[i],
                         abs=False)

    explain(0)
    seconds = best_of_three(lambda: [explain(i) for i in range(n_images)])
    report("torch+captum", name, n_images, samples, seconds)


if __name__ == "__main__":
    main()
