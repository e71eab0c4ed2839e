"""Writes a valid checkpoint and input for Inputs/tiny.json into OUTDIR, plus
one corrupted copy per class of damage (see bad-weights.test)."""

import json
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
sys.path.insert(0, os.path.join(root, "python"))

import torch  # noqa: E402

import dla_torch  # noqa: E402
from dla_safetensors import save_file  # noqa: E402

out = sys.argv[1]
model, _ = dla_torch.build_model(dla_torch.load_spec(os.path.join(os.path.dirname(__file__), "tiny.json")))
sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
save_file(sd, os.path.join(out, "good.safetensors"))
save_file({"input": torch.zeros(1, 3, 32, 32)}, os.path.join(out, "input.safetensors"))
save_file({"input": torch.zeros(1, 3, 16, 32)}, os.path.join(out, "input-shape.safetensors"))

blob = open(os.path.join(out, "good.safetensors"), "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n])


def write(name, data):
    open(os.path.join(out, name), "wb").write(data)


def with_header(h):
    text = json.dumps(h).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + blob[8 + n:]


write("truncated.safetensors", blob[: len(blob) // 2])
write("header-too-long.safetensors", struct.pack("<Q", 10**6) + blob[8:100])
write("bad-json.safetensors", struct.pack("<Q", 16) + b"{not json here!}")
h = json.loads(json.dumps(header))
h["level0.0.weight"]["data_offsets"][1] += 10**6
write("offsets.safetensors", with_header(h))
sd2 = dict(sd)
sd2["level0.0.weight"] = sd["level0.0.weight"].to(torch.int64)
save_file(sd2, os.path.join(out, "dtype.safetensors"))
sd3 = dict(sd)
sd3["level0.0.weight"] = torch.zeros(4, 4, 1, 1)
save_file(sd3, os.path.join(out, "shape.safetensors"))
sd4 = dict(sd)
del sd4["level0.1.running_var"]
save_file(sd4, os.path.join(out, "missing.safetensors"))
sd5 = dict(sd)
sd5["extra.weight"] = torch.zeros(2)
save_file(sd5, os.path.join(out, "unexpected.safetensors"))
