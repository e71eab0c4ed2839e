# REQUIRES: numpy, ptxas
# An ASan build's libdlart cannot be loaded into the uninstrumented Python.
# UNSUPPORTED: sanitizers
# RUN: rm -rf %t && mkdir -p %t
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --target cuda -o %t/tiny.dlab
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --emit=params -o %t/params.txt
# RUN: %python %dla_src/test/python/Inputs/random_weights.py %t/params.txt %t/w.safetensors
# RUN: env DLART_LIBRARY=%libdlart %python %s %t | FileCheck %s
# CHECK: cuda-emu, 1 thread, kernels-emu.so
# CHECK: cuda-emu: the same bits on 1 and 3 threads and through a context
"""The cuda-emu device from Python (device="cuda-emu"): a --target all
bundle's CUDA kernels on this CPU give the same bits on any number of host
threads and through an execution context (their float64 truth is checked
by test/Runtime/cuda-emu.test)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

import dlart  # noqa: E402

work = sys.argv[1]
bundle, weights = os.path.join(work, "tiny.dlab"), os.path.join(work, "w.safetensors")
x = np.random.default_rng(11).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)

one = dlart.Model(bundle, weights=weights, device="cuda-emu", threads=1)
three = dlart.Model(bundle, weights=weights, device="cuda-emu", threads=3)
print(one.device_info)
a, b, c = one(x), three(x), three.context()(x)
same = all(np.array_equal(a[k], b[k]) and np.array_equal(a[k], c[k]) for k in a)
print("cuda-emu: the same bits on 1 and 3 threads and through a context" if same
      else "cuda-emu: results differ between thread counts or contexts")
