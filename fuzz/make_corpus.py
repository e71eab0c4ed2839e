#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz/corpus/<target>/ from the repository.

  fuzz_model_spec   examples/*.json, test/Numerics/Inputs/*.json and every
                    JSON file embedded (split-file) in test/Frontend/*.test
  fuzz_safetensors  tiny valid and invalid safetensors files made here
  fuzz_dla_parser   every `// -----` chunk of the .mlir tests
  fuzz_manifest     the manifests of test/Runtime/Inputs/make_toy_bundle.py
                    and variants of them (CUDA sections, other versions)
  fuzz_kernel_files ELF headers (complete, and with a segment past the end)
                    and fatbin headers, made here

Files are named by content hash, so rerunning it is idempotent. Plain Python
(no numpy/torch): python3 fuzz/make_corpus.py
"""
import glob
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def model_spec():
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.json")) +
                       glob.glob(os.path.join(ROOT, "test", "Numerics", "Inputs", "*.json"))):
        with open(path, "rb") as f:
            put("fuzz_model_spec", f.read())
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "Frontend", "*.test"))):
        text = open(path).read()
        # split-file: "//--- name" starts a file, which runs to the next one.
        parts = re.split(r"^//--- (\S+)\n", text, flags=re.M)
        for i in range(1, len(parts), 2):
            if parts[i].endswith(".json"):
                body = "\n".join(l for l in parts[i + 1].splitlines()
                                 if not l.startswith("//"))
                if len(body) < 4096:
                    put("fuzz_model_spec", body + "\n")


def safetensors_bytes(tensors, metadata=None, raw_header=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, data, offset = {}, b"", 0
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(payload)]}
        data += payload
        offset += len(payload)
    if metadata:
        header["__metadata__"] = metadata
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors():
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)
    t = "fuzz_safetensors"
    put(t, safetensors_bytes([("w", "F32", [2, 2], f32(1, -2, 3.5, float("nan")))],
                             {"producer": "make_corpus"}), "valid-f32")
    put(t, safetensors_bytes([("a.weight", "F32", [2, 1, 1, 1], f32(1, 2)),
                              ("a.bias", "F16", [2], b"\x00\x3c\x00\x7c"),
                              ("b", "BF16", [1], b"\x80\x3f"),
                              ("c", "F64", [1], struct.pack("<d", 1e300)),
                              ("n.num_batches_tracked", "I64", [], struct.pack("<q", 7)),
                              ("m", "BOOL", [3], b"\x01\x00\x01"),
                              ("i8", "I8", [2], b"\x7f\x80"),
                              ("u8", "U8", [0, 4], b""),
                              ("i16", "I16", [1], b"\x01\x00"),
                              ("i32", "I32", [1], b"\x01\x00\x00\x00")]), "valid-mixed")
    put(t, safetensors_bytes([("s", "F32", [], f32(3))]), "valid-scalar")
    put(t, safetensors_bytes([]), "valid-empty-object")
    good = safetensors_bytes([("w", "F32", [2], f32(1, 2))])
    put(t, good[:-3], "truncated-data")
    put(t, good[:5], "truncated-length")
    put(t, b"", "empty")
    put(t, struct.pack("<Q", 1000000) + b"{}", "header-too-long")
    put(t, safetensors_bytes([], raw_header='{"w": {"dtype": "F32", '), "bad-json")
    put(t, safetensors_bytes([], raw_header='[1, 2]'), "not-object")
    put(t, safetensors_bytes([], raw_header=
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}') + f32(1), "duplicate")
    put(t, safetensors_bytes([], raw_header=
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}') + f32(1, 2), "overlap")
    put(t, safetensors_bytes([], raw_header=
        '{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}') + f32(1),
        "overflow")
    put(t, safetensors_bytes([], raw_header=
        '{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}') + f32(1), "bad-dtype")
    put(t, safetensors_bytes([], raw_header=
        '{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[-1],"data_offsets":[4,0]}}'),
        "bad-metadata")


def dla_parser():
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "Dialect", "DLA", "*.mlir")) +
                       glob.glob(os.path.join(ROOT, "test", "Passes", "*.mlir"))):
        for chunk in open(path).read().split("// -----"):
            body = "\n".join(l for l in chunk.splitlines()
                             if not l.lstrip().startswith("//")).strip()
            if body:
                put("fuzz_dla_parser", body + "\n")


def manifest():
    maker = os.path.join(ROOT, "test", "Runtime", "Inputs", "make_toy_bundle.py")
    if not os.path.exists(maker):
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, maker, tmp], check=True,
                       stdout=subprocess.DEVNULL)
        for path in sorted(glob.glob(os.path.join(tmp, "*", "manifest.json"))):
            m = json.load(open(path))
            put("fuzz_manifest", json.dumps(m, separators=(",", ":")))
    base = m
    variants = [
        dict(base, version=2),
        dict(base, cuda={"archs": ["sm_80", "sm_90a"], "binary": "kernels.fatbin",
                         "ptx": "kernels.ptx"}),
        dict(base, host={"library": "../etc/passwd"}),
        dict(base, memory={"arena_bytes": 18446744073709551615, "prepared_bytes": 0}),
        # Digests of the fuzz target's (empty) kernel files: valid and not.
        dict(base, files={"kernels.so": {"bytes": 0, "sha256": hashlib.sha256(b"").hexdigest()}}),
        dict(base, files={"kernels.so": {"bytes": 1, "sha256": "0" * 64}}),
        dict(base, host={"library": "kernels.so", "cpu": "x86-64-v3",
                         "features": ["sse2", "avx", "avx2", "fma"]}),
    ]
    for v in variants:
        put("fuzz_manifest", json.dumps(v, separators=(",", ":")))
    put("fuzz_manifest", "{\"format\": \"dlab\", \"version\": 1e400}")


def elf64(segments, size):
    """An ELF64 shared-object header with one program header per (offset,
    filesz) segment, padded with zeros to `size` bytes."""
    phoff, phentsize = 64, 56
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, 64,
                                 phentsize, len(segments), 64, 0, 0)
    for off, filesz in segments:
        header += struct.pack("<IIQQQQQQ", 1, 5, off, off, off, filesz, filesz, 4096)
    return header + bytes(max(0, size - len(header)))


def kernel_files():
    put("fuzz_kernel_files", elf64([(0, 512)], 512))           # complete
    put("fuzz_kernel_files", elf64([(0, 512), (4096, 800)], 1024))  # cut short
    put("fuzz_kernel_files", elf64([], 64))
    # fatbin: magic, version 1, header size 16, then fat size.
    put("fuzz_kernel_files", struct.pack("<IHHQ", 0xBA55ED50, 1, 16, 64) + bytes(64))
    put("fuzz_kernel_files", struct.pack("<IHHQ", 0xBA55ED50, 1, 16, 1 << 40))


if __name__ == "__main__":
    model_spec()
    manifest()
    kernel_files()
    safetensors()
    dla_parser()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f"{t}: {len(files)} files, {size} bytes")
