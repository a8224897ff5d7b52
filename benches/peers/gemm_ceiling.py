"""The machine's measured fp32 GEMM ceiling: the best of five 2048^3 sgemms in PyTorch (MKL or
OpenBLAS) with THREADS threads, in GFLOP/s. The speed table reports every figure against it.

    python gemm_ceiling.py [THREADS]
"""
import sys
import time

import torch

n = 2048
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
a = torch.randn(n, n)
b = torch.randn(n, n)
a @ b
best = float("inf")
for _ in range(5):
    t0 = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t0)
print(f"gemm ceiling: {2 * n ** 3 / best / 1e9:.1f} GFLOP/s (sgemm {n}^3, best of 5)")
