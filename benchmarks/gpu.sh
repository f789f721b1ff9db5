#!/usr/bin/env bash
# One prepared GPU benchmark (well under 10 minutes on an H100): DCGAN-64 training (fp32 / bf16 autocast, eager /
# torch.compile) against the pytorch/examples step, and sampling in PyTorch eager against ONNX Runtime's CUDA and
# TensorRT providers when onnxruntime-gpu is installed. Writes $OUT/gpu.json (or benchmarks/results/gpu.json).
#
#   bash benchmarks/gpu.sh                 # on any machine with CUDA PyTorch
#
# The device machines of this workplace have CUDA PyTorch, onnx and (CPU) onnxruntime but no internet, so ganzoo is
# installed without dependencies (the image has them); onnxruntime-gpu is too large to carry there, so its rows
# say "unavailable" unless it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
RESULT="${OUT:-benchmarks/results}/gpu.json"
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 benchmarks/gpu_bench.py --json "$RESULT" "$@"
echo "wrote $RESULT"
