"""Runs the side-by-side benchmark in one go and prints the speed table with ratios.

    python3 benches/peers/compare.py [--images 8] [--samples 50] [--threads 2] [--models]

Needs `cargo build --release` (done first) and the peer environments of setup.sh under PEERS
(default /tmp/smoothgrad-peers). For each of the four workloads it runs `smoothgrad bench` and the
three peer scripts, alternating, in the same run on the same machine (the only way a ratio means
something on a shared machine); each measures in-process, best of three passes after a warm-up.
With --models it also times resnet18 and mobilenet_v3_small at 224x224 as whole processes
(process start and model load included): `smoothgrad explain --model NAME.onnx` against
bench_torch_model.py, after make_models.py has written the files (it is run if they are missing).
It ends with the machine's measured GEMM ceiling (gemm_ceiling.py) and the date.
"""
import argparse
import datetime
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = os.environ.get("PEERS", "/tmp/smoothgrad-peers")
OURS = os.path.join(ROOT, "target", "release", "smoothgrad")
RATE = re.compile(r"([0-9.]+) explanations/s")
PEER_SCRIPTS = [("PyTorch + Captum", "torch", "bench_torch.py"),
                ("JAX", "jax", "bench_jax.py"),
                ("TF + Xplique", "tf", "bench_tf.py")]


def python(env):
    return os.path.join(PEERS, env, "bin", "python")


def rate_of(cmd):
    """The explanations/s a bench command prints (None if it failed)."""
    out = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    found = RATE.findall(out.stdout)
    if out.returncode != 0 or not found:
        sys.stderr.write(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}\n")
        return None
    return float(found[-1])


def wall(cmd):
    """Seconds of one whole-process run (None if it failed)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        sys.stderr.write(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}\n")
        return None
    return seconds


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def workloads(args):
    print(f"| workload | ours | {' | '.join(p[0] for p in PEER_SCRIPTS)} | ours / best peer |")
    print("|---|---|" + "---|" * len(PEER_SCRIPTS) + "---|")
    for name in ("mlp", "lenet", "cifar", "vgg64"):
        ours = rate_of([OURS, "bench", "--workload", name, "--images", str(args.images),
                        "--samples", str(args.samples), "--threads", str(args.threads)])
        peers = [rate_of([python(env), script, name, str(args.images), str(args.samples),
                          str(args.threads)]) for _, env, script in PEER_SCRIPTS]
        best = max((p for p in peers if p is not None), default=None)
        ratio = ours / best if ours and best else None
        cells = " | ".join(fmt(p) for p in peers)
        print(f"| {name} | {fmt(ours)} | {cells} | {fmt(ratio, 2)} |", flush=True)


def models(args):
    root = os.environ.get("MODELS", "/tmp/smoothgrad-bench-models")
    if not os.path.exists(os.path.join(root, "inputs.safetensors")):
        subprocess.run([python("torch"), "make_models.py", root], cwd=HERE, check=True)
    print()
    print("| model (224x224, 8 images, whole process) | ours s | PyTorch + Captum s | speed-up |")
    print("|---|---|---|---|")
    out = os.path.join(root, "attributions.safetensors")
    for name in ("resnet18", "mobilenet_v3_small"):
        ours = wall([OURS, "explain", "--model", os.path.join(root, f"{name}.onnx"),
                     "--input", os.path.join(root, "inputs.safetensors"), "--output", out,
                     "--method", "smoothgrad", "--samples", str(args.samples), "--noise", "0.15",
                     "--noise-mode", "absolute", "--batch-size", str(args.samples),
                     "--threads", str(args.threads)])
        torch = wall([python("torch"), "bench_torch_model.py", name, root, str(args.samples),
                      str(args.threads)])
        ratio = torch / ours if ours and torch else None
        print(f"| {name} | {fmt(ours)} | {fmt(torch)} | {fmt(ratio, 2)} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", action="store_true", help="also time the real models")
    args = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(f"explanations/s, {args.images} images, {args.samples} samples, sigma 0.15, "
          f"{args.threads} threads")
    print()
    workloads(args)
    if args.models:
        models(args)
    ceiling = subprocess.run([python("torch"), "gemm_ceiling.py", str(args.threads)], cwd=HERE,
                             capture_output=True, text=True).stdout.strip()
    print()
    print(f"{ceiling}; {datetime.date.today().isoformat()}; "
          f"`python3 benches/peers/compare.py{' --models' if args.models else ''}`")


if __name__ == "__main__":
    main()
