#!/usr/bin/env bash
# Creates the peer environments the side-by-side benchmark uses, under PEERS (default
# /tmp/smoothgrad-peers): torch (PyTorch + Captum + torchvision), jax (JAX on CPU) and tf
# (TensorFlow CPU + Xplique). Several GB from PyPI; run once per machine; idempotent.
#   bash benches/peers/setup.sh
set -euo pipefail
PEERS=${PEERS:-/tmp/smoothgrad-peers}
mkdir -p "$PEERS"
make_env() {
  local env=$PEERS/$1
  shift
  if [[ -f $env/.ready ]]; then
    echo "$env: ready"
    return 0
  fi
  python3 -m venv "$env"
  "$env/bin/pip" install --quiet --upgrade pip
  "$env/bin/pip" install --quiet "$@"
  touch "$env/.ready"
  echo "$env: installed $*"
}
make_env torch torch torchvision captum numpy safetensors onnx onnxscript
make_env jax "jax[cpu]" numpy
make_env tf tensorflow-cpu xplique numpy
echo "peer environments ready under $PEERS"
