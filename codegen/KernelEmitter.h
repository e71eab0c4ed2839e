//===- KernelEmitter.h - Building blocks of kernel IR text -----*- C++ -*-===//
//
// Shared by the kernel generators (KernelGen.cpp: the GPU-shaped kernels,
// HostKernelGen.cpp: the CPU kernels): an emitter of MLIR lines with fresh
// SSA names, and the phase/loop helpers. Internal to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_KERNELEMITTER_H
#define DLA_CODEGEN_KERNELEMITTER_H

#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace mlir::dla::kernelgen {
inline std::string memrefType(Value v) {
  auto type = llvm::cast<ShapedType>(v.getType());
  std::string s = "memref<";
  for (int64_t d : type.getShape())
    s += std::to_string(d) + "x";
  return s + "f32>";
}

inline std::string scratchType(const std::vector<int64_t> &shape) {
  std::string s = "memref<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + "f32>";
}

/// Appends MLIR lines and hands out fresh SSA names.
class Emitter {
public:
  std::string text;

  std::string fresh() { return "%v" + std::to_string(next++); }
  void line(const std::string &s) { text += "  " + s + "\n"; }

  std::string idx(int64_t c) {
    std::string v = fresh();
    line(v + " = arith.constant " + std::to_string(c) + " : index");
    return v;
  }
  std::string f32(double c) {
    std::ostringstream os;
    os.precision(9);
    if (std::isinf(c)) // MLIR spells infinities and NaN as bit patterns
      os << (c < 0 ? "0xFF800000" : "0x7F800000");
    else if (std::isnan(c))
      os << "0x7FC00000";
    else
      os << std::scientific << c;
    std::string v = fresh();
    line(v + " = arith.constant " + os.str() + " : f32");
    return v;
  }
  std::string bin(const std::string &op, const std::string &a, const std::string &b,
                  const std::string &type = "index") {
    std::string v = fresh();
    line(v + " = arith." + op + " " + a + ", " + b + " : " + type);
    return v;
  }
  std::string add(const std::string &a, const std::string &b) { return bin("addi", a, b); }
  std::string mul(const std::string &a, const std::string &b) { return bin("muli", a, b); }
  std::string addc(const std::string &a, int64_t c) { return c ? add(a, idx(c)) : a; }
  std::string mulc(const std::string &a, int64_t c) { return c == 1 ? a : mul(a, idx(c)); }
  std::string div(const std::string &a, int64_t c) { return bin("divui", a, idx(c)); }
  std::string rem(const std::string &a, int64_t c) { return bin("remui", a, idx(c)); }
  std::string cmp(const std::string &pred, const std::string &a, const std::string &b,
                  const std::string &type = "index") {
    std::string v = fresh();
    line(v + (type == "f32" ? " = arith.cmpf " : " = arith.cmpi ") + pred + ", " + a +
         ", " + b + " : " + type);
    return v;
  }
  std::string andi(const std::string &a, const std::string &b) { return bin("andi", a, b, "i1"); }
  std::string select(const std::string &c, const std::string &a, const std::string &b,
                     const std::string &type = "f32") {
    std::string v = fresh();
    line(v + " = arith.select " + c + ", " + a + ", " + b + " : " + type);
    return v;
  }
  std::string load(const std::string &m, const std::string &type,
                   const std::vector<std::string> &indices) {
    std::string v = fresh();
    line(v + " = memref.load " + m + "[" + join(indices) + "] : " + type);
    return v;
  }
  void store(const std::string &value, const std::string &m, const std::string &type,
             const std::vector<std::string> &indices) {
    line("memref.store " + value + ", " + m + "[" + join(indices) + "] : " + type);
  }
  /// 0 <= v < bound for a signed index.
  std::string inRange(const std::string &v, int64_t bound) {
    return andi(cmp("sge", v, idx(0)), cmp("slt", v, idx(bound)));
  }

  static std::string join(const std::vector<std::string> &xs) {
    std::string s;
    for (size_t i = 0; i < xs.size(); ++i)
      s += (i ? ", " : "") + xs[i];
    return s;
  }

private:
  int next = 0;
};

/// `%r = scf.if cond -> (f32) { then } else { otherwise }`: the branches'
/// code is emitted inside them; returns %r.
inline std::string ifValue(Emitter &e, const std::string &cond,
                           const std::function<std::string()> &then,
                           const std::function<std::string()> &otherwise) {
  std::string r = e.fresh();
  e.line(r + " = scf.if " + cond + " -> (f32) {");
  e.line("scf.yield " + then() + " : f32");
  e.line("} else {");
  e.line("scf.yield " + otherwise() + " : f32");
  e.line("}");
  return r;
}
/// The same with a value computed before the scf.if as the else branch.
inline std::string ifValue(Emitter &e, const std::string &cond,
                           const std::function<std::string()> &then,
                           const std::string &otherwise) {
  return ifValue(e, cond, then, [&] { return otherwise; });
}

/// Opens a phase: `scf.forall (%t) in (threads)`; returns the thread id.
inline std::string beginPhase(Emitter &e, int64_t threads) {
  std::string t = e.fresh();
  e.line("scf.forall (" + t + ") in (" + std::to_string(threads) + ") {");
  return t;
}
inline void endPhase(Emitter &e) { e.line("} {mapping = [#gpu.thread<x>]}"); }

/// `for (i = t; i < total; i += threads)`: the threads share a loop.
inline std::string beginStrided(Emitter &e, const std::string &t, int64_t total,
                         int64_t threads) {
  std::string i = e.fresh();
  std::string hi = e.idx(total), step = e.idx(threads);
  e.line("scf.for " + i + " = " + t + " to " + hi + " step " + step + " {");
  return i;
}
inline void endFor(Emitter &e) { e.line("}"); }

/// A phase that zeroes each thread's row of an accumulator scratch
/// (`memref` of type `type`, rows of `vec`).
inline void zeroPhase(Emitter &e, int64_t threads, const std::string &memref,
               const std::string &type, const std::string &vec) {
  std::string t = beginPhase(e, threads);
  std::string zero = e.fresh();
  e.line(zero + " = arith.constant dense<0.0> : " + vec);
  e.line("vector.store " + zero + ", " + memref + "[" + t + ", " + e.idx(0) + "] : " +
         type + ", " + vec);
  endPhase(e);
}

/// `scf.for %c = 0 to upper step step {`: a loop over chunks; returns %c.
inline std::string beginChunkLoop(Emitter &e, int64_t upper, int64_t step) {
  std::string c = e.fresh();
  e.line("scf.for " + c + " = " + e.idx(0) + " to " + e.idx(upper) + " step " +
         e.idx(step) + " {");
  return c;
}

/// The largest power of two <= cap dividing n.
inline int64_t pow2Divisor(int64_t n, int64_t cap) {
  int64_t d = 1;
  while (d * 2 <= cap && n % (d * 2) == 0)
    d *= 2;
  return d;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// x(ch, y, x) of a fused_deform_conv, y and x inside the image: the sum of
/// its addends; upsampled addends gather the (at most) 2x2 taps of their
/// depthwise transposed conv.
inline std::string readDeformInput(Emitter &e, FusedDeformConvOp op,
                                   const std::vector<std::string> &argTypes,
                                   const std::string &img, const std::string &ch,
                                   const std::string &y, const std::string &x) {
  auto arg = [](int64_t i) { return "%a" + std::to_string(i); };
  int64_t numAddends = op.getAddends().size();
  std::string sum;
  int64_t upIndex = 0;
  for (int64_t a = 0; a < numAddends; ++a) {
    int64_t f = op.getUp()[a];
    std::string v;
    if (f == 1) {
      v = e.load(arg(a), argTypes[a], {img, ch, y, x});
    } else {
      auto in = llvm::cast<ShapedType>(op.getAddends()[a].getType()).getShape();
      std::string uArg = arg(numAddends + upIndex), uTy = argTypes[numAddends + upIndex];
      ++upIndex;
      // Output row oy takes input rows iy with ky = oy + f/2 - iy*f in [0, 2f):
      // iy = q and q - 1 for q = (oy + f/2) / f.
      std::string qy = e.div(e.addc(y, f / 2), f), qx = e.div(e.addc(x, f / 2), f);
      v = e.f32(0);
      for (int64_t dy = 0; dy < 2; ++dy)
        for (int64_t dx = 0; dx < 2; ++dx) {
          std::string iy = e.bin("subi", qy, e.idx(dy)), ix = e.bin("subi", qx, e.idx(dx));
          std::string ky = e.bin("subi", e.addc(y, f / 2), e.mulc(iy, f));
          std::string kx = e.bin("subi", e.addc(x, f / 2), e.mulc(ix, f));
          std::string valid = e.andi(e.inRange(iy, in[2]), e.inRange(ix, in[3]));
          std::string iyS = e.select(valid, iy, e.idx(0), "index");
          std::string ixS = e.select(valid, ix, e.idx(0), "index");
          std::string kyS = e.select(valid, ky, e.idx(0), "index");
          std::string kxS = e.select(valid, kx, e.idx(0), "index");
          std::string p = e.bin("mulf", e.load(arg(a), argTypes[a], {img, ch, iyS, ixS}),
                                e.load(uArg, uTy, {ch, e.idx(0), kyS, kxS}), "f32");
          v = e.bin("addf", v, e.select(valid, p, e.f32(0)), "f32");
        }
    }
    sum = sum.empty() ? v : e.bin("addf", sum, v, "f32");
  }
  return sum;
}

/// The buffers of a fold_batch_norm kernel, their types appended to
/// `argTypes` (operands, then results), and the per-channel folding both
/// kernel generators share.
struct FoldBatchNormArgs {
  double epsilon;
  std::string weight, bias, gamma, beta, mean, var, newWeight, newBias, vecT;
  size_t newWeightIndex = 0;

  FoldBatchNormArgs(FoldBatchNormOp op, std::vector<std::string> &argTypes)
      : epsilon(op.getEpsilon().convertToDouble()) {
    for (Value v : op->getOperands())
      argTypes.push_back(memrefType(v));
    for (Value v : op->getResults())
      argTypes.push_back(memrefType(v));
    size_t i = 0;
    auto arg = [&](size_t n) { return "%a" + std::to_string(n); };
    weight = arg(i++);
    bias = op.getBias() ? arg(i++) : "";
    gamma = arg(i++), beta = arg(i++), mean = arg(i++), var = arg(i++);
    newWeightIndex = i;
    newWeight = arg(i++), newBias = arg(i++);
    vecT = memrefType(op.getBnWeight());
  }

  /// Stores the folded bias of output channel `o`; returns its scale
  /// gamma / sqrt(var + eps).
  std::string foldChannel(Emitter &e, const std::string &o) const {
    std::string v = e.bin("addf", e.load(var, vecT, {o}),
                          e.f32(epsilon), "f32");
    std::string root = e.fresh();
    e.line(root + " = math.sqrt " + v + " : f32");
    std::string scale = e.bin("divf", e.load(gamma, vecT, {o}), root, "f32");
    std::string b = bias.empty() ? e.f32(0) : e.load(bias, vecT, {o});
    std::string nb = e.bin("addf",
                           e.bin("mulf", e.bin("subf", b, e.load(mean, vecT, {o}), "f32"),
                                 scale, "f32"),
                           e.load(beta, vecT, {o}), "f32");
    e.store(nb, newBias, vecT, {o});
    return scale;
  }
};

} // namespace mlir::dla::kernelgen

#endif // DLA_CODEGEN_KERNELEMITTER_H
