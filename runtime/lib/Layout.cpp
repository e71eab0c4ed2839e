//===- Layout.cpp - where each buffer lives in the memory block -----------===//
//
// Part of libdlart. Layout::plan (Backend.h): the region (shared by every
// execution context, or one per context) and offset of every buffer of a
// bundle, and the size of both regions.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

namespace dlart {

Layout Layout::plan(const Manifest &m) {
  Layout l;
  l.offset.assign(m.buffers.size(), 0);
  l.region.assign(m.buffers.size(), Region::Shared);
  auto align = [](uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; };
  // Shared: the parameters, each in its own slot, then the prepared region
  // with the compiler's offsets. Per context: the inputs and outputs, each
  // in its own slot, then the arena with the compiler's offsets.
  uint64_t shared = 0, context = 0;
  for (size_t id = 0; id < m.buffers.size(); ++id) {
    const BufferDesc &b = m.buffers[id];
    if (b.kind == BufferKind::Parameter) {
      l.offset[id] = shared;
      shared = align(shared + b.bytes);
    } else if (b.kind == BufferKind::Input || b.kind == BufferKind::Output) {
      l.region[id] = Region::Context;
      l.offset[id] = context;
      context = align(context + b.bytes);
    }
  }
  uint64_t prepared = shared, arena = context;
  for (size_t id = 0; id < m.buffers.size(); ++id) {
    const BufferDesc &b = m.buffers[id];
    if (b.kind == BufferKind::Prepared) {
      l.offset[id] = prepared + b.offset;
    } else if (b.kind == BufferKind::Activation) {
      l.region[id] = Region::Context;
      l.offset[id] = arena + b.offset;
    }
  }
  l.sharedBytes = align(prepared + m.preparedBytes);
  l.contextBytes = align(arena + m.arenaBytes);
  return l;
}

} // namespace dlart
