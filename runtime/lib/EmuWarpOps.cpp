//===- EmuWarpOps.cpp - cuda-emu: warp operations and cp.async -----------===//
//
// Part of libdlart. The functions an emulated CUDA kernel calls back into
// (codegen/CudaEmu.cpp lowers the GPU operations to these calls):
//  * warp operations: each lane leaves its operands on its own stack and
//    waits; the last lane of the warp to arrive runs the operation for all
//    32 and hands each its result (a rendezvous). `mma.sync` and
//    `ldmatrix` are .aligned: every lane of the warp must be there, at the
//    same instruction form; a lane that has returned, or a warp of fewer
//    than 32 threads, is an error, as the PTX ISA makes it undefined.
//    gpu.shuffle takes the lanes still running, as shfl.sync does with a
//    full mask on sm_70 and later.
//  * cp.async: a copy is queued on its thread and made only when the thread
//    waits for its group (cp.async.wait_group), the latest moment a GPU may
//    make it, so that a kernel that reads its shared memory before waiting
//    reads stale data here instead of the data it hoped for.
// Addresses outside their buffer or outside the block's shared memory, and
// misaligned ones, are errors naming the kernel, block, thread and address;
// the access is not made.
//
//===----------------------------------------------------------------------===//

#include "EmuFibers.h"
#include "EmuWarp.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>

namespace dlart {

const char *warpOpName(WarpOp op) {
  switch (op) {
  case WarpOp::Shuffle: return "gpu.shuffle";
  case WarpOp::Mma: return "nvgpu.mma.sync";
  case WarpOp::Ldmatrix: return "nvgpu.ldmatrix";
  default: return "none";
  }
}

namespace {

/// "nvgpu.mma.sync m16n8k8 tf32", "nvgpu.ldmatrix x4.trans", "gpu.shuffle".
std::string describeWarpOp(WarpOp op, int32_t variant) {
  std::string name = warpOpName(op);
  if (op == WarpOp::Mma && emu::mmaName(variant))
    return name + " " + emu::mmaName(variant);
  if (op == WarpOp::Ldmatrix)
    return name + " x" + std::to_string(variant / 2) + (variant % 2 ? ".trans" : "");
  return name;
}

/// Meets the other lanes of the current thread's warp at `op`: returns once
/// the operation has run, `run(args)` being called by the last lane to
/// arrive with every lane's operands (null for a lane that has returned).
template <typename Run>
void warpCollective(WarpOp op, int32_t variant, void *args, bool aligned, Run run) {
  Fibers &f = *currentFibers;
  size_t t = f.current, threads = f.blockThreads();
  Fibers::Fiber &me = f.fibers[t];
  me.warpOp = op;
  me.warpVariant = variant;
  me.warpArgs = args;
  me.warpWaiting = true;
  size_t base = t / Fibers::kWarp * Fibers::kWarp;
  size_t end = std::min(base + Fibers::kWarp, threads);
  size_t alive = 0, arrived = 0;
  for (size_t l = base; l < end; ++l) {
    alive += !f.fibers[l].done;
    arrived += f.fibers[l].warpWaiting;
  }
  if (arrived != alive) {
    yieldToScheduler();
    return;
  }
  std::string problem;
  for (size_t l = base; l < end && problem.empty(); ++l) {
    const Fibers::Fiber &lane = f.fibers[l];
    if (lane.done) {
      if (aligned)
        problem = std::string(warpOpName(op)) + " is executed by the warp without lane " +
                  std::to_string(l - base) + ", which has returned (it is .aligned: on a " +
                  "GPU, undefined behaviour)";
    } else if (lane.warpOp != op || lane.warpVariant != variant) {
      problem = "the lanes of warp " + std::to_string(base / Fibers::kWarp) +
                " are at different warp operations: lane " + std::to_string(l - base) +
                " at " + describeWarpOp(lane.warpOp, lane.warpVariant) + ", lane " +
                std::to_string(t - base) + " at " + describeWarpOp(op, variant) +
                " (on a GPU, undefined behaviour)";
    }
  }
  if (problem.empty() && aligned && end - base != Fibers::kWarp)
    problem = std::string(warpOpName(op)) + " in a warp of " + std::to_string(end - base) +
              " threads (the block's last warp is not full; it needs 32)";
  if (problem.empty()) {
    void *lanes[Fibers::kWarp] = {};
    for (size_t l = base; l < end; ++l)
      if (!f.fibers[l].done)
        lanes[l - base] = f.fibers[l].warpArgs;
    run(lanes);
  } else {
    recordFault(problem);
  }
  for (size_t l = base; l < end; ++l)
    f.fibers[l].warpWaiting = false;
}

std::string hex(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

/// "shared memory offset 0x40" for an address in the block's shared memory,
/// else the address.
std::string where(const char *p) {
  const Fibers &f = *currentFibers;
  const char *shared = static_cast<const char *>(f.shared);
  if (p >= shared && p < shared + std::max<uint64_t>(f.sharedBytes, 1))
    return "shared memory offset " + hex(uint64_t(p - shared));
  return "address " + hex(reinterpret_cast<uintptr_t>(p));
}

/// True when [p, p + bytes) lies in the block's shared memory.
bool inShared(const char *p, int64_t bytes) {
  const Fibers &f = *currentFibers;
  const char *shared = static_cast<const char *>(f.shared);
  return p >= shared && bytes >= 0 && p + bytes <= shared + f.sharedBytes;
}

struct ShuffleArgs {
  uint32_t value;
  int32_t offset, width, mode;
  uint32_t result;
  bool valid;
};

/// gpu.shuffle of a 32-bit value (modes of gpu::ShuffleMode: 0 xor, 1 down,
/// 2 up, 3 idx): the source lane's value, or the lane's own with `valid`
/// false when the source is outside [0, width) or has returned. Bits 0-31:
/// the value, bit 32: valid.
uint64_t shuffle(uint32_t value, int32_t offset, int32_t width, int32_t mode) {
  ShuffleArgs me{value, offset, width, mode, value, false};
  warpCollective(WarpOp::Shuffle, 0, &me, /*aligned=*/false, [](void *const lanes[]) {
    for (int i = 0; i < emu::kWarpSize; ++i) {
      auto *lane = static_cast<ShuffleArgs *>(lanes[i]);
      if (!lane)
        continue;
      int64_t src;
      switch (lane->mode) {
      case 0: src = i ^ lane->offset; break;
      case 1: src = i + lane->offset; break;
      case 2: src = i - lane->offset; break;
      default: src = lane->offset; break;
      }
      bool valid = src >= 0 && src < lane->width && src < emu::kWarpSize && lanes[src];
      lane->valid = valid;
      lane->result = valid ? static_cast<ShuffleArgs *>(lanes[src])->value : lane->value;
    }
  });
  return uint64_t(me.result) | (uint64_t(me.valid) << 32);
}

/// mma.sync of `kind` (emu::MmaKind): `fragments` is the lane's
/// emu::MmaLane (A, B, C in, D out).
void mma(int32_t kind, int64_t fragments) {
  auto *me = reinterpret_cast<emu::MmaLane *>(fragments);
  if (!emu::mmaName(kind)) {
    recordFault("nvgpu.mma.sync of unknown kind " + std::to_string(kind));
    return;
  }
  warpCollective(WarpOp::Mma, kind, me, /*aligned=*/true, [&](void *const lanes[]) {
    emu::MmaLane warp[emu::kWarpSize];
    for (int i = 0; i < emu::kWarpSize; ++i)
      warp[i] = *static_cast<emu::MmaLane *>(lanes[i]);
    emu::mmaSync(static_cast<emu::MmaKind>(kind), warp);
    for (int i = 0; i < emu::kWarpSize; ++i)
      std::memcpy(static_cast<emu::MmaLane *>(lanes[i])->d, warp[i].d, sizeof(warp[i].d));
  });
}

struct LdmatrixArgs {
  const char *row;  ///< the 16-byte row this lane gives (lanes < 8 matrices)
  bool rowValid;    ///< inside its view and shared memory, 16-byte aligned
  uint32_t *out;    ///< the lane's registers
};

/// ldmatrix.sync.aligned.m8n8.x`matrices`{.trans}.shared.b16 of the row at
/// byte `offset` of the shared-memory view at `base` (`bytes` long); the
/// lane's `matrices` result registers go to `out`.
void ldmatrix(int64_t base, int64_t offset, int64_t bytes, int32_t matrices, int32_t trans,
              int64_t out) {
  Fibers &f = *currentFibers;
  size_t lane = f.current % Fibers::kWarp;
  LdmatrixArgs me{reinterpret_cast<const char *>(base) + offset, true,
                  reinterpret_cast<uint32_t *>(out)};
  if (matrices != 1 && matrices != 2 && matrices != 4) {
    recordFault("nvgpu.ldmatrix of " + std::to_string(matrices) + " matrices (1, 2 or 4)");
    return;
  }
  if (lane < size_t(8 * matrices)) {
    if (offset < 0 || offset + 16 > bytes || !inShared(me.row, 16)) {
      recordFault("nvgpu.ldmatrix row at " + where(me.row) + " (byte " +
                  std::to_string(offset) + " of a " + std::to_string(bytes) +
                  "-byte shared-memory array) is outside the array or the block's shared "
                  "memory; the load was not made");
      me.rowValid = false;
    } else if ((me.row - static_cast<const char *>(f.shared)) % 16 != 0) {
      recordFault("nvgpu.ldmatrix row at " + where(me.row) +
                  " is not 16-byte aligned (ldmatrix needs it); the load was not made");
      me.rowValid = false;
    }
  }
  warpCollective(WarpOp::Ldmatrix, matrices * 2 + (trans != 0), &me, /*aligned=*/true,
                 [&](void *const lanes[]) {
                   static const uint16_t zeros[8] = {};
                   const uint16_t *rows[emu::kWarpSize];
                   for (int i = 0; i < emu::kWarpSize; ++i) {
                     auto *l = static_cast<LdmatrixArgs *>(lanes[i]);
                     rows[i] = i < 8 * matrices && l->rowValid
                                   ? reinterpret_cast<const uint16_t *>(l->row)
                                   : zeros;
                   }
                   uint32_t result[emu::kWarpSize][4];
                   emu::ldmatrix(matrices, trans != 0, rows, result);
                   for (int i = 0; i < emu::kWarpSize; ++i)
                     std::memcpy(static_cast<LdmatrixArgs *>(lanes[i])->out, result[i],
                                 4 * size_t(matrices));
                 });
}

/// cp.async of `bytes` (4, 8 or 16) to byte `dstOffset` of the shared view
/// at `dst` (`dstBytes` long), the first `srcBytes` from byte `srcOffset`
/// of the global buffer at `src` (`srcTotal` long), the rest zero. Queued
/// until the thread waits for it.
void cpAsync(int64_t dst, int64_t dstOffset, int64_t dstBytes, int64_t src, int64_t srcOffset,
             int64_t srcTotal, int32_t bytes, int32_t srcBytes) {
  Fibers &f = *currentFibers;
  char *to = reinterpret_cast<char *>(dst) + dstOffset;
  const char *from = reinterpret_cast<const char *>(src) + srcOffset;
  std::string what = "nvgpu.device_async_copy (cp.async) of " + std::to_string(bytes) +
                     " bytes to " + where(to);
  if (bytes != 4 && bytes != 8 && bytes != 16) {
    recordFault(what + ": the size must be 4, 8 or 16 bytes");
    return;
  }
  if (dstOffset < 0 || dstOffset + bytes > dstBytes || !inShared(to, bytes)) {
    recordFault(what + " is outside its shared-memory array (" + std::to_string(dstBytes) +
                " bytes) or the block's shared memory; the copy was not made");
    return;
  }
  if ((to - static_cast<const char *>(f.shared)) % bytes != 0) {
    recordFault(what + ": the destination is not " + std::to_string(bytes) +
                "-byte aligned; the copy was not made");
    return;
  }
  srcBytes = std::clamp(srcBytes, 0, bytes);
  if (srcBytes > 0) {
    if (srcOffset < 0 || srcOffset + srcBytes > srcTotal) {
      recordFault(what + " reads bytes " + std::to_string(srcOffset) + " to " +
                  std::to_string(srcOffset + srcBytes) + " of a " + std::to_string(srcTotal) +
                  "-byte buffer (out of bounds); the copy was not made");
      return;
    }
    if (reinterpret_cast<uintptr_t>(from) % uintptr_t(bytes) != 0) {
      recordFault(what + ": the source (byte " + std::to_string(srcOffset) +
                  " of its buffer) is not " + std::to_string(bytes) +
                  "-byte aligned; the copy was not made");
      return;
    }
  }
  f.fibers[f.current].pending.push_back({to, from, bytes, srcBytes});
}

/// cp.async.commit_group: the copies issued since the last commit form a
/// group.
void cpCommit() {
  Fibers::Fiber &me = currentFibers->fibers[currentFibers->current];
  me.groupEnds.push_back(me.pending.size()); // an empty group counts too
}

/// cp.async.wait_group `groups`: every committed group but the newest
/// `groups` is complete.
void cpWait(int32_t groups) {
  Fibers::Fiber &me = currentFibers->fibers[currentFibers->current];
  size_t left = static_cast<size_t>(std::max(groups, 0));
  if (me.groupEnds.size() > left)
    completeCopies(me, me.groupEnds[me.groupEnds.size() - left - 1]);
}

} // namespace

void completeCopies(Fibers::Fiber &fiber, size_t upTo) {
  upTo = std::min(upTo, fiber.pending.size());
  for (size_t i = 0; i < upTo; ++i) {
    const Fibers::AsyncCopy &c = fiber.pending[i];
    std::memcpy(c.dst, c.src, size_t(c.srcBytes));
    std::memset(c.dst + c.srcBytes, 0, size_t(c.bytes - c.srcBytes));
  }
  fiber.pending.erase(fiber.pending.begin(), fiber.pending.begin() + long(upTo));
  size_t kept = 0;
  for (size_t end : fiber.groupEnds)
    if (end > upTo)
      fiber.groupEnds[kept++] = end - upTo;
  fiber.groupEnds.resize(kept);
}

bool bindWarpOps(void *library, const std::string &path, std::string &err) {
  struct Binding {
    const char *name;
    void *fn;
    bool required;
  };
  const Binding bindings[] = {
      {"__dla_emu_shuffle_fn", reinterpret_cast<void *>(shuffle), true},
      {"__dla_emu_mma_fn", reinterpret_cast<void *>(mma), false},
      {"__dla_emu_ldmatrix_fn", reinterpret_cast<void *>(ldmatrix), false},
      {"__dla_emu_cp_async_fn", reinterpret_cast<void *>(cpAsync), false},
      {"__dla_emu_cp_commit_fn", reinterpret_cast<void *>(cpCommit), false},
      {"__dla_emu_cp_wait_fn", reinterpret_cast<void *>(cpWait), false},
  };
  for (const Binding &b : bindings) {
    auto *slot = static_cast<void **>(::dlsym(library, b.name));
    if (!slot) {
      // Libraries from before these operations existed do not call them.
      if (!b.required)
        continue;
      err = path + ": not a cuda-emu kernel library (no " + b.name + ")";
      return false;
    }
    *slot = b.fn;
  }
  return true;
}

} // namespace dlart
