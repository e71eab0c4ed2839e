#!/usr/bin/env python3
"""Rewrites the CPU tiles of tiled fused IR (dla-choose-cpu-tiles) into other
valid ones, as a user editing `dla.tile` by hand would: one vector of output
channels instead of two (so other packed weight layouts), a third of the
input channels a chunk (chunks that do not divide the channels), half the
rows a block. Prints how many tiles of each form it changed."""
import re
import sys
from collections import Counter

src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
changed = Counter()
pattern = re.compile(r"#dla\.cpu_tile<(\w+), lanes = (\d+), tile = \[(\d+), (\d+)\], "
                     r"block = \[([\d, ]+)\](?:, chunk = (\d+))?>")


def retile(m):
    form, lanes, t0, t1 = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
    block = [int(b) for b in m.group(5).split(", ")]
    chunk = int(m.group(6)) if m.group(6) else 0
    if form in ("conv", "conv_1x1", "deform"):
        t1 = 1
    if form in ("conv", "conv_rows", "gemm"):
        chunk = max(1, -(-chunk // 3))
    if form != "gemm":
        block[0] = max(1, -(-block[0] // 2))
    new = (f"#dla.cpu_tile<{form}, lanes = {lanes}, tile = [{t0}, {t1}], "
           f"block = [{', '.join(map(str, block))}]" + (f", chunk = {chunk}" if chunk else "") + ">")
    if new != m.group(0):
        changed[form] += 1
    return new


open(dst, "w").write(pattern.sub(retile, text))
for form in ("conv", "conv_rows", "conv_1x1", "gemm", "deform"):
    print(f"retiled {form}: {changed[form]}")
