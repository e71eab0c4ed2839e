#!/usr/bin/env python3
"""Damages a file in place, for the bad-kernel tests (bad-kernels.test).

corrupt.py truncate FILE N         keep the first N bytes
corrupt.py garbage FILE N          N bytes of a fixed pseudo-random pattern
corrupt.py no-sections FILE        zero an ELF64 file's section header fields
                                   (e_shoff, e_shnum, e_shstrndx), so that only
                                   its program headers describe it
corrupt.py flip FILE OFFSET        invert the byte at OFFSET
"""
import struct
import sys


def main():
    op, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if op == "truncate":
        data = data[:int(sys.argv[3])]
    elif op == "garbage":
        state, data = 12345, bytearray()
        for _ in range(int(sys.argv[3])):
            state = (state * 1103515245 + 12345) % 2**31
            data.append(state >> 16 & 0xff)
    elif op == "no-sections":
        assert data[:4] == b"\x7fELF" and data[4] == 2, "not an ELF64 file"
        struct.pack_into("<Q", data, 40, 0)
        struct.pack_into("<H", data, 60, 0)
        struct.pack_into("<H", data, 62, 0)
    elif op == "flip":
        at = int(sys.argv[3])
        data[at] ^= 0xff
    else:
        sys.exit("corrupt.py: unknown operation " + op)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
