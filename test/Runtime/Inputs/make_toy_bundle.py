#!/usr/bin/env python3
"""Writes the toy bundle of the dla-run tests (no compiler needed).

make_toy_bundle.py OUT_DIR writes
  OUT_DIR/toy.dlab/manifest.json   host bundle: y = 2 * x + bias[c] - 1
  OUT_DIR/gpu.dlab/                the same with a 'cuda' section and a
                                   placeholder cubin (a bare ELF header), for
                                   the no-driver test
  OUT_DIR/w.safetensors            bias = [0.5, -3]
  OUT_DIR/x.safetensors            x = i / 8 - 2
  OUT_DIR/expected.safetensors     y
  OUT_DIR/wrong.safetensors        y with one value off by 0.01
  OUT_DIR/x_bad_shape.safetensors  x of shape [1, 32]
The kernels.so is compiled by the RUN line from toy_kernels.c.
Plain Python (struct/json) so that it runs without numpy.
"""
import json
import os
import struct
import sys


def write_safetensors(path, tensors):
    """tensors: {name: (shape, [floats])}, written as F32."""
    header, data = {}, b""
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def step(kernel, grid, args):
    return {"kernel": kernel, "grid": grid, "block": [32, 1, 1],
            "shared_bytes": 0, "args": args}


def manifest(cuda):
    m = {
        "format": "dlab", "version": 1, "model": "toy", "producer": "make_toy_bundle.py",
        "host": {"library": "kernels.so"},
        "inputs": [{"name": "x", "shape": [1, 2, 4, 4], "dtype": "f32", "buffer": 0}],
        "outputs": [{"name": "y", "shape": [1, 2, 4, 4], "dtype": "f32", "buffer": 1}],
        "parameters": [{"name": "bias", "shape": [2], "dtype": "f32", "buffer": 2}],
        "buffers": [
            {"id": 0, "kind": "input", "bytes": 128},
            {"id": 1, "kind": "output", "bytes": 128},
            {"id": 2, "kind": "parameter", "bytes": 8},
            {"id": 3, "kind": "prepared", "bytes": 128, "offset": 0},
            {"id": 4, "kind": "activation", "bytes": 128, "offset": 0},
        ],
        "memory": {"arena_bytes": 128, "prepared_bytes": 128,
                   "activation_bytes_total": 128},
        "init": [step("init_expand_bias", [1, 1, 1], [2, 3])],
        "forward": [step("scale_add", [2, 2, 2], [0, 3, 4]),
                    step("minus_one", [32, 1, 1], [4, 1])],
    }
    if cuda:
        m["cuda"] = {"archs": ["sm_90"], "binary": "kernels.cubin"}
    return m


def main():
    out = sys.argv[1]
    for name, cuda in (("toy.dlab", False), ("gpu.dlab", True)):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump(manifest(cuda), f, indent=2)
        if cuda:
            # A 64-bit ELF header for EM_CUDA (190) and nothing else: passes
            # the runtime's completeness check, so the driver is asked next.
            elf = b"\x7fELF\x02\x01\x01" + b"\0" * 11 + struct.pack("<H", 190)
            with open(os.path.join(d, "kernels.cubin"), "wb") as f:
                f.write(elf + b"\0" * (64 - len(elf)))
    bias = [0.5, -3.0]
    x = [i / 8 - 2 for i in range(32)]
    y = [2 * v + bias[i // 16] - 1 for i, v in enumerate(x)]
    wrong = list(y)
    wrong[21] += 0.01
    write_safetensors(os.path.join(out, "w.safetensors"), {"bias": ([2], bias)})
    write_safetensors(os.path.join(out, "x.safetensors"), {"x": ([1, 2, 4, 4], x)})
    write_safetensors(os.path.join(out, "expected.safetensors"), {"y": ([1, 2, 4, 4], y)})
    write_safetensors(os.path.join(out, "wrong.safetensors"), {"y": ([1, 2, 4, 4], wrong)})
    write_safetensors(os.path.join(out, "x_bad_shape.safetensors"), {"x": ([1, 32], x)})


if __name__ == "__main__":
    main()
