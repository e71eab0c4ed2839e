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
// which waits for the lanes of the warp; every load and store is checked
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
/// Shared memory views start at multiples of this (what vector loads like).
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

/// Rewrites one gpu.func into a func.func @NAME_impl at `b`.
FailureOr<EmuKernel> convertKernel(gpu::GPUFuncOp f, OpBuilder &b, func::FuncOp barrier,
                                   func::FuncOp shuffle, func::FuncOp fault) {
  MLIRContext *ctx = f.getContext();
  Location loc = f.getLoc();
  EmuKernel k;
  k.name = f.getName().str();
  k.buffers = f.getNumArguments();
  SmallVector<int64_t> offsets;
  for (BlockArgument a : f.getWorkgroupAttributions()) {
    k.sharedBytes = (k.sharedBytes + kSharedAlign - 1) / kSharedAlign * kSharedAlign;
    offsets.push_back(k.sharedBytes);
    k.sharedBytes += bytesOf(llvm::cast<MemRefType>(a.getType()));
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
      func::CallOp::create(ob, op->getLoc(), barrier, ValueRange{});
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
      Value packed = func::CallOp::create(ob, l, shuffle,
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
  checkAccesses(fn, k.buffers, fault);
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
  auto barrier = func::FuncOp::create(b, loc, kBarrier, FunctionType::get(ctx, {}, {}));
  barrier.setPrivate();
  Type i32 = b.getI32Type();
  auto shuffle = func::FuncOp::create(
      b, loc, kShuffle, FunctionType::get(ctx, {i32, i32, i32, i32}, {b.getI64Type()}));
  shuffle.setPrivate();
  auto fault = func::FuncOp::create(
      b, loc, kFault, FunctionType::get(ctx, {i32, i32, b.getI64Type(), b.getI64Type()}, {}));
  fault.setPrivate();
  std::vector<EmuKernel> kernels;
  for (gpu::GPUModuleOp gm : gpuModules) {
    for (auto f : llvm::make_early_inc_range(gm.getOps<gpu::GPUFuncOp>())) {
      FailureOr<EmuKernel> k = convertKernel(f, b, barrier, shuffle, fault);
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
  for (StringRef name : {kBarrier, kShuffle, kFault}) {
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
