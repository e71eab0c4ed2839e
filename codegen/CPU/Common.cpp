//===- Common.cpp - Building blocks of the CPU kernels --------------------===//

#include "codegen/CPU/Common.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

void mlir::dla::kernelgen::emitPoolChannel(KernelBuilder &e, Value src, int64_t p, Value img,
                                           Value local, Value ws, Value wsC, int64_t ho,
                                           int64_t wo, int64_t VW) {
  Value y = e.beginFor(0, ho);
  if (p == 2 && wo % VW == 0) {
    Value x = e.beginFor(0, wo, VW);
    Value y0 = e.mulc(y, 2), y1 = e.addc(e.mulc(y, 2), 1);
    Value xa = e.mulc(x, 2), xb = e.addc(e.mulc(x, 2), VW);
    Value m0 = e.maxf(e.vload(src, {img, local, y0, xa}, VW),
                      e.vload(src, {img, local, y1, xa}, VW));
    Value m1 = e.maxf(e.vload(src, {img, local, y0, xb}, VW),
                      e.vload(src, {img, local, y1, xb}, VW));
    llvm::SmallVector<int64_t> evenIdx, oddIdx;
    for (int64_t l = 0; l < VW; ++l) {
      evenIdx.push_back(2 * l);
      oddIdx.push_back(2 * l + 1);
    }
    Value even = e.shuffle(m0, m1, evenIdx), odd = e.shuffle(m0, m1, oddIdx);
    e.vstore(e.maxf(even, odd), ws, {img, wsC, e.add(e.mulc(y, wo), x)});
    e.endFor();
  } else {
    Value x = e.beginFor(0, wo);
    Value m;
    for (int64_t dy = 0; dy < p; ++dy)
      for (int64_t dx = 0; dx < p; ++dx) {
        Value t = e.load(src, {img, local, e.addc(e.mulc(y, p), dy), e.addc(e.mulc(x, p), dx)});
        m = m ? e.maxf(m, t) : t;
      }
    e.store(m, ws, {img, wsC, e.add(e.mulc(y, wo), x)});
    e.endFor();
  }
  e.endFor();
}
