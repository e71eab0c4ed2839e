//===- LowerToKernels.cpp - dla-lower-to-cpu-kernels, -gpu-kernels --------===//
//
// The two kernel lowerings of fused IR: every op of @init and @forward gets
// one kernel function, built by the generator of its op family for the
// target (codegen/CPU/, codegen/GPU/), in a module nested in the fused one;
// the op names it (`dla.kernel`) and the function carries its launch.
// collectKernels reads all of it back for the bundle, so that what the
// bundle says is what the IR says.
//
//===----------------------------------------------------------------------===//

#include "codegen/Codegen.h"
#include "codegen/Passes.h"
#include "codegen/Target.h"

#include "codegen/KernelInfo.h"
#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Verifier.h"

#include <map>
#include <optional>
#include <set>

namespace mlir::dla {
#define GEN_PASS_DEF_DLALOWERTOCPUKERNELSPASS
#define GEN_PASS_DEF_DLALOWERTOGPUKERNELSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {

/// "kernel 'NAME' (LOC): ERROR".
std::string kernelError(const std::string &what, const std::string &name, Operation *op,
                        const std::string &error) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  os << op->getLoc();
  return what + " '" + name + "' (" + loc + "): " + error;
}

/// The kernel ops of @init then @forward, in program order, with their
/// kernel names (@init's prefixed "init_").
std::vector<std::pair<Operation *, std::string>> kernelOps(ModuleOp module) {
  std::vector<std::pair<Operation *, std::string>> ops;
  for (StringRef fn : {kInitFunction, kForwardFunction}) {
    auto func = module.lookupSymbol<func::FuncOp>(fn);
    if (!func)
      continue;
    auto names = kernelNames(func);
    for (Operation &op : func.getBody().front())
      if (isKernel(&op))
        ops.emplace_back(&op, (fn == kInitFunction ? "init_" : "") + names[&op]);
  }
  return ops;
}

/// Records a built kernel's launch on its function and its name on the op.
void recordLaunch(Operation *op, const KernelIR &k) {
  Builder b(op->getContext());
  op->setAttr(kKernelAttr, b.getStringAttr(k.name));
  Operation *f = k.function;
  f->setAttr(kGridAttr, b.getDenseI64ArrayAttr(k.grid));
  f->setAttr(kThreadsAttr, b.getI64IntegerAttr(k.threads));
  if (k.scratchBytes)
    f->setAttr(kSharedBytesAttr, b.getI64IntegerAttr(k.scratchBytes));
  if (k.hostWorkspaceBytes)
    f->setAttr(kWorkspaceBytesAttr, b.getI64IntegerAttr(k.hostWorkspaceBytes));
  if (!k.hostWaves.empty())
    f->setAttr(kWavesAttr, b.getDenseI64ArrayAttr(k.hostWaves));
}

/// What a kernel generator reads of an op: its kind, attributes (the GPU
/// kernels not the CPU tile), and operand and result types (with the
/// #dla.host_layout of packed weights). Ops with the same key get the same
/// kernel, built once: a network repeats its shapes (DLA-34's tree convs),
/// and every kernel costs LLVM time. Attributes and types are uniqued, so
/// their pointers compare.
std::vector<const void *> kernelKey(Operation *op, bool cpu) {
  NamedAttrList attrs(op->getAttrDictionary());
  attrs.erase(kKernelAttr);
  if (!cpu)
    attrs.erase(CpuTileAttr::kAttrName);
  std::vector<const void *> key{op->getName().getAsOpaquePointer(),
                                attrs.getDictionary(op->getContext()).getAsOpaquePointer()};
  for (Type t : llvm::concat<const Type>(op->getOperandTypes(), op->getResultTypes()))
    key.push_back(t.getAsOpaquePointer());
  return key;
}

/// Replaces a nested kernel module `name` of `module` by an empty one built
/// by `create` at the end of the module's body.
template <typename ModuleT>
ModuleT freshModule(ModuleOp module, StringRef name,
                    const std::function<ModuleT(OpBuilder &)> &create) {
  if (auto old = module.lookupSymbol(name))
    old->erase();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  return create(b);
}

/// Verifies the kernels built: a failure is a dlac bug, named as such.
LogicalResult verifyKernels(Operation *kernels) {
  if (succeeded(verify(kernels)))
    return success();
  return kernels->emitError("generated kernel IR does not verify (a dlac bug)");
}

struct LowerToCPUKernels
    : public mlir::dla::impl::DLALowerToCPUKernelsPassBase<LowerToCPUKernels> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    HostTarget target;
    if (failed(hostTargetOf(module, {vectorWidth, registers}, target)))
      return signalPassFailure();
    std::string error;
    auto kernels = freshModule<ModuleOp>(module, kHostKernelsModule, [&](OpBuilder &b) {
      return ModuleOp::create(b, module.getLoc(), StringRef(kHostKernelsModule));
    });
    OpBuilder b = OpBuilder::atBlockEnd(kernels.getBody());
    KernelPlace place{&b, KernelWrapper::Host, module.getLoc()};
    std::map<std::vector<const void *>, KernelIR> built;
    for (auto &[op, name] : kernelOps(module)) {
      auto key = kernelKey(op, true);
      if (auto it = built.find(key); it != built.end()) {
        recordLaunch(op, it->second);
        ++numShared;
        continue;
      }
      KernelIR &k = built[key];
      // The convs and DCNs have CPU kernels (or an error saying why not);
      // the ops without one (pools, flatten, unpacked folds) run the
      // barrier-free kernels they share with the CUDA build.
      bool built = generateHostKernel(op, name, target, place, k, error);
      if (!built && error.empty())
        built = generateKernel(op, name, place, k, error);
      else if (built)
        ++numCpuKernels;
      if (!built) {
        op->emitError(kernelError("host kernel", name, op, error));
        return signalPassFailure();
      }
      recordLaunch(op, k);
      ++numKernels;
    }
    if (failed(verifyKernels(kernels)))
      signalPassFailure();
  }
};

struct LowerToGPUKernels
    : public mlir::dla::impl::DLALowerToGPUKernelsPassBase<LowerToGPUKernels> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<std::string> archs(chips.begin(), chips.end());
    if (auto t = TargetAttr::of(module)) {
      if (!t.hasCuda()) {
        module.emitError("dla.target has no CUDA part (chips = []): nothing to lower "
                         "for the GPU");
        return signalPassFailure();
      }
      archs.clear();
      for (Attribute a : t.getChips())
        archs.push_back(llvm::cast<StringAttr>(a).str());
    }
    if (archs.empty())
      archs.push_back("sm_90");
    SmallVector<Attribute> targets;
    for (const auto &arch : archs)
      targets.push_back(NVVM::NVVMTargetAttr::get(ctx, /*optLevel=*/2,
                                                  "nvptx64-nvidia-cuda", arch));
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
    auto kernels = freshModule<gpu::GPUModuleOp>(module, kGpuKernelsModule, [&](OpBuilder &b) {
      return gpu::GPUModuleOp::create(b, module.getLoc(), kGpuKernelsModule,
                                      b.getArrayAttr(targets));
    });
    OpBuilder b = OpBuilder::atBlockBegin(kernels.getBody());
    KernelPlace place{&b, KernelWrapper::Gpu, module.getLoc(), !simtConvs, minBlocks};
    std::map<std::vector<const void *>, KernelIR> built;
    for (auto &[op, name] : kernelOps(module)) {
      auto key = kernelKey(op, false);
      if (auto it = built.find(key); it != built.end()) {
        recordLaunch(op, it->second);
        ++numShared;
        continue;
      }
      if (auto form = restrictedForm(op)) {
        std::string reason;
        gpuKernelsImplement(*form, &reason);
        op->emitError("kernel '" + name + "' has no GPU form: " + reason +
                      "; GPU output needs --target cuda or all");
        return signalPassFailure();
      }
      KernelIR &k = built[key];
      std::string error;
      if (!generateKernel(op, name, place, k, error)) {
        op->emitError(kernelError("kernel", name, op, error));
        return signalPassFailure();
      }
      recordLaunch(op, k);
      ++numKernels;
    }
    if (failed(verifyKernels(kernels)))
      signalPassFailure();
  }
};

/// The launch of a built kernel, read back from its function.
KernelIR readLaunch(Operation *f, size_t extraArgs) {
  KernelIR k;
  k.function = f;
  k.name = SymbolTable::getSymbolName(f).str();
  if (auto grid = f->getAttrOfType<DenseI64ArrayAttr>(kGridAttr))
    for (size_t i = 0; i < 3 && i < grid.size(); ++i)
      k.grid[i] = grid[i];
  if (auto t = f->getAttrOfType<IntegerAttr>(kThreadsAttr))
    k.threads = t.getInt();
  if (auto s = f->getAttrOfType<IntegerAttr>(kSharedBytesAttr))
    k.scratchBytes = s.getInt();
  if (auto w = f->getAttrOfType<IntegerAttr>(kWorkspaceBytesAttr))
    k.hostWorkspaceBytes = w.getInt();
  if (auto waves = f->getAttrOfType<DenseI64ArrayAttr>(kWavesAttr))
    k.hostWaves.assign(waves.asArrayRef().begin(), waves.asArrayRef().end());
  auto type = llvm::cast<FunctionOpInterface>(f).getArgumentTypes();
  for (size_t i = 0; i + extraArgs < type.size(); ++i)
    k.argTypes.push_back(llvm::cast<MemRefType>(type[i]));
  return k;
}

} // namespace

bool mlir::dla::collectKernels(ModuleOp module, KernelSet &set, std::string &error) {
  set = KernelSet();
  auto host = module.lookupSymbol<ModuleOp>(kHostKernelsModule);
  auto gpu = module.lookupSymbol<gpu::GPUModuleOp>(kGpuKernelsModule);
  for (auto &[op, name] : kernelOps(module)) {
    auto kernel = op->getAttrOfType<StringAttr>(kKernelAttr);
    if (!kernel) {
      error = "op '" + op->getName().getStringRef().str() + "' (kernel '" + name +
              "') has no dla.kernel: run dla-lower-to-cpu-kernels or "
              "dla-lower-to-gpu-kernels first";
      return false;
    }
    KernelIR g, h;
    Operation *gf = gpu ? gpu.lookupSymbol(kernel) : nullptr;
    Operation *hf = host ? host.lookupSymbol(kernel) : nullptr;
    if (gf) {
      g = readLaunch(gf, 0);
    } else {
      g.name = kernel.str();
      g.hostOnly = true;
      if (auto form = restrictedForm(op))
        gpuKernelsImplement(*form, &g.hostOnlyReason);
    }
    if (hf)
      h = readLaunch(hf, 2);
    set.ops.push_back(op);
    set.stepNames[op] = name;
    set.kernels[op] = std::move(g);
    set.hostKernels[op] = std::move(h);
  }
  if (host) {
    set.hostModule = cast<ModuleOp>(host->clone());
    set.hostModule->setSymNameAttr(nullptr);
  }
  if (gpu) {
    OpBuilder b(module->getContext());
    set.gpuModule = ModuleOp::create(b, module.getLoc());
    (*set.gpuModule)
        ->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
    set.gpuModule->getBody()->push_back(gpu->clone());
  }
  return true;
}
