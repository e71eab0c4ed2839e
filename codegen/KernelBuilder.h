//===- KernelBuilder.h - The building blocks of kernel IR -------*- C++ -*-===//
//
// Shared by every kernel generator (codegen/GPU/*.cpp: the GPU-shaped
// kernels, codegen/CPU/*.cpp: the CPU kernels). A generator first fixes its
// kernel's signature and launch in a KernelIR (buffers, scratch, grid,
// threads, host waves), then opens a KernelBuilder on it: that creates the
// kernel function for the target being built (a host `func.func` looping over
// its blocks, or a `gpu.func`) and hands out the block ids, the buffers and
// the scratch as Values. The body is then built op by op with
// `Op::create(builder, loc, ...)` through the small helpers below; nested
// regions (loops, ifs, phases) are opened and closed in the order they nest.
// Internal to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_KERNELBUILDER_H
#define DLA_CODEGEN_KERNELBUILDER_H

#include "codegen/KernelGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <functional>
#include <vector>

namespace mlir::dla::kernelgen {

/// The memref of a tensor value: its shape and element type (the storage
/// type, dla-apply-precision). A tf32 tensor gives memref<... x tf32>: the
/// kernel function takes it as f32 and rounds what it stores there.
MemRefType memrefType(Value v);
/// memref<shape x f32>: scratch and workspaces, which hold f32.
MemRefType memrefType(MLIRContext *ctx, llvm::ArrayRef<int64_t> shape);
/// memref<shape x E> of tensor `like`'s element type E: a tensor in
/// another layout (packed weights, flattened activations); E is f32 for a
/// packed weight kept widened (#dla.host_layout<..., storage = f32>).
MemRefType memrefType(Value like, llvm::ArrayRef<int64_t> shape);

/// Builds the body of one kernel. Every helper inserts at the current point
/// and returns the Value it defines.
class KernelBuilder {
public:
  /// Creates the kernel function of `k` at `place` and positions the
  /// builder inside the body of one block.
  KernelBuilder(const KernelPlace &place, KernelIR &k);
  KernelBuilder(const KernelBuilder &) = delete;
  /// Closes the kernel function (the block loop, scratch, return). Every
  /// region opened must have been closed.
  void finish();

  // The block and its buffers.
  Value bx() const { return blockIds[0]; }
  Value by() const { return blockIds[1]; }
  Value bz() const { return blockIds[2]; }
  /// Buffer `i` of KernelIR::argTypes.
  Value arg(int64_t i) const { return args[i]; }
  /// Workgroup scratch `i` of KernelIR::scratchTypes.
  Value scratch(int64_t i) const { return scratchBuffers[i]; }

  // Constants.
  Value idx(int64_t c);
  Value f32(double c);
  /// A vector of `lanes` f32 zeros.
  Value zeros(int64_t lanes);
  VectorType vecType(int64_t lanes) { return VectorType::get({lanes}, b.getF32Type()); }

  // Index arithmetic.
  Value add(Value a, Value c);
  Value sub(Value a, Value c);
  Value mul(Value a, Value c);
  Value addc(Value a, int64_t c) { return c ? add(a, idx(c)) : a; }
  Value mulc(Value a, int64_t c) { return c == 1 ? a : mul(a, idx(c)); }
  Value div(Value a, int64_t c) { return divui(a, idx(c)); }
  Value rem(Value a, int64_t c) { return remui(a, idx(c)); }
  Value divui(Value a, Value c);
  Value remui(Value a, Value c);
  Value minui(Value a, Value c);
  Value maxsi(Value a, Value c);
  Value minsi(Value a, Value c);
  Value cmpi(arith::CmpIPredicate p, Value a, Value c);
  Value ult(Value a, Value c) { return cmpi(arith::CmpIPredicate::ult, a, c); }
  Value ult(Value a, int64_t c) { return ult(a, idx(c)); }
  Value andi(Value a, Value c);
  /// 0 <= v < bound for a signed index.
  Value inRange(Value v, int64_t bound);

  // Float arithmetic, scalar or vector.
  Value addf(Value a, Value c);
  Value subf(Value a, Value c);
  Value mulf(Value a, Value c);
  Value divf(Value a, Value c);
  Value maxf(Value a, Value c); ///< arith.maximumf (NaN-propagating)
  Value minf(Value a, Value c); ///< arith.minimumf
  Value cmpf(arith::CmpFPredicate p, Value a, Value c);
  Value select(Value cond, Value a, Value c);
  Value exp(Value x);
  Value sqrt(Value x);
  Value floor(Value x);
  /// index → f32 (through i64, signed).
  Value indexToF32(Value i);
  /// f32 → index (fptosi through i64).
  Value f32ToIndex(Value x);

  // Memory. Kernels compute in f32: a load from an f16/bf16 buffer widens
  // (exactly) to f32, a store to one rounds to nearest even, once; a store
  // to a tf32 buffer (f32 words) rounds to tf32 (roundToTF32).
  Value load(Value memref, llvm::ArrayRef<Value> indices);
  void store(Value value, Value memref, llvm::ArrayRef<Value> indices);
  Value vload(Value memref, llvm::ArrayRef<Value> indices, int64_t lanes);
  void vstore(Value value, Value memref, llvm::ArrayRef<Value> indices);
  /// `x` (f32, scalar or vector) rounded to `element` (f16, bf16, tf32) and
  /// widened back: a value of the storage type kept in an f32 buffer
  /// (#dla.host_layout<..., storage = f32>). Other element types: `x`.
  Value roundTo(Value x, Type element);
  /// `x` (f32, scalar or vector) rounded to tf32's 10 mantissa bits, to
  /// nearest with ties away from zero, as PTX's cvt.rna.tf32.f32 and
  /// CUTLASS's default f32 -> tf32 conversion do; NaN stays NaN.
  Value roundToTF32(Value x);
  /// memref.prefetch for reading, locality 3.
  void prefetch(Value memref, llvm::ArrayRef<Value> indices);

  // GPU kernels only (KernelWrapper::Gpu): synchronisation and the
  // warp-wide matrix instructions, inside a phase that spans the block.
  /// gpu.barrier (__syncthreads()).
  void barrier();
  /// nvgpu.ldmatrix of `matrices` 8x8 matrices of 16-bit elements (or 8x4
  /// of 32-bit ones) from workgroup memory; the lane gives the row at
  /// `indices`: vector<matrices x (32 / bits) x E>.
  Value ldmatrix(Value shared, llvm::ArrayRef<Value> indices, int64_t matrices, bool trans);
  /// nvgpu.mma.sync D = A * B + C of `shape` (m, n, k); `tf32` for f32
  /// operands read as tf32.
  Value mma(Value a, Value bm, Value c, llvm::ArrayRef<int64_t> shape, bool tf32);

  // Vectors.
  Value broadcast(Value scalar, int64_t lanes);
  Value fma(Value a, Value c, Value acc);
  Value shuffle(Value a, Value c, llvm::ArrayRef<int64_t> mask);
  Value reduceAdd(Value v);

  // Regions, opened and closed in the order they nest.
  /// `scf.forall (%t) in (threads)` mapped to #gpu.thread<x>: a phase of
  /// the block's threads, with no barrier inside; returns %t.
  Value beginPhase(int64_t threads);
  void endPhase() { close(); }
  /// `scf.for %i = lo to hi step step`; returns %i.
  Value beginFor(Value lo, Value hi, Value step);
  Value beginFor(Value lo, Value hi, int64_t step = 1) { return beginFor(lo, hi, idx(step)); }
  Value beginFor(int64_t lo, int64_t hi, int64_t step = 1) {
    return beginFor(idx(lo), idx(hi), idx(step));
  }
  /// `for (i = t; i < total; i += threads)`: the threads share a loop.
  Value beginStrided(Value t, int64_t total, int64_t threads) {
    return beginFor(t, idx(total), idx(threads));
  }
  void endFor() { close(); }
  /// A loop carrying values: `inside` are the carried values in the body;
  /// endCarry yields the new ones and returns the loop's results.
  struct Carry {
    Value iv;
    llvm::SmallVector<Value> inside;
    Operation *loop = nullptr;
  };
  Carry beginCarry(Value lo, Value hi, Value step, llvm::ArrayRef<Value> init);
  llvm::SmallVector<Value> endCarry(const Carry &c, llvm::ArrayRef<Value> values);
  /// `scf.if cond {` (no results); beginElse() switches to the else branch.
  void beginIf(Value cond, bool withElse = false);
  void beginElse();
  void endIf();
  /// `%r = scf.if cond -> (type) { then } else { otherwise }`: the branches
  /// are built inside them. The type is the then branch's value's.
  Value ifValue(Value cond, const std::function<Value()> &then,
                const std::function<Value()> &otherwise);

  OpBuilder b;
  Location loc;

private:
  void open(Block *body, bool beforeTerminator);
  void close();

  KernelIR &kernel;
  KernelWrapper wrapper;
  Operation *function = nullptr;
  Operation *blockLoop = nullptr;
  llvm::SmallVector<Value, 3> blockIds;
  llvm::SmallVector<Value> args, scratchBuffers;
  /// The buffers KernelIR::argTypes gives as tf32: f32 in the function,
  /// rounded to tf32 on store.
  llvm::DenseSet<Value> tf32Buffers;
  /// Where each open region resumes when closed, innermost last.
  std::vector<OpBuilder::InsertPoint> resume;
  /// The else block of each open scf.if with one, innermost last.
  std::vector<Block *> elseBlocks;
  bool finished = false;
};

/// The largest power of two <= cap dividing n.
inline int64_t pow2Divisor(int64_t n, int64_t cap) {
  int64_t d = 1;
  while (d * 2 <= cap && n % (d * 2) == 0)
    d *= 2;
  return d;
}
inline int64_t ceilDiv(int64_t a, int64_t c) { return (a + c - 1) / c; }
inline int64_t roundUp(int64_t a, int64_t c) { return ceilDiv(a, c) * c; }

/// x(ch, y, x) of a fused_deform_conv at a pixel inside the image: the sum
/// of its addends (buffers 0.. of the kernel, then the upsampling weights);
/// upsampled addends gather the (at most) 2x2 taps of their depthwise
/// transposed conv.
Value readDeformInput(KernelBuilder &e, Operation *fusedDeformConv, Value img, Value ch,
                      Value y, Value x);

/// The buffers of a fold_batch_norm kernel (operands, then results) and the
/// per-channel folding both kernel generators share.
struct FoldBatchNormArgs {
  double epsilon;
  int64_t weight, bias = -1, gamma, beta, mean, var, newWeight, newBias;

  /// Appends the buffers' types to k.argTypes.
  FoldBatchNormArgs(Operation *foldBatchNorm, KernelIR &k);
  /// Stores the folded bias of output channel `o`; returns its scale
  /// gamma / sqrt(var + eps).
  Value foldChannel(KernelBuilder &e, Value o) const;
};

} // namespace mlir::dla::kernelgen

#endif // DLA_CODEGEN_KERNELBUILDER_H
