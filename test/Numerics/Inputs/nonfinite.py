"""Writes checkpoints and inputs for Inputs/tiny.json into OUTDIR, one clean
and one per kind of non-finite value (see nan-inf.test). Plain Python: the
parameter list comes from `dlac --emit=params` (PARAMS), the values are
constants, so the test needs neither torch nor numpy.

usage: nonfinite.py PARAMS OUTDIR"""

import json
import math
import os
import struct
import sys


def save(path, tensors):
    header, data = {}, b""
    for name, (shape, values) in sorted(tensors.items()):
        payload = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


params_file, out = sys.argv[1], sys.argv[2]
params = {}
for line in open(params_file):
    name, shape = line.split(" ", 1)
    shape = json.loads(shape)
    count = math.prod(shape)
    # running_var 1 and everything else 0.01: finite, small outputs.
    params[name] = (shape, [1.0 if name.endswith("running_var") else 0.01] * count)

save(os.path.join(out, "good.safetensors"), params)
image = ([1, 3, 32, 32], [0.5] * (3 * 32 * 32))
save(os.path.join(out, "input.safetensors"), {"input": image})


def with_value(tensors, name, index, value):
    copy = dict(tensors)
    shape, values = copy[name]
    values = list(values)
    values[index] = value
    copy[name] = (shape, values)
    return copy


# A NaN pixel in the input: element 1026 of [1, 3, 32, 32] is [0, 1, 0, 2].
save(os.path.join(out, "input-nan.safetensors"),
     {"input": with_value({"input": image}, "input", 1026, float("nan"))["input"]})

# The damaged checkpoints name tiny.json's parameters (a bare DLA); other
# models get the input above only.
if "base_layer.0.weight" not in params:
    sys.exit(0)

# One NaN in a conv weight: element 5 of [4, 3, 7, 7] is index [0, 0, 0, 5].
save(os.path.join(out, "nan.safetensors"),
     with_value(params, "base_layer.0.weight", 5, float("nan")))
# +Inf in a BatchNorm variance, and three -Inf in a bias-like vector.
save(os.path.join(out, "inf.safetensors"),
     with_value(params, "level0.1.running_var", 2, float("inf")))
ninf = with_value(params, "level5.root.bn.bias", 1, -float("inf"))
ninf = with_value(ninf, "level5.root.bn.bias", 4, -float("inf"))
ninf = with_value(ninf, "level5.root.bn.bias", 7, float("nan"))
save(os.path.join(out, "ninf.safetensors"), ninf)
# Finite, but folding overflows: gamma 3e38 over sqrt(1e-6 + 1e-5).
big = with_value(params, "level0.1.weight", 0, 3e38)
save(os.path.join(out, "overflow.safetensors"),
     with_value(big, "level0.1.running_var", 0, 1e-6))
# A negative BatchNorm variance: finite, but sqrt(var + eps) is NaN.
save(os.path.join(out, "negvar.safetensors"),
     with_value(params, "level0.1.running_var", 3, -0.5))
