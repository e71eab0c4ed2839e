# RUN: %python %s
# REQUIRES: torch
"""python/dla_safetensors.py: values survive a write/read round trip for every
supported dtype, and the bytes follow the safetensors format (u64 LE header
length, compact JSON header padded with spaces to a multiple of 8, tensors
sorted by descending dtype alignment then name, contiguous offsets, little
endian data). Malformed files are rejected."""

import json
import os
import struct
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dla_safetensors as st  # noqa: E402

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


g = torch.Generator().manual_seed(0)
tensors = {
    "w.f32": torch.randn(3, 5, generator=g),
    "a.f64": torch.randn(7, generator=g, dtype=torch.float64),
    "h.f16": torch.randn(2, 3, generator=g).half(),
    "b.bf16": torch.randn(4, 1, generator=g).bfloat16(),
    "i64": torch.tensor([-(2 ** 40), 3, 0], dtype=torch.int64),
    "i32": torch.tensor([[-7, 2 ** 30]], dtype=torch.int32),
    "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "scalar": torch.tensor(1.5),
    "empty": torch.zeros(0, 4),
    "strided": torch.arange(12, dtype=torch.float32).view(3, 4).t(),  # non-contiguous
    "np.f32": np.arange(6, dtype=np.float32).reshape(2, 3),
    "np.be": np.arange(3, dtype=">f4"),  # big-endian numpy input
    "z.\u00e9": torch.ones(1),  # non-ASCII name
}
meta = {"format": "pt", "note": "round trip"}

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "t.safetensors")
    st.save_file(tensors, path, metadata=meta)
    back = st.load_file(path)

    check(set(back) == set(tensors), "same names after the round trip")
    for name, t in tensors.items():
        ref = torch.from_numpy(t.astype(t.dtype.newbyteorder("="))) \
            if isinstance(t, np.ndarray) else t
        got = back.get(name)
        same = (got is not None and got.dtype == ref.dtype
                and list(got.shape) == list(ref.shape) and torch.equal(got, ref))
        check(same, "{}: dtype {} shape {} bit-exact".format(name, ref.dtype, list(ref.shape)))

    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header_bytes = raw[8:8 + n]
    check((8 + n) % 8 == 0, "8 + header length ({}) is a multiple of 8".format(8 + n))
    text = header_bytes.decode("utf-8")
    pad = len(text) - len(text.rstrip(" "))
    check(pad < 8 and text.rstrip(" ").endswith("}"),
          "header is the JSON followed by {} padding space(s) (< 8)".format(pad))
    header = json.loads(text)
    check(header.get("__metadata__") == meta, "__metadata__ round-trips")
    check(list(header)[0] == "__metadata__", "__metadata__ comes first")
    check(": " not in text and ", " not in text.replace('"z.\u00e9"', ""),
          "compact JSON (no spaces after separators)")
    check('"z.\u00e9"' in text, "non-ASCII names are raw UTF-8, not \\u escapes")

    names = [k for k in header if k != "__metadata__"]
    rank = {"F64": 16, "I64": 17, "F32": 15, "I32": 13, "BF16": 12, "F16": 11, "U8": 4}
    expected_order = sorted(names, key=lambda k: (-rank[header[k]["dtype"]], k))
    check(names == expected_order,
          "tensors ordered by descending dtype alignment, then name: {}".format(names))
    offset = 0
    contiguous = True
    for k in names:
        b, e = header[k]["data_offsets"]
        contiguous &= (b == offset)
        offset = e
    check(contiguous and offset == len(raw) - 8 - n,
          "data_offsets are contiguous from 0 and end at the end of the file")
    for k in names:
        check(list(header[k]) == ["dtype", "shape", "data_offsets"],
              "{}: entry fields in order dtype, shape, data_offsets".format(k))
        break
    b, e = header["w.f32"]["data_offsets"]
    data = raw[8 + n + b:8 + n + e]
    check(data == struct.pack("<15f", *tensors["w.f32"].flatten().tolist()),
          "f32 data is little endian, C order")
    b, e = header["strided"]["data_offsets"]
    check(raw[8 + n + b:8 + n + e] ==
          struct.pack("<12f", *tensors["strided"].contiguous().flatten().tolist()),
          "a non-contiguous tensor is written in its logical C order")

    # A small file checked byte for byte (same dtype: sorted by name).
    path2 = os.path.join(tmp, "small.safetensors")
    st.save_file({"b": torch.tensor([1.0, 2.0]), "a": torch.tensor([3.0])}, path2)
    hdr = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' \
          b'"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
    pad = (8 - len(hdr) % 8) % 8
    want = struct.pack("<Q", len(hdr) + pad) + hdr + b" " * pad + \
        struct.pack("<3f", 3.0, 1.0, 2.0)
    check(open(path2, "rb").read() == want, "byte-exact small file")

    path3 = os.path.join(tmp, "empty.safetensors")
    st.save_file({}, path3)
    check(open(path3, "rb").read() == struct.pack("<Q", 8) + b"{}      ",
          "empty dict: header '{}' padded to 8 bytes")
    check(st.load_file(path3) == {}, "empty file loads as {}")

    # Malformed files are rejected with a message.
    def rejects(blob, what):
        p = os.path.join(tmp, "bad.safetensors")
        with open(p, "wb") as f:
            f.write(blob)
        try:
            st.load_file(p)
        except ValueError as e:
            check(True, "rejects {} ({})".format(what, str(e).split(": ", 1)[-1]))
            return
        check(False, "rejects {}".format(what))

    rejects(want[:-4], "truncated data")
    rejects(want + b"\0" * 4, "trailing bytes")
    gap = hdr.replace(b"[4,12]", b"[8,16]")
    rejects(struct.pack("<Q", len(gap) + pad) + gap + b" " * pad + b"\0" * 16,
            "non-contiguous offsets")
    rejects(struct.pack("<Q", 10 ** 12) + b"{}", "absurd header length")
    rejects(b"\x05\0\0", "a file shorter than 8 bytes")

    for bad, what in [({"x": [1.0]}, "a list value"),
                      ({"x": torch.zeros(2, dtype=torch.complex64)}, "complex dtype")]:
        try:
            st.save_file(bad, os.path.join(tmp, "x.safetensors"))
            check(False, "save_file refuses {}".format(what))
        except TypeError:
            check(True, "save_file refuses {}".format(what))

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
