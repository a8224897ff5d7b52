#!/usr/bin/env bash
# Times SmoothGrad side by side with the peers, one workload at a time: ours, then
# PyTorch + Captum, JAX and TensorFlow + Xplique, in the same run on the same machine, so the
# ratios mean something on a shared machine. The peer scripts (bench_torch.py, bench_jax.py,
# bench_xplique.py and their setup.sh) are not in this repository yet: point PEERS_SRC at a folder
# that holds them, after running its setup.sh once.
#   PEERS_SRC=DIR bash benches/compare_peers.sh [WORKLOAD...]   (default: mlp lenet cifar vgg64)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_SRC:?set PEERS_SRC to the folder of the peer benchmark scripts (see the header)}
envs=${PEERS:-/tmp/peers}
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
cd "$peers"
date -u
for w in "${@:-mlp lenet cifar vgg64}"; do
  for one in $w; do
    "$root/target/release/smoothgrad" bench --workload "$one" --images 8 --samples 50 --threads 2
    "$envs/torchenv/bin/python" bench_torch.py "$one" 8 50 2 2>/dev/null | tail -1
    "$envs/jaxenv/bin/python" bench_jax.py "$one" 8 50 2>/dev/null | tail -1
    "$envs/tfenv/bin/python" bench_xplique.py "$one" 8 50 2>/dev/null | tail -1
  done
done
