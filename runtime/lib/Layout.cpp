//===- Layout.cpp - where each buffer lives in the memory block -----------===//
//
// Part of libdlart. Layout::plan (Backend.h): the offset of every buffer of
// a bundle in the one block of memory its backend allocates, and the size of
// that block.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

namespace dlart {

Layout Layout::plan(const Manifest &m) {
  Layout l;
  l.offset.assign(m.buffers.size(), 0);
  auto align = [](uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; };
  uint64_t next = 0;
  // Parameters, inputs and outputs each get their own slot; the prepared
  // buffer and the arena are one region each, their buffers at the offsets
  // the compiler planned.
  for (size_t id = 0; id < m.buffers.size(); ++id) {
    const BufferDesc &b = m.buffers[id];
    if (b.kind == BufferKind::Prepared || b.kind == BufferKind::Activation)
      continue;
    l.offset[id] = next;
    next = align(next + b.bytes);
  }
  uint64_t prepared = next;
  uint64_t arena = align(prepared + m.preparedBytes);
  for (size_t id = 0; id < m.buffers.size(); ++id) {
    const BufferDesc &b = m.buffers[id];
    if (b.kind == BufferKind::Prepared)
      l.offset[id] = prepared + b.offset;
    else if (b.kind == BufferKind::Activation)
      l.offset[id] = arena + b.offset;
  }
  l.totalBytes = align(arena + m.arenaBytes);
  return l;
}

} // namespace dlart
