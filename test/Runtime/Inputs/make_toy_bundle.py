#!/usr/bin/env python3
"""Writes the toy bundle of the dla-run tests (no compiler needed).

make_toy_bundle.py OUT_DIR writes
  OUT_DIR/toy.dlab/manifest.json   host bundle: y = 2 * x + bias[c] - 1
  OUT_DIR/gpu.dlab/                the same with a 'cuda' section and a
                                   placeholder cubin (a bare ELF header), for
                                   the no-driver test
  OUT_DIR/cuda.dlab/               the same with only a 'cuda' section (sm_90)
                                   and the PTX of toy_kernels.cu, for the fake
                                   driver (fake-driver.test): kernels.cubin is
                                   a minimal ELF for EM_CUDA, sm_90 in e_flags,
                                   whose string table names the kernels (what
                                   the fake driver reads); kernels.ptx is a
                                   copy of Inputs/toy_kernels.ptx
  OUT_DIR/w.safetensors            bias = [0.5, -3]
  OUT_DIR/x.safetensors            x = i / 8 - 2
  OUT_DIR/expected.safetensors     y
  OUT_DIR/wrong.safetensors        y with one value off by 0.01
  OUT_DIR/x_bad_shape.safetensors  x of shape [1, 32]
  OUT_DIR/cuda-noptx.dlab/         cuda.dlab without its PTX
  OUT_DIR/w_nan.safetensors        bias = [0.5, NaN]
  OUT_DIR/w_f64_huge.safetensors   bias = [1e300, -1e300] as F64 (beyond float:
                                   +-Inf once converted)
  OUT_DIR/x_inf.safetensors        x with +Inf at element 5, -Inf at 9
The kernels.so is compiled by the RUN line from toy_kernels.c.
Plain Python (struct/json) so that it runs without numpy.
"""
import json
import os
import struct
import sys


def write_safetensors(path, tensors, dtype="F32"):
    """tensors: {name: (shape, [floats])}, written as F32 (or F64)."""
    header, data = {}, b""
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack("<%d%s" % (len(values), "d" if dtype == "F64" else "f"),
                           *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def step(kernel, grid, args):
    # Every toy kernel writes its last buffer and reads the others.
    return {"kernel": kernel, "grid": grid, "block": [32, 1, 1],
            "shared_bytes": 0, "args": args, "writes": 1}


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


def fake_cubin(sm, names):
    """A 64-bit little-endian ELF for EM_CUDA (190), ABI version 8 with the SM
    version in bits 8-15 of e_flags (as ptxas writes it), with one string
    table section holding `names`. Not loadable by a real driver."""
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    strtab += b"\0" * (-len(strtab) % 8)
    shoff = 64 + len(strtab)
    header = (b"\x7fELF\x02\x01\x01\x41\x08" + b"\0" * 7 +
              struct.pack("<HHIQQQIHHHHHH", 1, 190, 1, 0, 0, shoff, sm << 8,
                          64, 0, 0, 64, 2, 0))
    null = b"\0" * 64
    # sh_name, sh_type (SHT_STRTAB), sh_flags, sh_addr, sh_offset, sh_size,
    # sh_link, sh_info, sh_addralign, sh_entsize
    section = struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, 64, len(strtab), 0, 0, 1, 0)
    return header + strtab + null + section


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
    d = os.path.join(out, "cuda.dlab")
    os.makedirs(d, exist_ok=True)
    m = manifest(True)
    m["cuda"]["ptx"] = "kernels.ptx"
    del m["host"]  # cuda only: no kernels.so to compile
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)
    with open(os.path.join(d, "kernels.cubin"), "wb") as f:
        f.write(fake_cubin(90, ["init_expand_bias", "scale_add", "minus_one"]))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "toy_kernels.ptx"), "rb") as src, \
            open(os.path.join(d, "kernels.ptx"), "wb") as dst:
        dst.write(src.read())
    d = os.path.join(out, "cuda-noptx.dlab")
    os.makedirs(d, exist_ok=True)
    del m["cuda"]["ptx"]
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)
    with open(os.path.join(d, "kernels.cubin"), "wb") as f:
        f.write(fake_cubin(90, ["init_expand_bias", "scale_add", "minus_one"]))
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
    write_safetensors(os.path.join(out, "w_nan.safetensors"),
                      {"bias": ([2], [0.5, float("nan")])})
    write_safetensors(os.path.join(out, "w_f64_huge.safetensors"),
                      {"bias": ([2], [1e300, -1e300])}, dtype="F64")
    x_inf = list(x)
    x_inf[5], x_inf[9] = float("inf"), -float("inf")
    write_safetensors(os.path.join(out, "x_inf.safetensors"),
                      {"x": ([1, 2, 4, 4], x_inf)})


if __name__ == "__main__":
    main()
