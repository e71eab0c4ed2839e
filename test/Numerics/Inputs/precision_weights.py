"""Checkpoints for precision.test from a parity case's f32 weights:

    precision_weights.py CASE_DIR OUT_DIR

OUT/f16.safetensors, OUT/bf16.safetensors  every tensor converted to F16 / BF16
OUT/overflow.safetensors                   hm.2.bias[1] = 70000: finite in f32,
                                           past the largest f16 (65504)
OUT/overflow-tf32.safetensors              hm.2.bias[1] = 3.4028e38: finite in f32,
                                           past the largest tf32 (3.4012e38)
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "python"))

import torch  # noqa: E402

from dla_safetensors import load_file, save_file  # noqa: E402

case, out = sys.argv[1], sys.argv[2]
weights = load_file(os.path.join(case, "weights.safetensors"))
for name, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
    save_file({k: v.to(dtype) for k, v in weights.items()}, os.path.join(out, name + ".safetensors"))
bad = dict(weights)
bad["hm.2.bias"] = bad["hm.2.bias"].clone()
bad["hm.2.bias"][1] = 70000.0
save_file(bad, os.path.join(out, "overflow.safetensors"))
bad["hm.2.bias"][1] = 3.4028e38
save_file(bad, os.path.join(out, "overflow-tf32.safetensors"))
