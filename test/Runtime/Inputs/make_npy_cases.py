"""Writes .npy files for dla-run-npy.test beside the toy bundle's files
(make_toy_bundle.py): the toy's input and expected output as .npy files and
directories of NAME.npy, and damaged or hostile files. numpy writes the good
ones (so the runtime reads what numpy writes); the bad ones are built by hand.

usage: make_npy_cases.py DIR"""

import os
import struct
import sys

import numpy as np

d = sys.argv[1]
x = (np.arange(32, dtype=np.float32) / 8 - 2).reshape(1, 2, 4, 4)
bias = np.array([0.5, -3.0], np.float32).reshape(1, 2, 1, 1)
y = 2 * x + bias - 1

np.save(os.path.join(d, "x.npy"), x)
np.save(os.path.join(d, "expected.npy"), y)
for sub, name, value in [("xdir", "x", x), ("ydir", "y", y)]:
    os.makedirs(os.path.join(d, sub), exist_ok=True)
    np.save(os.path.join(d, sub, name + ".npy"), value)
os.makedirs(os.path.join(d, "emptydir"), exist_ok=True)
np.save(os.path.join(d, "x64.npy"), x.astype(np.float64))
np.save(os.path.join(d, "xint.npy"), x.astype(np.int64))
np.save(os.path.join(d, "xbig.npy"), x.astype(">f4"))
np.save(os.path.join(d, "xfortran.npy"), np.asfortranarray(x.reshape(8, 4)))
np.save(os.path.join(d, "xshape.npy"), x.reshape(1, 2, 16))
nan = x.copy()
nan[0, 1, 0, 3] = np.nan
np.save(os.path.join(d, "xnan.npy"), nan)
with open(os.path.join(d, "x.npy"), "rb") as f:
    good = f.read()
with open(os.path.join(d, "xtrunc.npy"), "wb") as f:
    f.write(good[:-5])


def raw(name, header, data=b"", major=1):
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if major == 1 else struct.pack("<I", len(header))
    with open(os.path.join(d, name), "wb") as f:
        f.write(b"\x93NUMPY" + bytes([major, 0]) + size + header.encode("latin-1") + data)


raw("xhostile.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 4, 4), "
    "'evil': __import__('os').system('true'), }", x.tobytes())
raw("xhuge.npy", "{'descr': '<f4', 'fortran_order': False, "
    "'shape': (4294967296, 4294967296, 4294967296), }")
with open(os.path.join(d, "xnotnpy.npy"), "wb") as f:
    f.write(b"PK\x03\x04 not numpy")
