//===- KernelBuilder.cpp - The building blocks of kernel IR ---------------===//

#include "codegen/KernelBuilder.h"

#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cassert>
#include <cmath>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

namespace {
bool isTF32(Type t) { return llvm::isa<FloatTF32Type>(getElementTypeOrSelf(t)); }

/// The element type of a kernel buffer for tensor type `type`: the type in
/// memory, but tf32 for a tf32 tensor (its stores round).
Type kernelElementType(Type type) {
  return isTF32(type) ? getElementTypeOrSelf(type) : storedElementType(type);
}
} // namespace

MemRefType mlir::dla::kernelgen::memrefType(Value v) {
  auto type = llvm::cast<ShapedType>(v.getType());
  return MemRefType::get(type.getShape(), kernelElementType(type));
}

MemRefType mlir::dla::kernelgen::memrefType(MLIRContext *ctx, llvm::ArrayRef<int64_t> shape) {
  return MemRefType::get(shape, Float32Type::get(ctx));
}

MemRefType mlir::dla::kernelgen::memrefType(Value like, llvm::ArrayRef<int64_t> shape) {
  return MemRefType::get(shape, kernelElementType(like.getType()));
}

namespace {
/// The narrow float element type of a buffer (f16, bf16), or null when its
/// values are read and written as they are.
Type narrowFloat(Value memref) {
  Type e = llvm::cast<MemRefType>(memref.getType()).getElementType();
  return e.isF16() || e.isBF16() ? e : Type();
}
} // namespace

//===----------------------------------------------------------------------===//
// The kernel function
//===----------------------------------------------------------------------===//

KernelBuilder::KernelBuilder(const KernelPlace &place, KernelIR &k)
    : b(*place.builder), loc(place.loc), kernel(k), wrapper(place.wrapper) {
  MLIRContext *ctx = b.getContext();
  // A tf32 buffer is f32 in memory: the function takes it as f32.
  SmallVector<Type> types;
  for (MemRefType t : k.argTypes)
    types.push_back(isTF32(t) ? MemRefType::get(t.getShape(), b.getF32Type()) : t);
  auto noteTF32 = [&](Value arg, size_t i) {
    if (isTF32(k.argTypes[i]))
      tf32Buffers.insert(arg);
  };
  if (wrapper == KernelWrapper::Host) {
    // func.func @K(buffers..., %begin, %end): blocks [begin, end), one after
    // another; scratch on the heap, once per call (CPU tiles can exceed a
    // thread's stack).
    types.push_back(b.getIndexType());
    types.push_back(b.getIndexType());
    auto func = func::FuncOp::create(b, loc, k.name, b.getFunctionType(types, {}));
    function = func;
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    for (size_t i = 0; i < k.argTypes.size(); ++i) {
      args.push_back(entry->getArgument(i));
      noteTF32(args.back(), i);
    }
    for (MemRefType t : k.scratchTypes)
      scratchBuffers.push_back(
          memref::AllocOp::create(b, loc, t, /*alignment=*/b.getI64IntegerAttr(64)));
    Value begin = entry->getArgument(k.argTypes.size());
    Value end = entry->getArgument(k.argTypes.size() + 1);
    auto loop = scf::ForOp::create(b, loc, begin, end, idx(1));
    blockLoop = loop;
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value blk = loop.getInductionVar();
    Value bq = div(blk, k.grid[0]);
    blockIds = {rem(blk, k.grid[0]), rem(bq, k.grid[1]), div(bq, k.grid[1])};
  } else {
    // gpu.func @K(buffers...) workgroup(scratch...) kernel.
    auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    SmallVector<Type> shared;
    for (MemRefType t : k.scratchTypes)
      shared.push_back(MemRefType::get(t.getShape(), t.getElementType(),
                                       MemRefLayoutAttrInterface(), workgroup));
    auto func =
        gpu::GPUFuncOp::create(b, loc, k.name, b.getFunctionType(types, {}), shared);
    function = func;
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({static_cast<int32_t>(k.threads), 1, 1}));
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    for (size_t i = 0; i < k.argTypes.size(); ++i) {
      args.push_back(entry.getArgument(i));
      noteTF32(args.back(), i);
    }
    // 16-byte aligned, as ldmatrix rows, cp.async and vector accesses need
    // (the NVVM lowering would align them to their element only).
    for (unsigned i = 0; i < func.getNumWorkgroupAttributions(); ++i)
      func.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                       b.getI64IntegerAttr(16));
    for (BlockArgument a : func.getWorkgroupAttributions())
      scratchBuffers.push_back(a);
    for (gpu::Dimension d : {gpu::Dimension::x, gpu::Dimension::y, gpu::Dimension::z})
      blockIds.push_back(gpu::BlockIdOp::create(b, loc, d));
  }
}

void KernelBuilder::finish() {
  assert(resume.empty() && "a region of the kernel body is still open");
  assert(!finished);
  finished = true;
  if (wrapper == KernelWrapper::Host) {
    b.setInsertionPointAfter(blockLoop);
    for (Value s : scratchBuffers)
      memref::DeallocOp::create(b, loc, s);
    func::ReturnOp::create(b, loc);
  } else {
    gpu::ReturnOp::create(b, loc);
  }
  kernel.function = function;
  b.setInsertionPointAfter(function);
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

Value KernelBuilder::idx(int64_t c) { return arith::ConstantIndexOp::create(b, loc, c); }

Value KernelBuilder::f32(double c) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(static_cast<float>(c)));
}

Value KernelBuilder::zeros(int64_t lanes) {
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(vecType(lanes), 0.0f));
}

Value KernelBuilder::add(Value a, Value c) { return arith::AddIOp::create(b, loc, a, c); }
Value KernelBuilder::sub(Value a, Value c) { return arith::SubIOp::create(b, loc, a, c); }
Value KernelBuilder::mul(Value a, Value c) { return arith::MulIOp::create(b, loc, a, c); }
Value KernelBuilder::divui(Value a, Value c) { return arith::DivUIOp::create(b, loc, a, c); }
Value KernelBuilder::remui(Value a, Value c) { return arith::RemUIOp::create(b, loc, a, c); }
Value KernelBuilder::minui(Value a, Value c) { return arith::MinUIOp::create(b, loc, a, c); }
Value KernelBuilder::maxsi(Value a, Value c) { return arith::MaxSIOp::create(b, loc, a, c); }
Value KernelBuilder::minsi(Value a, Value c) { return arith::MinSIOp::create(b, loc, a, c); }
Value KernelBuilder::cmpi(arith::CmpIPredicate p, Value a, Value c) {
  return arith::CmpIOp::create(b, loc, p, a, c);
}
Value KernelBuilder::andi(Value a, Value c) { return arith::AndIOp::create(b, loc, a, c); }
Value KernelBuilder::inRange(Value v, int64_t bound) {
  return andi(cmpi(arith::CmpIPredicate::sge, v, idx(0)),
              cmpi(arith::CmpIPredicate::slt, v, idx(bound)));
}

Value KernelBuilder::addf(Value a, Value c) { return arith::AddFOp::create(b, loc, a, c); }
Value KernelBuilder::subf(Value a, Value c) { return arith::SubFOp::create(b, loc, a, c); }
Value KernelBuilder::mulf(Value a, Value c) { return arith::MulFOp::create(b, loc, a, c); }
Value KernelBuilder::divf(Value a, Value c) { return arith::DivFOp::create(b, loc, a, c); }
Value KernelBuilder::maxf(Value a, Value c) { return arith::MaximumFOp::create(b, loc, a, c); }
Value KernelBuilder::minf(Value a, Value c) { return arith::MinimumFOp::create(b, loc, a, c); }
Value KernelBuilder::cmpf(arith::CmpFPredicate p, Value a, Value c) {
  return arith::CmpFOp::create(b, loc, p, a, c);
}
Value KernelBuilder::select(Value cond, Value a, Value c) {
  return arith::SelectOp::create(b, loc, cond, a, c);
}
Value KernelBuilder::exp(Value x) { return math::ExpOp::create(b, loc, x); }
Value KernelBuilder::sqrt(Value x) { return math::SqrtOp::create(b, loc, x); }
Value KernelBuilder::floor(Value x) { return math::FloorOp::create(b, loc, x); }
Value KernelBuilder::indexToF32(Value i) {
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), i64);
}
Value KernelBuilder::f32ToIndex(Value x) {
  Value i64 = arith::FPToSIOp::create(b, loc, b.getI64Type(), x);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), i64);
}

Value KernelBuilder::roundToTF32(Value x) {
  // Round to nearest, ties away from zero, on the magnitude bits (PTX's
  // cvt.rna.tf32.f32): add half of tf32's last place, clear the 13 bits
  // below it. A NaN stays a NaN; a value past tf32's largest rounds to Inf.
  Type bits = b.getI32Type(), wide = x.getType();
  if (auto v = llvm::dyn_cast<VectorType>(wide))
    bits = VectorType::get(v.getShape(), bits);
  auto constant = [&](int32_t c) {
    if (auto v = llvm::dyn_cast<VectorType>(bits))
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(v, b.getI32IntegerAttr(c)))
          .getResult();
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(c)).getResult();
  };
  Value i = arith::BitcastOp::create(b, loc, bits, x);
  i = arith::AddIOp::create(b, loc, i, constant(0x1000));
  i = arith::AndIOp::create(b, loc, i, constant(static_cast<int32_t>(0xffffe000u)));
  Value rounded = arith::BitcastOp::create(b, loc, wide, i);
  Value nan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  return arith::SelectOp::create(b, loc, nan, x, rounded);
}

Value KernelBuilder::roundTo(Value x, Type element) {
  if (llvm::isa<FloatTF32Type>(element))
    return roundToTF32(x);
  if (!element.isF16() && !element.isBF16())
    return x;
  Type narrow = element, wide = x.getType();
  if (auto v = llvm::dyn_cast<VectorType>(wide))
    narrow = VectorType::get(v.getShape(), element);
  Value rounded = arith::TruncFOp::create(b, loc, narrow, x);
  return arith::ExtFOp::create(b, loc, wide, rounded);
}

Value KernelBuilder::load(Value memref, llvm::ArrayRef<Value> indices) {
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  if (narrowFloat(memref))
    v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  return v;
}
void KernelBuilder::store(Value value, Value memref, llvm::ArrayRef<Value> indices) {
  if (tf32Buffers.contains(memref))
    value = roundToTF32(value);
  else if (Type e = narrowFloat(memref))
    value = arith::TruncFOp::create(b, loc, e, value);
  memref::StoreOp::create(b, loc, value, memref, indices);
}
Value KernelBuilder::vload(Value memref, llvm::ArrayRef<Value> indices, int64_t lanes) {
  Type e = narrowFloat(memref);
  if (!e)
    return vector::LoadOp::create(b, loc, vecType(lanes), memref, indices);
  Value v = vector::LoadOp::create(b, loc, VectorType::get({lanes}, e), memref, indices);
  return arith::ExtFOp::create(b, loc, vecType(lanes), v);
}
void KernelBuilder::vstore(Value value, Value memref, llvm::ArrayRef<Value> indices) {
  if (tf32Buffers.contains(memref))
    value = roundToTF32(value);
  else if (Type e = narrowFloat(memref))
    value = arith::TruncFOp::create(
        b, loc, VectorType::get(llvm::cast<VectorType>(value.getType()).getShape(), e), value);
  vector::StoreOp::create(b, loc, value, memref, indices);
}
void KernelBuilder::prefetch(Value memref, llvm::ArrayRef<Value> indices) {
  memref::PrefetchOp::create(b, loc, memref, indices, b.getBoolAttr(false),
                             b.getI32IntegerAttr(3), b.getBoolAttr(true));
}

void KernelBuilder::barrier() {
  assert(wrapper == KernelWrapper::Gpu && "a barrier in a host kernel");
  gpu::BarrierOp::create(b, loc);
}
Value KernelBuilder::ldmatrix(Value shared, llvm::ArrayRef<Value> indices, int64_t matrices,
                              bool trans) {
  Type e = llvm::cast<MemRefType>(shared.getType()).getElementType();
  int64_t perWord = 32 / e.getIntOrFloatBitWidth();
  return nvgpu::LdMatrixOp::create(b, loc, VectorType::get({matrices, perWord}, e), shared,
                                   ValueRange(indices), trans, static_cast<uint32_t>(matrices));
}
Value KernelBuilder::mma(Value a, Value bm, Value c, llvm::ArrayRef<int64_t> shape, bool tf32) {
  return nvgpu::MmaSyncOp::create(b, loc, a, bm, c, shape, tf32);
}

Value KernelBuilder::broadcast(Value scalar, int64_t lanes) {
  return vector::BroadcastOp::create(b, loc, vecType(lanes), scalar);
}
Value KernelBuilder::fma(Value a, Value c, Value acc) {
  return vector::FMAOp::create(b, loc, a, c, acc);
}
Value KernelBuilder::shuffle(Value a, Value c, llvm::ArrayRef<int64_t> mask) {
  return vector::ShuffleOp::create(b, loc, a, c, mask);
}
Value KernelBuilder::reduceAdd(Value v) {
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v);
}

//===----------------------------------------------------------------------===//
// Regions
//===----------------------------------------------------------------------===//

void KernelBuilder::open(Block *body, bool beforeTerminator) {
  resume.push_back(b.saveInsertionPoint());
  if (beforeTerminator)
    b.setInsertionPoint(body->getTerminator());
  else
    b.setInsertionPointToEnd(body);
}

void KernelBuilder::close() {
  assert(!resume.empty() && "closing a region that is not open");
  b.restoreInsertionPoint(resume.back());
  resume.pop_back();
}

Value KernelBuilder::beginPhase(int64_t threads) {
  auto mapping = b.getArrayAttr({gpu::GPUThreadMappingAttr::get(b.getContext(),
                                                                gpu::MappingId::DimX)});
  auto forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(threads)},
                                      ValueRange{}, mapping);
  Value t = forall.getInductionVar(0);
  open(forall.getBody(), /*beforeTerminator=*/true);
  return t;
}

Value KernelBuilder::beginFor(Value lo, Value hi, Value step) {
  auto loop = scf::ForOp::create(b, loc, lo, hi, step);
  Value iv = loop.getInductionVar();
  open(loop.getBody(), /*beforeTerminator=*/true);
  return iv;
}

KernelBuilder::Carry KernelBuilder::beginCarry(Value lo, Value hi, Value step,
                                               llvm::ArrayRef<Value> init) {
  auto loop = scf::ForOp::create(b, loc, lo, hi, step, ValueRange(init));
  Carry c;
  c.loop = loop;
  c.iv = loop.getInductionVar();
  for (BlockArgument a : loop.getRegionIterArgs())
    c.inside.push_back(a);
  open(loop.getBody(), /*beforeTerminator=*/false);
  return c;
}

SmallVector<Value> KernelBuilder::endCarry(const Carry &c, llvm::ArrayRef<Value> values) {
  scf::YieldOp::create(b, loc, ValueRange(values));
  close();
  return SmallVector<Value>(c.loop->getResults());
}

void KernelBuilder::beginIf(Value cond, bool withElse) {
  auto op = scf::IfOp::create(b, loc, cond, withElse);
  elseBlocks.push_back(withElse ? op.elseBlock() : nullptr);
  open(op.thenBlock(), /*beforeTerminator=*/true);
}

void KernelBuilder::beginElse() {
  assert(!elseBlocks.empty() && elseBlocks.back() && "scf.if without an else branch");
  b.setInsertionPoint(elseBlocks.back()->getTerminator());
  elseBlocks.back() = nullptr;
}

void KernelBuilder::endIf() {
  assert(!elseBlocks.empty() && "closing an scf.if that is not open");
  elseBlocks.pop_back();
  close();
}

Value KernelBuilder::ifValue(Value cond, const std::function<Value()> &then,
                             const std::function<Value()> &otherwise) {
  // The result type is known once the then branch is built: build it in a
  // detached block first.
  OpBuilder::InsertionGuard guard(b);
  auto op = scf::IfOp::create(b, loc, TypeRange{}, cond, /*addThenBlock=*/true,
                              /*addElseBlock=*/true);
  b.setInsertionPointToEnd(op.thenBlock());
  Value t = then();
  scf::YieldOp::create(b, loc, t);
  b.setInsertionPointToEnd(op.elseBlock());
  Value f = otherwise();
  scf::YieldOp::create(b, loc, f);
  // Recreate with the result type, moving the branches over.
  b.setInsertionPoint(op);
  auto typed = scf::IfOp::create(b, loc, TypeRange{t.getType()}, cond, false, false);
  typed.getThenRegion().takeBody(op.getThenRegion());
  typed.getElseRegion().takeBody(op.getElseRegion());
  op.erase();
  return typed.getResult(0);
}

//===----------------------------------------------------------------------===//
// Shared pieces
//===----------------------------------------------------------------------===//

Value mlir::dla::kernelgen::readDeformInput(KernelBuilder &e, Operation *dcnOp, Value img,
                                            Value ch, Value y, Value x) {
  auto op = cast<FusedDeformConvOp>(dcnOp);
  int64_t numAddends = op.getAddends().size();
  Value sum;
  int64_t upIndex = 0;
  for (int64_t a = 0; a < numAddends; ++a) {
    int64_t f = op.getUp()[a];
    Value v;
    if (f == 1) {
      v = e.load(e.arg(a), {img, ch, y, x});
    } else {
      auto in = llvm::cast<ShapedType>(op.getAddends()[a].getType()).getShape();
      Value up = e.arg(numAddends + upIndex++);
      // Output row oy takes input rows iy with ky = oy + f/2 - iy*f in [0, 2f):
      // iy = q and q - 1 for q = (oy + f/2) / f.
      Value qy = e.div(e.addc(y, f / 2), f), qx = e.div(e.addc(x, f / 2), f);
      v = e.f32(0);
      for (int64_t dy = 0; dy < 2; ++dy)
        for (int64_t dx = 0; dx < 2; ++dx) {
          Value iy = e.sub(qy, e.idx(dy)), ix = e.sub(qx, e.idx(dx));
          Value ky = e.sub(e.addc(y, f / 2), e.mulc(iy, f));
          Value kx = e.sub(e.addc(x, f / 2), e.mulc(ix, f));
          Value valid = e.andi(e.inRange(iy, in[2]), e.inRange(ix, in[3]));
          Value iyS = e.select(valid, iy, e.idx(0));
          Value ixS = e.select(valid, ix, e.idx(0));
          Value kyS = e.select(valid, ky, e.idx(0));
          Value kxS = e.select(valid, kx, e.idx(0));
          Value p = e.mulf(e.load(e.arg(a), {img, ch, iyS, ixS}),
                           e.load(up, {ch, e.idx(0), kyS, kxS}));
          v = e.addf(v, e.select(valid, p, e.f32(0)));
        }
    }
    sum = sum ? e.addf(sum, v) : v;
  }
  return sum;
}

FoldBatchNormArgs::FoldBatchNormArgs(Operation *foldOp, KernelIR &k) {
  auto op = cast<FoldBatchNormOp>(foldOp);
  epsilon = op.getEpsilon().convertToDouble();
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  for (Value v : op->getResults())
    k.argTypes.push_back(memrefType(v));
  int64_t i = 0;
  weight = i++;
  if (op.getBias())
    bias = i++;
  gamma = i++, beta = i++, mean = i++, var = i++;
  newWeight = i++, newBias = i++;
}

Value FoldBatchNormArgs::foldChannel(KernelBuilder &e, Value o) const {
  Value v = e.addf(e.load(e.arg(var), {o}), e.f32(epsilon));
  Value scale = e.divf(e.load(e.arg(gamma), {o}), e.sqrt(v));
  Value bv = bias < 0 ? e.f32(0) : e.load(e.arg(bias), {o});
  Value nb = e.addf(e.mulf(e.subf(bv, e.load(e.arg(mean), {o})), scale),
                    e.load(e.arg(beta), {o}));
  e.store(nb, e.arg(newBias), {o});
  return scale;
}
