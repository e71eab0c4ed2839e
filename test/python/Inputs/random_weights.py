"""Writes seeded random weights for a model into OUT (safetensors, F32), from
the parameter list of `dlac --emit=params` (PARAMS: one "name [shape]" a
line): normal values of scale 0.3, BatchNorm variances in [0.5, 1.5), so the
outputs of tiny.json are varied and finite. numpy only.

usage: random_weights.py PARAMS OUT [SEED]"""

import json
import struct
import sys

import numpy as np


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        payload = np.ascontiguousarray(tensors[name], "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(payload)]}
        blobs.append(payload)
        offset += len(payload)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


params, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
tensors = {}
for line in open(params):
    name, shape = line.split(" ", 1)
    shape = json.loads(shape)
    if name.endswith("running_var"):
        tensors[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    else:
        tensors[name] = (0.3 * rng.standard_normal(shape)).astype(np.float32)
save(out, tensors)
