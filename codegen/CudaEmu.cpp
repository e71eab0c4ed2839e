//===- CudaEmu.cpp - The CUDA kernels for the host, with GPU semantics -----===//
//
// cuda-emu: the very gpu.func bodies that go to NVVM, lowered for the host
// CPU so that the runtime can run each GPU thread of a block as a fiber
// (docs/runtime.md). After the phases are mapped to threads (as for NVVM),
// each `gpu.func @K(buffers...) workgroup(scratch...)` becomes
//
//   func.func @K_impl(buffers..., %shared: memref<Sxi8>, %ids: memref<12xindex>)
//
// where the workgroup scratch is a view into the block's shared memory,
// `gpu.thread_id`/`block_id`/`block_dim`/`grid_dim` read %ids (thread x y z,
// block x y z, block size x y z, grid size x y z), and `gpu.barrier` calls
// `__dla_emu_barrier`, which switches to the block's next fiber until all
// have arrived, and `gpu.shuffle` (32-bit values) calls `__dla_emu_shuffle`,
// which waits for the lanes of the warp; `nvgpu.mma.sync`, `nvgpu.ldmatrix`
// and the asynchronous copies (`nvgpu.device_async_copy`, `_create_group`,
// `_wait`) call `__dla_emu_mma`, `__dla_emu_ldmatrix` and
// `__dla_emu_cp_async` / `_cp_commit` / `_cp_wait` (runtime/lib/EmuWarpOps.cpp
// gives them the PTX ISA's semantics); every load and store is checked
// against its buffer's shape (out of bounds, it is not made and
// `__dla_emu_fault` reports it). The upstream host passes lower the rest;
// the C entry point is
//
//   void K(void *const *args, void *shared, const int64_t *ids);
//
// and `int64_t dla_emu_signature_K[2] = {buffers, shared bytes}` is exported
// beside it. `__dla_emu_barrier`, `__dla_emu_shuffle` and `__dla_emu_fault`
// call through the library's globals `__dla_emu_barrier_fn`, ..._shuffle_fn
// and ..._fault_fn, which the runtime sets when it loads the library.
//
//===----------------------------------------------------------------------===//

#include "codegen/Codegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <map>

using namespace mlir;
using namespace mlir::dla;

namespace {

constexpr llvm::StringLiteral kBarrier = "__dla_emu_barrier";
/// uint64_t __dla_emu_shuffle(uint32_t value, int32_t offset, int32_t width,
/// int32_t mode): the warp's exchange; the result's bits, valid in bit 32.
constexpr llvm::StringLiteral kShuffle = "__dla_emu_shuffle";
/// void __dla_emu_fault(int32_t write, int32_t buffer, int64_t element,
/// int64_t elements): an access outside its buffer, which does not happen.
constexpr llvm::StringLiteral kFault = "__dla_emu_fault";
/// The warp-wide matrix instructions and cp.async (runtime/lib/EmuWarpOps.cpp
/// has their semantics); addresses are passed as i64:
///   void __dla_emu_mma(int32_t kind, int64_t fragments)
///   void __dla_emu_ldmatrix(int64_t base, int64_t offset, int64_t bytes,
///                           int32_t matrices, int32_t trans, int64_t out)
///   void __dla_emu_cp_async(int64_t dst, int64_t dstOffset, int64_t dstBytes,
///                           int64_t src, int64_t srcOffset, int64_t srcBytes,
///                           int32_t bytes, int32_t validBytes)
///   void __dla_emu_cp_commit(), void __dla_emu_cp_wait(int32_t groups)
constexpr llvm::StringLiteral kMma = "__dla_emu_mma";
constexpr llvm::StringLiteral kLdmatrix = "__dla_emu_ldmatrix";
constexpr llvm::StringLiteral kCpAsync = "__dla_emu_cp_async";
constexpr llvm::StringLiteral kCpCommit = "__dla_emu_cp_commit";
constexpr llvm::StringLiteral kCpWait = "__dla_emu_cp_wait";
/// The alignment of the block's shared memory (malloc's) and the most any
/// access needs.
constexpr int64_t kSharedAlign = 16;

/// `type` in the default memory space (host memory has one).
Type withoutMemorySpace(Type type) {
  auto memref = llvm::dyn_cast<MemRefType>(type);
  if (!memref || !memref.getMemorySpace())
    return type;
  return MemRefType::get(memref.getShape(), memref.getElementType(), memref.getLayout());
}

int64_t bytesOf(MemRefType type) {
  return type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
}

struct EmuKernel {
  std::string name;
  int64_t buffers = 0;
  int64_t sharedBytes = 0;
};

/// Every load and store of `fn` checked against its buffer's shape: out of
/// bounds, it does not happen (a load gives 0) and `fault` is called with
/// what and where, so that the runtime reports the step, block and thread
/// instead of reading or writing past the buffer. `buffer` in the report:
/// the kernel argument's index, -1 - n for the n-th view of shared memory,
/// -1000 for thread-private memory.
void checkAccesses(func::FuncOp fn, int64_t buffers, func::FuncOp fault) {
  std::vector<Operation *> accesses;
  fn.walk([&](Operation *op) {
    if (isa<memref::LoadOp, memref::StoreOp, vector::LoadOp, vector::StoreOp>(op))
      accesses.push_back(op);
  });
  std::map<Operation *, int64_t> viewIndex;
  fn.walk([&](memref::ViewOp v) {
    int64_t n = static_cast<int64_t>(viewIndex.size());
    viewIndex[v] = n;
  });
  for (Operation *op : accesses) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value memref;
    ValueRange indices;
    int64_t width = 1;
    bool write = false;
    if (auto l = dyn_cast<memref::LoadOp>(op)) {
      memref = l.getMemRef();
      indices = l.getIndices();
    } else if (auto st = dyn_cast<memref::StoreOp>(op)) {
      memref = st.getMemRef();
      indices = st.getIndices();
      write = true;
    } else if (auto vl = dyn_cast<vector::LoadOp>(op)) {
      memref = vl.getBase();
      indices = vl.getIndices();
      width = vl.getVectorType().getNumElements();
    } else {
      auto vs = cast<vector::StoreOp>(op);
      memref = vs.getBase();
      indices = vs.getIndices();
      width = vs.getVectorType().getNumElements();
      write = true;
    }
    auto type = llvm::dyn_cast<MemRefType>(memref.getType());
    if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity() ||
        indices.size() != static_cast<size_t>(type.getRank()))
      continue;
    int64_t buffer = -1000;
    if (auto arg = llvm::dyn_cast<BlockArgument>(memref);
        arg && arg.getOwner()->isEntryBlock() && arg.getArgNumber() < buffers)
      buffer = arg.getArgNumber();
    else if (auto view = memref.getDefiningOp<memref::ViewOp>())
      buffer = -1 - viewIndex[view];
    // In bounds: every index below its extent, the last one leaving room
    // for the vector; unsigned comparisons reject negative indices too.
    Value ok, linear = arith::ConstantIndexOp::create(b, loc, 0);
    auto shape = type.getShape();
    for (auto [d, index] : llvm::enumerate(indices)) {
      int64_t limit = shape[d] - (d + 1 == indices.size() ? width - 1 : 0);
      Value in = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, index,
                                       arith::ConstantIndexOp::create(b, loc, limit));
      ok = ok ? arith::AndIOp::create(b, loc, ok, in).getResult() : in;
      linear = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, linear,
                                        arith::ConstantIndexOp::create(b, loc, shape[d])),
          index);
    }
    if (!ok)
      continue;
    auto report = [&](OpBuilder &ob) {
      Value element = arith::IndexCastOp::create(ob, loc, ob.getI64Type(), linear);
      func::CallOp::create(
          ob, loc, fault,
          ValueRange{arith::ConstantIntOp::create(ob, loc, write ? 1 : 0, 32),
                     arith::ConstantIntOp::create(ob, loc, buffer, 32), element,
                     arith::ConstantIntOp::create(ob, loc, type.getNumElements(), 64)});
    };
    if (write) {
      auto guard = scf::IfOp::create(b, loc, ok, /*withElseRegion=*/true);
      op->moveBefore(guard.thenBlock()->getTerminator());
      OpBuilder eb = OpBuilder::atBlockBegin(guard.elseBlock());
      report(eb);
      continue;
    }
    Type result = op->getResult(0).getType();
    auto guard = scf::IfOp::create(b, loc, TypeRange{result}, ok, /*withElseRegion=*/true);
    OpBuilder tb = OpBuilder::atBlockEnd(guard.thenBlock());
    op->getResult(0).replaceAllUsesWith(guard.getResult(0));
    op->moveBefore(guard.thenBlock(), guard.thenBlock()->end());
    scf::YieldOp::create(tb, loc, op->getResult(0));
    OpBuilder eb = OpBuilder::atBlockEnd(guard.elseBlock());
    report(eb);
    Value zero = arith::ConstantOp::create(eb, loc, result,
                                           llvm::cast<TypedAttr>(eb.getZeroAttr(result)));
    scf::YieldOp::create(eb, loc, zero);
  }
}

/// The runtime's functions the emulated kernels call.
struct EmuCallees {
  func::FuncOp barrier, shuffle, fault, mma, ldmatrix, cpAsync, cpCommit, cpWait;
};

/// The address of `memref`'s data as i64.
Value addressOf(OpBuilder &b, Location loc, Value memref) {
  Value p = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), p);
}

/// The byte offset of element `indices` of a static identity-layout
/// `memref` (i64), and the memref's size in bytes; failure otherwise.
FailureOr<std::pair<Value, Value>> byteOffset(OpBuilder &b, Location loc, Value memref,
                                              ValueRange indices) {
  auto type = llvm::dyn_cast<MemRefType>(memref.getType());
  if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getElementTypeBitWidth() % 8 != 0)
    return failure();
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  Value linear = arith::ConstantIndexOp::create(b, loc, 0);
  int64_t stride = 1;
  for (int64_t d = type.getRank() - 1; d >= 0; --d) {
    Value term = arith::MulIOp::create(b, loc, indices[d],
                                       arith::ConstantIndexOp::create(b, loc, stride));
    linear = arith::AddIOp::create(b, loc, linear, term);
    stride *= type.getDimSize(d);
  }
  Value bytes = arith::MulIOp::create(b, loc, linear,
                                      arith::ConstantIndexOp::create(b, loc, elementBytes));
  Value offset = arith::IndexCastOp::create(b, loc, b.getI64Type(), bytes);
  Value total = arith::ConstantIntOp::create(b, loc, stride * elementBytes, 64);
  return std::make_pair(offset, total);
}

/// `v` (a vector of any shape) as a 1-D vector of `lanes` x `element`.
Value asFlat(OpBuilder &b, Location loc, Value v, Type element, int64_t lanes) {
  auto type = llvm::cast<VectorType>(v.getType());
  Value flat = vector::ShapeCastOp::create(
      b, loc, VectorType::get({type.getNumElements()}, type.getElementType()), v);
  if (type.getElementType() == element)
    return flat;
  return vector::BitCastOp::create(b, loc, VectorType::get({lanes}, element), flat);
}

/// nvgpu.mma.sync, nvgpu.ldmatrix and the asynchronous copies of `fn`
/// become calls into the runtime, their operands and results passed through
/// thread-private memory made once at the function's entry (a loop must not
/// grow a fiber's stack).
LogicalResult lowerWarpMatrixOps(func::FuncOp fn, const EmuCallees &c) {
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "nvgpu")
      ops.push_back(op);
  });
  if (ops.empty())
    return success();
  OpBuilder eb = OpBuilder::atBlockBegin(&fn.getBody().front());
  Location loc = fn.getLoc();
  Type i32 = eb.getI32Type();
  // The lane's MmaLane (A 4, B 2, C 4, D 4 words) and ldmatrix's registers.
  Value fragments = memref::AllocaOp::create(eb, loc, MemRefType::get({14}, i32));
  Value registers = memref::AllocaOp::create(eb, loc, MemRefType::get({4}, i32));
  auto at = [&](OpBuilder &b, Location l, int64_t i) {
    return arith::ConstantIndexOp::create(b, l, i).getResult();
  };
  auto i32c = [&](OpBuilder &b, Location l, int64_t v) {
    return arith::ConstantIntOp::create(b, l, v, 32).getResult();
  };
  SmallVector<Operation *> erase;
  for (Operation *op : ops) {
    OpBuilder b(op);
    Location l = op->getLoc();
    if (auto mma = dyn_cast<nvgpu::MmaSyncOp>(op)) {
      auto shape = mma.getMmaShapeAsArray();
      Type element = mma.getMatrixA().getType().getElementType();
      int64_t kind = -1;
      if (shape == std::array<int64_t, 3>{16, 8, 16} && element.isF16())
        kind = 0;
      else if (shape == std::array<int64_t, 3>{16, 8, 16} && element.isBF16())
        kind = 1;
      else if (shape == std::array<int64_t, 3>{16, 8, 8} && element.isF32() &&
               mma.getTf32Enabled())
        kind = 2;
      if (kind < 0 || !mma.getMatrixC().getType().getElementType().isF32())
        return op->emitError("cuda-emu: this form of nvgpu.mma.sync is not emulated (m16n8k16 "
                             "f16/bf16 and m16n8k8 tf32, f32 accumulators, are)");
      vector::StoreOp::create(b, l, asFlat(b, l, mma.getMatrixA(), i32, 4), fragments,
                              ValueRange{at(b, l, 0)});
      vector::StoreOp::create(b, l, asFlat(b, l, mma.getMatrixB(), i32, 2), fragments,
                              ValueRange{at(b, l, 4)});
      vector::StoreOp::create(b, l, asFlat(b, l, mma.getMatrixC(), i32, 4), fragments,
                              ValueRange{at(b, l, 6)});
      func::CallOp::create(b, l, c.mma,
                           ValueRange{i32c(b, l, kind), addressOf(b, l, fragments)});
      Value d = vector::LoadOp::create(b, l, VectorType::get({4}, i32), fragments,
                                       ValueRange{at(b, l, 10)});
      d = vector::BitCastOp::create(b, l, VectorType::get({4}, b.getF32Type()), d);
      d = vector::ShapeCastOp::create(b, l, mma.getType(), d);
      mma.getResult().replaceAllUsesWith(d);
      erase.push_back(op);
    } else if (auto ld = dyn_cast<nvgpu::LdMatrixOp>(op)) {
      auto result = ld.getRes().getType();
      int64_t matrices = ld.getNumTiles();
      int64_t bits = result.getElementTypeBitWidth();
      if (bits != 16 && !(bits == 32 && !ld.getTranspose()))
        return op->emitError("cuda-emu: nvgpu.ldmatrix of ")
               << result.getElementType()
               << " is not emulated (16-bit elements are, and 32-bit ones without .trans)";
      auto offset = byteOffset(b, l, ld.getSrcMemref(), ld.getIndices());
      if (failed(offset))
        return op->emitError("cuda-emu: nvgpu.ldmatrix from a memref that is not static "
                             "and contiguous is not emulated");
      func::CallOp::create(b, l, c.ldmatrix,
                           ValueRange{addressOf(b, l, ld.getSrcMemref()), offset->first,
                                      offset->second, i32c(b, l, matrices),
                                      i32c(b, l, ld.getTranspose() ? 1 : 0),
                                      addressOf(b, l, registers)});
      Value r = vector::LoadOp::create(b, l, VectorType::get({matrices}, i32), registers,
                                       ValueRange{at(b, l, 0)});
      r = vector::BitCastOp::create(
          b, l, VectorType::get({32 / bits * matrices}, result.getElementType()), r);
      r = vector::ShapeCastOp::create(b, l, result, r);
      ld.getRes().replaceAllUsesWith(r);
      erase.push_back(op);
    } else if (auto cp = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
      auto dstType = llvm::cast<MemRefType>(cp.getDst().getType());
      int64_t elementBytes = dstType.getElementTypeBitWidth() / 8;
      auto dst = byteOffset(b, l, cp.getDst(), cp.getDstIndices());
      auto src = byteOffset(b, l, cp.getSrc(), cp.getSrcIndices());
      if (failed(dst) || failed(src))
        return op->emitError("cuda-emu: nvgpu.device_async_copy between memrefs that are "
                             "not static and contiguous is not emulated");
      int64_t bytes = cp.getDstElements().getSExtValue() * elementBytes;
      Value valid = i32c(b, l, bytes);
      if (Value n = cp.getSrcElements()) {
        Value nb = arith::MulIOp::create(b, l, n, at(b, l, elementBytes));
        valid = arith::IndexCastOp::create(b, l, i32, nb);
      }
      func::CallOp::create(b, l, c.cpAsync,
                           ValueRange{addressOf(b, l, cp.getDst()), dst->first, dst->second,
                                      addressOf(b, l, cp.getSrc()), src->first, src->second,
                                      i32c(b, l, bytes), valid});
      erase.push_back(op);
    } else if (isa<nvgpu::DeviceAsyncCreateGroupOp>(op)) {
      func::CallOp::create(b, l, c.cpCommit, ValueRange{});
      erase.push_back(op);
    } else if (auto wait = dyn_cast<nvgpu::DeviceAsyncWaitOp>(op)) {
      func::CallOp::create(b, l, c.cpWait,
                           ValueRange{i32c(b, l, wait.getNumGroups().value_or(0))});
      erase.push_back(op);
    } else {
      return op->emitError("cuda-emu: '") << op->getName() << "' is not emulated";
    }
  }
  // The tokens only link these ops to each other: drop them all together.
  for (Operation *op : erase)
    op->dropAllUses();
  for (Operation *op : erase)
    op->erase();
  return success();
}

/// Rewrites one gpu.func into a func.func @NAME_impl at `b`.
FailureOr<EmuKernel> convertKernel(gpu::GPUFuncOp f, OpBuilder &b, const EmuCallees &c) {
  MLIRContext *ctx = f.getContext();
  Location loc = f.getLoc();
  EmuKernel k;
  k.name = f.getName().str();
  k.buffers = f.getNumArguments();
  // Each workgroup array where a GPU may put it and no better: at a
  // multiple of its alignment (its `llvm.align`, else its element's size,
  // as the NVVM lowering declares it) that is an odd one below 16 bytes, so
  // that an access needing more alignment than the array was given (a
  // 16-byte ldmatrix row or cp.async) is caught here, not only on a GPU.
  SmallVector<int64_t> offsets;
  for (auto [i, a] : llvm::enumerate(f.getWorkgroupAttributions())) {
    auto type = llvm::cast<MemRefType>(a.getType());
    int64_t align = std::max<int64_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
    if (auto attr = llvm::dyn_cast_or_null<IntegerAttr>(f.getWorkgroupAttributionAttr(
            static_cast<unsigned>(i), LLVM::LLVMDialect::getAlignAttrName())))
      align = std::max<int64_t>(align, attr.getInt());
    k.sharedBytes = (k.sharedBytes + align - 1) / align * align;
    if (align < kSharedAlign && (k.sharedBytes / align) % 2 == 0)
      k.sharedBytes += align;
    offsets.push_back(k.sharedBytes);
    k.sharedBytes += bytesOf(type);
  }
  unsigned workgroup = f.getNumWorkgroupAttributions();
  unsigned privates = f.getNumPrivateAttributions();
  int64_t sharedAlloc = std::max<int64_t>(k.sharedBytes, kSharedAlign);
  SmallVector<Type> types;
  for (Type t : f.getArgumentTypes())
    types.push_back(withoutMemorySpace(t));
  auto sharedType = MemRefType::get({sharedAlloc}, b.getI8Type());
  auto idsType = MemRefType::get({12}, b.getIndexType());
  types.push_back(sharedType);
  types.push_back(idsType);
  auto fn = func::FuncOp::create(b, loc, k.name + "_impl", FunctionType::get(ctx, types, {}));
  fn.getBody().takeBody(f.getBody());
  Block &entry = fn.getBody().front();
  Value shared = entry.addArgument(sharedType, loc);
  Value ids = entry.addArgument(idsType, loc);
  OpBuilder eb = OpBuilder::atBlockBegin(&entry);
  for (unsigned i = 0; i < workgroup; ++i) {
    BlockArgument a = entry.getArgument(k.buffers + i);
    Value offset = arith::ConstantIndexOp::create(eb, loc, offsets[i]);
    Value view = memref::ViewOp::create(eb, loc, withoutMemorySpace(a.getType()), shared,
                                        offset, ValueRange{});
    a.replaceAllUsesWith(view);
  }
  for (unsigned i = 0; i < privates; ++i) {
    BlockArgument a = entry.getArgument(k.buffers + workgroup + i);
    Value local = memref::AllocaOp::create(
        eb, loc, llvm::cast<MemRefType>(withoutMemorySpace(a.getType())));
    a.replaceAllUsesWith(local);
  }
  for (unsigned i = workgroup + privates; i > 0; --i)
    entry.eraseArgument(k.buffers + i - 1);
  for (unsigned i = 0; i < k.buffers; ++i)
    entry.getArgument(i).setType(types[i]);

  // Host memory has no address spaces; the ids and the barrier replace the
  // GPU's special registers and bar.sync.
  LogicalResult result = success();
  auto id = [&](OpBuilder &ob, Location l, int64_t base, gpu::Dimension d) {
    Value index = arith::ConstantIndexOp::create(ob, l, base + static_cast<int64_t>(d));
    return memref::LoadOp::create(ob, l, ids, ValueRange{index}).getResult();
  };
  fn.walk([&](Operation *op) {
    for (OpResult r : op->getResults())
      r.setType(withoutMemorySpace(r.getType()));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument a : block.getArguments())
          a.setType(withoutMemorySpace(a.getType()));
  });
  if (failed(lowerWarpMatrixOps(fn, c)))
    return failure();
  fn.walk([&](Operation *op) {
    StringRef dialect = op->getName().getDialectNamespace();
    if (dialect == "nvvm" || dialect == "nvgpu") {
      result = op->emitError("cuda-emu: '") << op->getName() << "' is not emulated";
      return WalkResult::interrupt();
    }
    if (dialect != "gpu")
      return WalkResult::advance();
    OpBuilder ob(op);
    Value replacement;
    if (auto t = dyn_cast<gpu::ThreadIdOp>(op))
      replacement = id(ob, op->getLoc(), 0, t.getDimension());
    else if (auto bid = dyn_cast<gpu::BlockIdOp>(op))
      replacement = id(ob, op->getLoc(), 3, bid.getDimension());
    else if (auto bdim = dyn_cast<gpu::BlockDimOp>(op))
      replacement = id(ob, op->getLoc(), 6, bdim.getDimension());
    else if (auto gdim = dyn_cast<gpu::GridDimOp>(op))
      replacement = id(ob, op->getLoc(), 9, gdim.getDimension());
    if (replacement) {
      op->getResult(0).replaceAllUsesWith(replacement);
      op->erase();
      return WalkResult::skip();
    }
    if (isa<gpu::BarrierOp>(op)) {
      func::CallOp::create(ob, op->getLoc(), c.barrier, ValueRange{});
      op->erase();
      return WalkResult::skip();
    }
    if (auto shfl = dyn_cast<gpu::ShuffleOp>(op)) {
      // 32-bit values through the warp's exchange (PTX shfl.sync).
      Location l = op->getLoc();
      Type type = shfl.getValue().getType();
      if (!type.isF32() && !type.isInteger(32)) {
        result = op->emitError("cuda-emu: gpu.shuffle of ") << type << " is not emulated";
        return WalkResult::interrupt();
      }
      Type i32 = ob.getI32Type();
      Value bits = type.isF32() ? arith::BitcastOp::create(ob, l, i32, shfl.getValue()).getResult()
                                : shfl.getValue();
      Value mode = arith::ConstantIntOp::create(ob, l, static_cast<int64_t>(shfl.getMode()), 32);
      Value packed = func::CallOp::create(ob, l, c.shuffle,
                                          ValueRange{bits, shfl.getOffset(), shfl.getWidth(), mode})
                         .getResult(0);
      Value low = arith::TruncIOp::create(ob, l, i32, packed);
      Value value = type.isF32() ? arith::BitcastOp::create(ob, l, type, low).getResult() : low;
      Value high = arith::ShRUIOp::create(ob, l, packed,
                                          arith::ConstantIntOp::create(ob, l, 32, 64));
      Value valid = arith::TruncIOp::create(ob, l, ob.getI1Type(), high);
      shfl.getShuffleResult().replaceAllUsesWith(value);
      shfl.getValid().replaceAllUsesWith(valid);
      op->erase();
      return WalkResult::skip();
    }
    if (isa<gpu::ReturnOp>(op)) {
      func::ReturnOp::create(ob, op->getLoc());
      op->erase();
      return WalkResult::skip();
    }
    result = op->emitError("cuda-emu: '") << op->getName() << "' is not emulated";
    return WalkResult::interrupt();
  });
  if (failed(result))
    return failure();
  checkAccesses(fn, k.buffers, c.fault);
  return k;
}

} // namespace

LogicalResult mlir::dla::lowerGpuKernelsForEmulation(ModuleOp module, TimingScope &timing) {
  TimingScope scope = timing.nest("lower CUDA kernels for cuda-emu");
  if (failed(mapPhasesToThreads(module)))
    return failure();
  MLIRContext *ctx = module.getContext();
  Location loc = module.getLoc();
  SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto declare = [&](StringRef name, TypeRange args, TypeRange results) {
    auto fn = func::FuncOp::create(b, loc, name, FunctionType::get(ctx, args, results));
    fn.setPrivate();
    return fn;
  };
  EmuCallees c;
  c.barrier = declare(kBarrier, {}, {});
  c.shuffle = declare(kShuffle, {i32, i32, i32, i32}, {i64});
  c.fault = declare(kFault, {i32, i32, i64, i64}, {});
  c.mma = declare(kMma, {i32, i64}, {});
  c.ldmatrix = declare(kLdmatrix, {i64, i64, i64, i32, i32, i64}, {});
  c.cpAsync = declare(kCpAsync, {i64, i64, i64, i64, i64, i64, i32, i32}, {});
  c.cpCommit = declare(kCpCommit, {}, {});
  c.cpWait = declare(kCpWait, {i32}, {});
  std::vector<EmuKernel> kernels;
  for (gpu::GPUModuleOp gm : gpuModules) {
    for (auto f : llvm::make_early_inc_range(gm.getOps<gpu::GPUFuncOp>())) {
      FailureOr<EmuKernel> k = convertKernel(f, b, c);
      if (failed(k))
        return failure();
      kernels.push_back(*k);
    }
    gm.erase();
  }
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  if (failed(verify(module)))
    return module.emitError("cuda-emu: the converted kernels do not verify (a dlac bug)");

  PassManager pm(ctx);
  pm.enableTiming(scope);
  if (failed(parsePassPipeline(hostLoweringPipeline(), pm)) || failed(expandBFloat16(module)) ||
      failed(pm.run(module)))
    return failure();

  // NAME(args...) { return (*NAME_fn)(args...); } for the runtime's
  // barrier and shuffle: the runtime sets NAME_fn when it loads the library.
  b.setInsertionPointToEnd(module.getBody());
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  for (StringRef name : {kBarrier, kShuffle, kFault, kMma, kLdmatrix, kCpAsync, kCpCommit,
                         kCpWait}) {
    auto decl = module.lookupSymbol<LLVM::LLVMFuncOp>(name);
    if (!decl)
      return module.emitError("cuda-emu: the declaration of ") << name << " is missing (a dlac bug)";
    auto fnPtr = LLVM::GlobalOp::create(b, loc, ptr, /*isConstant=*/false,
                                        LLVM::Linkage::External, (name + "_fn").str(),
                                        LLVM::ZeroAttr::get(ctx));
    OpBuilder::InsertionGuard guard(b);
    Block *body = decl.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    Value address = LLVM::AddressOfOp::create(b, loc, fnPtr);
    Value target = LLVM::LoadOp::create(b, loc, ptr, address);
    SmallVector<Value> operands{target};
    operands.append(body->getArguments().begin(), body->getArguments().end());
    auto call = LLVM::CallOp::create(b, loc, decl.getFunctionType(), operands);
    LLVM::ReturnOp::create(b, loc, call.getNumResults() ? call.getResults() : ValueRange{});
    decl.setLinkage(LLVM::Linkage::Internal);
  }

  // The entry points and their signatures.
  for (const EmuKernel &k : kernels) {
    buildEntryPoint(module, b, k.name, k.buffers, {ptr, ptr});
    buildSignature(module, b, "dla_emu_signature_" + k.name, {k.buffers, k.sharedBytes});
  }
  if (failed(verify(module)))
    return module.emitError("cuda-emu: the lowered kernels do not verify (a dlac bug)");
  return success();
}
