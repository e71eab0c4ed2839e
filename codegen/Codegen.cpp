//===- Codegen.cpp - Fused IR → kernels for the host and CUDA -------------===//
//
// Only upstream passes lower the kernel IR: scf-forall-to-for and the
// *-to-llvm conversions on the host; convert-gpu-to-nvvm and
// gpu-module-to-binary (NVPTX, then ptxas) for CUDA.
//
//===----------------------------------------------------------------------===//

#include "codegen/Codegen.h"
#include "runtime/include/dlart/HostFeatures.h"

#include "codegen/KernelInfo.h"
#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <map>
#include <optional>
#include <set>

using namespace mlir;
using namespace mlir::dla;

bool mlir::dla::resolveHostCpu(const std::string &requested, std::string &cpu,
                              HostTarget &t, std::vector<std::string> &recorded,
                              std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::StringMap<bool> features;
  if (requested.empty() || requested == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    features = llvm::sys::getHostCPUFeatures();
  } else {
    cpu = requested;
    llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
    const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
    if (!target)
      return false;
    std::unique_ptr<llvm::MCSubtargetInfo> probe(
        target->createMCSubtargetInfo(triple, "", ""));
    std::unique_ptr<llvm::MCSubtargetInfo> sti;
    if (probe && probe->isCPUStringValid(cpu))
      sti.reset(target->createMCSubtargetInfo(triple, cpu, ""));
    if (!sti) {
      error = "--host-cpu=" + cpu + ": not a CPU LLVM knows for " + triple.str() +
              " (e.g. native, x86-64-v3, haswell, skylake-avx512, znver4)";
      return false;
    }
    // checkFeatures aborts on a feature the target does not have at all.
    for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures()) {
      llvm::StringRef key(kv.Key);
      bool wanted = key == "neon";
      for (const char *f : dlart::kHostFeatures)
        wanted |= key == f;
      if (wanted)
        features[key] = sti->checkFeatures(("+" + key).str());
    }
  }
  auto has = [&](const char *f) { return features.lookup(f); };
  recorded.clear();
  for (const char *f : dlart::kHostFeatures)
    if (has(f))
      recorded.push_back(f);
  if (has("avx512f")) {
    t.vectorWidth = 16;
    t.registers = 32;
  } else if (has("avx2") || has("avx")) {
    t.vectorWidth = 8;
    t.registers = 16;
  } else { // SSE2, NEON
    t.vectorWidth = 4;
    t.registers = has("neon") ? 32 : 16;
  }
  return true;
}

void mlir::dla::buildEntryPoint(ModuleOp module, OpBuilder &b, const std::string &name,
                                int64_t buffers, ArrayRef<Type> extra) {
  Location loc = module.getLoc();
  MLIRContext *ctx = module->getContext();
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  SmallVector<Type> params{ptr};
  params.append(extra.begin(), extra.end());
  auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), params);
  auto entry = LLVM::LLVMFuncOp::create(b, loc, name, type);
  OpBuilder::InsertionGuard guard(b);
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> operands;
  for (int64_t i = 0; i < buffers; ++i) {
    Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, body->getArgument(0),
                                     ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    operands.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
  }
  for (size_t i = 0; i < extra.size(); ++i)
    operands.push_back(body->getArgument(1 + i));
  auto impl = module.lookupSymbol<LLVM::LLVMFuncOp>(name + "_impl");
  LLVM::CallOp::create(b, loc, impl, operands);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
}

void mlir::dla::buildSignature(ModuleOp module, OpBuilder &b, const std::string &name,
                               std::array<int64_t, 2> values) {
  Type i64 = b.getI64Type();
  auto value = DenseElementsAttr::get(RankedTensorType::get({2}, i64),
                                      ArrayRef<int64_t>(values.data(), 2));
  LLVM::GlobalOp::create(b, module.getLoc(), LLVM::LLVMArrayType::get(i64, 2),
                         /*isConstant=*/true, LLVM::Linkage::External, name, value);
}

LogicalResult mlir::dla::expandBFloat16(ModuleOp module) {
  bool any = false;
  module.walk([&](Operation *op) {
    if (isa<arith::ExtFOp, arith::TruncFOp>(op) &&
        llvm::any_of(llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes()),
                     [](Type t) { return getElementTypeOrSelf(t).isBF16(); }))
      any = true;
  });
  if (!any)
    return success();
  RewritePatternSet patterns(module.getContext());
  arith::populateExpandBFloat16Patterns(patterns);
  return applyPatternsGreedily(module, std::move(patterns));
}

std::string mlir::dla::hostLoweringPipeline() {
  return "scf-forall-to-for, canonicalize, cse, "
         "convert-vector-to-scf, lower-affine, convert-scf-to-cf, "
         "convert-vector-to-llvm, convert-ub-to-llvm, convert-math-to-llvm, finalize-memref-to-llvm, "
         "convert-arith-to-llvm, "
         "convert-index-to-llvm, "
         "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1}, "
         "convert-cf-to-llvm, reconcile-unrealized-casts";
}

LogicalResult mlir::dla::lowerHostKernels(ModuleOp module, const KernelSet &set,
                                          TimingScope &timing) {
  PassManager pm(module->getContext());
  TimingScope scope = timing.nest("lower host kernels to LLVM dialect");
  pm.enableTiming(scope);
  if (failed(parsePassPipeline(hostLoweringPipeline(), pm)))
    return failure();
  // Each kernel once (ops of the same shape share one).
  std::vector<const KernelIR *> kernels;
  std::set<std::string> seen;
  for (Operation *op : set.ops)
    if (seen.insert(set.hostKernels.at(op).name).second)
      kernels.push_back(&set.hostKernels.at(op));
  // The kernels are renamed NAME_impl; NAME is the C-ABI entry point that
  // unpacks the buffer table (docs/bundle-format.md), built once they are
  // in the LLVM dialect.
  for (const KernelIR *kp : kernels) {
    const KernelIR &k = *kp;
    auto func = module.lookupSymbol<func::FuncOp>(k.name);
    func.setName(k.name + "_impl");
  }
  if (failed(expandBFloat16(module)) || failed(pm.run(module)))
    return failure();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type i64 = b.getI64Type();
  // Each kernel's signature, exported beside it as
  // `int64_t dla_signature_NAME[2] = {pointer arguments, workspace bytes}`,
  // so that the runtime checks a manifest's step against the kernel it runs
  // (docs/bundle-format.md).
  for (const KernelIR *kp : kernels) {
    const KernelIR &k = *kp;
    buildEntryPoint(module, b, k.name, static_cast<int64_t>(k.argTypes.size()), {i64, i64});
    buildSignature(module, b, "dla_signature_" + k.name,
                   {static_cast<int64_t>(k.argTypes.size()), k.hostWorkspaceBytes});
  }
  if (failed(verify(module))) {
    if (getenv("DLA_DEBUG_LOWERING"))
      module->print(llvm::errs());
    return failure();
  }
  return success();
}

bool mlir::dla::emitSharedLibrary(ModuleOp llvmModule, const std::string &path,
                                  const std::string &cpu, std::string &error,
                                  TimingScope &timing) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llvmContext;
  TimingScope step = timing.nest("translate to LLVM IR");
  auto module = translateModuleToLLVMIR(llvmModule, llvmContext, "kernels");
  step.stop();
  if (!module) {
    error = "translation of the host kernels to LLVM IR failed";
    return false;
  }
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, "", llvm::TargetOptions(), llvm::Reloc::PIC_));
  module->setTargetTriple(triple);
  module->setDataLayout(tm->createDataLayout());
  step = timing.nest("LLVM -O3 (host kernels)");
  if (auto err = makeOptimizingTransformer(3, 0, tm.get())(module.get())) {
    error = llvm::toString(std::move(err));
    return false;
  }
  step = timing.nest("LLVM object code (host kernels)");
  std::string object = path + ".o";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(object, ec);
    if (ec) {
      error = object + ": " + ec.message();
      return false;
    }
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return false;
    }
    pm.run(*module);
  }
  step = timing.nest("link kernels.so (cc)");
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no C compiler driver ('cc') to link " + path;
    return false;
  }
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, {*cc, "-shared", "-o", path, object}, {}, {},
                                     0, 0, &message);
  llvm::sys::fs::remove(object);
  if (rc != 0) {
    error = "linking " + path + " failed: " + message;
    return false;
  }
  return true;
}

/// The GPU mapping of a block's phases: every `scf.forall` over the threads
/// becomes the body of the thread whose id is the induction variable, followed
/// by a barrier (the phases are barrier-free inside, so this is all the
/// synchronisation they need). The host runs the same foralls as loops.
LogicalResult mlir::dla::mapPhasesToThreads(ModuleOp module) {
  SmallVector<scf::ForallOp> phases;
  module.walk([&](scf::ForallOp forall) {
    if (auto mapping = forall.getMapping())
      if (mapping->size() == 1 && llvm::isa<gpu::GPUThreadMappingAttr>((*mapping)[0]))
        phases.push_back(forall);
  });
  for (scf::ForallOp forall : phases) {
    auto func = forall->getParentOfType<gpu::GPUFuncOp>();
    auto upper = forall.getStaticUpperBound();
    auto known = func ? func.getKnownBlockSizeAttr() : DenseI32ArrayAttr();
    if (!func || upper.size() != 1 || !known || known[0] != upper[0])
      return forall.emitError("phase extent does not match the block size");
    OpBuilder b(forall);
    Value tid = gpu::ThreadIdOp::create(b, forall.getLoc(), gpu::Dimension::x);
    Block &body = forall.getRegion().front();
    forall.getInductionVar(0).replaceAllUsesWith(tid);
    body.getTerminator()->erase();
    forall->getBlock()->getOperations().splice(forall->getIterator(),
                                               body.getOperations());
    b.setInsertionPoint(forall);
    gpu::BarrierOp::create(b, forall.getLoc());
    forall.erase();
  }
  return success();
}

/// Upstream's NVGPU -> NVVM conversion cannot type a bf16 nvgpu.mma.sync
/// ("failed to deduce operand PTX types"); NVVM's mma.sync has the form
/// (A and B as 32-bit registers of two bf16 each, as in PTX), so a bf16
/// nvgpu.mma.sync becomes an nvvm.mma.sync here and the rest is upstream's.
static void lowerBF16MmaToNVVM(ModuleOp module) {
  SmallVector<nvgpu::MmaSyncOp> ops;
  module.walk([&](nvgpu::MmaSyncOp op) {
    if (op.getMatrixA().getType().getElementType().isBF16())
      ops.push_back(op);
  });
  for (nvgpu::MmaSyncOp op : ops) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    // The registers of a fragment vector<R x E x T>: R words.
    auto words = [&](Value v, Type word) {
      auto type = llvm::cast<VectorType>(v.getType());
      int64_t n = type.getDimSize(0);
      Value flat = vector::ShapeCastOp::create(
          b, loc, VectorType::get({type.getNumElements()}, type.getElementType()), v);
      Value cast = word == type.getElementType()
                       ? flat
                       : vector::BitCastOp::create(b, loc, VectorType::get({n}, word), flat)
                             .getResult();
      SmallVector<Value> out;
      for (int64_t i = 0; i < llvm::cast<VectorType>(cast.getType()).getNumElements(); ++i)
        out.push_back(vector::ExtractOp::create(b, loc, cast, ArrayRef<int64_t>{i}));
      return out;
    };
    SmallVector<Value> a = words(op.getMatrixA(), i32), bw = words(op.getMatrixB(), i32),
                       c = words(op.getMatrixC(), f32);
    auto shape = op.getMmaShapeAsArray();
    auto result = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    auto mma = NVVM::MmaOp::create(
        b, loc, result, a, bw, c, {shape[0], shape[1], shape[2]}, std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
    SmallVector<Value> d;
    for (int64_t i = 0; i < 4; ++i)
      d.push_back(LLVM::ExtractValueOp::create(b, loc, mma, ArrayRef<int64_t>{i}));
    op.getResult().replaceAllUsesWith(
        vector::FromElementsOp::create(b, loc, op.getType(), d).getResult());
    op.erase();
  }
}

LogicalResult mlir::dla::lowerGpuKernels(ModuleOp module, const std::string &format,
                                         const std::string &toolkit, TimingScope &timing) {
  if (failed(mapPhasesToThreads(module)))
    return failure();
  lowerBF16MmaToNVVM(module);
  PassManager pm(module->getContext());
  std::string pipeline =
      "gpu.module(scf-forall-to-for, canonicalize, cse, "
      "convert-vector-to-scf, lower-affine, convert-scf-to-cf, convert-nvgpu-to-nvvm, "
      "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}, "
      "convert-vector-to-llvm, convert-to-llvm, canonicalize, "
      "reconcile-unrealized-casts), gpu-module-to-binary{format=" + format +
      (toolkit.empty() ? "" : " toolkit=" + toolkit) + "}";
  if (failed(parsePassPipeline(pipeline, pm)))
    return failure();
  TimingScope scope = timing.nest("lower CUDA kernels (" + format + ")");
  pm.enableTiming(scope);
  return pm.run(module);
}

std::vector<std::pair<std::string, std::string>>
mlir::dla::gpuObjects(ModuleOp module) {
  std::vector<std::pair<std::string, std::string>> objects;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute a : binary.getObjects()) {
      auto object = llvm::cast<gpu::ObjectAttr>(a);
      std::string chip;
      if (auto nvvm = llvm::dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()))
        chip = nvvm.getChip().str();
      objects.emplace_back(chip, object.getObject().getValue().str());
    }
  });
  return objects;
}
