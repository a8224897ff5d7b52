#!/usr/bin/env bash
# The side-by-side benchmark against PyTorch + Captum, JAX and TensorFlow + Xplique, in one go
# (see benches/peers/README.md): creates the peer environments if needed, then prints the table.
#   bash benches/compare_peers.sh [--models] [--images N] [--samples N] [--threads N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/peers/setup.sh"
exec python3 "$here/peers/compare.py" "$@"
