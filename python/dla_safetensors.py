"""A dependency-free reader/writer for the safetensors format.

The `safetensors` Python package is not available on the build machines, so
this module implements the format directly (only the standard library, numpy
and torch are used).

File layout, as written by the reference implementation (huggingface
`safetensors`, crate `safetensors::tensor::serialize`):

    [8 bytes]  N, little-endian u64: the length of the header in bytes
    [N bytes]  the header: compact UTF-8 JSON, right-padded with spaces (0x20)
               so that 8 + N is a multiple of 8
    [rest]     the tensor bytes, C order, little endian, packed back to back

The header maps each tensor name to {"dtype", "shape", "data_offsets"}, the
offsets being [begin, end) relative to the start of the byte buffer, plus an
optional "__metadata__" entry (a map of string to string), which comes first.

Tensor order: like the reference implementation, tensors are sorted by
*descending dtype alignment* (its `Dtype` enum order: U64, I64, F64, F32, U32,
I32, BF16, F16, U16, I16, I8, U8, BOOL), then by name (byte order). For a
file whose tensors all have one dtype, this is simply sorted by name. The
header lists the tensors in that same order, so a byte-level comparison with a
file written by `safetensors.torch.save_file` succeeds.
"""

import json
import struct

import numpy as np
import torch

__all__ = ["save_file", "load_file", "read_header", "DTYPES"]

# safetensors dtype name -> (torch dtype, numpy dtype or None, element size).
# numpy has no bfloat16: BF16 goes through its raw 16-bit pattern.
DTYPES = {
    "BOOL": (torch.bool, np.dtype("bool"), 1),
    "U8": (torch.uint8, np.dtype("<u1"), 1),
    "I8": (torch.int8, np.dtype("<i1"), 1),
    "I16": (torch.int16, np.dtype("<i2"), 2),
    "F16": (torch.float16, np.dtype("<f2"), 2),
    "BF16": (torch.bfloat16, None, 2),
    "I32": (torch.int32, np.dtype("<i4"), 4),
    "F32": (torch.float32, np.dtype("<f4"), 4),
    "F64": (torch.float64, np.dtype("<f8"), 8),
    "I64": (torch.int64, np.dtype("<i8"), 8),
}

# Position in the reference implementation's `Dtype` enum, which is declared
# in increasing alignment order; the writer sorts by this, descending.
_DTYPE_RANK = {
    name: rank
    for rank, name in enumerate(
        ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3",
         "F8_E8M0", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
         "I64", "U64"])
}

_TORCH_TO_ST = {v[0]: k for k, v in DTYPES.items()}
_NUMPY_TO_ST = {v[1]: k for k, v in DTYPES.items() if v[1] is not None}

# The reference reader refuses headers above 100 MB.
_MAX_HEADER = 100_000_000


def _to_bytes(name, value):
    """Returns (dtype name, shape, little-endian C-order bytes) of a tensor."""
    if isinstance(value, torch.Tensor):
        if value.dtype not in _TORCH_TO_ST:
            raise TypeError(f"{name}: unsupported torch dtype {value.dtype}")
        dtype = _TORCH_TO_ST[value.dtype]
        t = value.detach().to("cpu").contiguous()
        if t.dtype == torch.bfloat16:
            # Reinterpret as int16 so that numpy can carry the raw bits.
            arr = t.view(torch.int16).numpy()
        else:
            arr = t.numpy()
        shape = list(t.shape)
    elif isinstance(value, np.ndarray):
        # Match regardless of byte order; the bytes are made little endian below.
        le_dtype = (value.dtype.newbyteorder("<") if value.dtype.itemsize > 1
                    else value.dtype)
        if le_dtype not in _NUMPY_TO_ST:
            raise TypeError(f"{name}: unsupported numpy dtype {value.dtype}")
        dtype = _NUMPY_TO_ST[le_dtype]
        arr = value
        shape = list(value.shape)
    else:
        raise TypeError(
            f"{name}: expected a torch.Tensor or numpy.ndarray, "
            f"got {type(value).__name__}")
    # astype to an explicitly little-endian dtype is a no-op on x86 and makes
    # the file correct on a big-endian host too.
    le = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
    data = np.ascontiguousarray(arr.astype(le, copy=False)).tobytes(order="C")
    return dtype, shape, data


def save_file(tensors, path, metadata=None):
    """Writes `tensors` (name -> torch.Tensor | numpy.ndarray) to `path`.

    `metadata`, if given, is a dict of str -> str stored as "__metadata__".
    """
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str)
                for k, v in metadata.items()):
            raise TypeError("metadata must be a dict of str -> str")
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        entries.append((name,) + _to_bytes(name, value))
    # Descending dtype alignment, then name; Python compares str by code
    # point, which is the same order as comparing their UTF-8 bytes.
    entries.sort(key=lambda e: (-_DTYPE_RANK[e[1]], e[0]))

    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    # Compact separators and raw UTF-8 as serde_json writes them.
    hbytes = json.dumps(header, separators=(",", ":"),
                        ensure_ascii=False).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for _, _, _, data in entries:
            f.write(data)


def read_header(path):
    """Returns (header dict, header length N, file size) of a safetensors file,
    after checking the header against the file (see load_file)."""
    with open(path, "rb") as f:
        blob = f.read(8)
        if len(blob) < 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", blob)
        if n > _MAX_HEADER:
            raise ValueError(f"{path}: header length {n} is too large")
        hbytes = f.read(n)
        f.seek(0, 2)
        size = f.tell()
    if len(hbytes) != n:
        raise ValueError(f"{path}: truncated header ({len(hbytes)} of {n} bytes)")
    try:
        header = json.loads(hbytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    return header, n, size


def load_file(path):
    """Reads a safetensors file into a dict name -> torch.Tensor (CPU).

    Checks what the reference reader checks: known dtypes, offsets that tile
    the byte buffer exactly (contiguous, starting at 0, ending at the end of
    the file) and byte sizes that match the shapes.
    """
    header, n, size = read_header(path)
    with open(path, "rb") as f:
        f.seek(8 + n)
        buf = f.read()
    assert len(buf) == size - 8 - n

    infos = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = (info["dtype"], info["shape"],
                                          info["data_offsets"])
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"{path}: malformed header entry for {name!r}") from None
        if dtype not in DTYPES:
            raise ValueError(f"{path}: {name}: unsupported dtype {dtype}")
        numel = 1
        for d in shape:
            numel *= int(d)
        if end - begin != numel * DTYPES[dtype][2] or begin > end:
            raise ValueError(
                f"{path}: {name}: data_offsets [{begin}, {end}) do not hold "
                f"shape {shape} of {dtype}")
        infos.append((begin, end, name, dtype, shape))
    infos.sort()
    expected = 0
    for begin, end, name, _, _ in infos:
        if begin != expected:
            raise ValueError(f"{path}: {name}: data_offsets are not contiguous "
                             f"(begins at {begin}, expected {expected})")
        expected = end
    if expected != len(buf):
        raise ValueError(f"{path}: tensor data covers {expected} bytes, "
                         f"the file holds {len(buf)}")

    out = {}
    # Keep the header's order (the file order) in the returned dict.
    for name in header:
        if name == "__metadata__":
            continue
        info = header[name]
        dtype, shape = info["dtype"], info["shape"]
        begin, end = info["data_offsets"]
        tdtype, npdtype, _ = DTYPES[dtype]
        raw = buf[begin:end]
        if npdtype is None:  # BF16: raw bits via int16
            arr = np.frombuffer(raw, dtype="<i2").reshape(shape)
            t = torch.from_numpy(arr.copy()).view(torch.bfloat16)
        else:
            arr = np.frombuffer(raw, dtype=npdtype).reshape(shape)
            t = torch.from_numpy(arr.astype(npdtype.newbyteorder("=")
                                            if npdtype.itemsize > 1 else npdtype,
                                            copy=True))
        out[name] = t
    return out


def load_metadata(path):
    """Returns the "__metadata__" dict of a safetensors file, or None."""
    return read_header(path)[0].get("__metadata__")
