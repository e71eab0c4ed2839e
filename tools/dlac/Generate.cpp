//===- Generate.cpp - dlac: kernels, toolchains, the bundle ---------------===//
//
// From fused IR to what --emit asks: the CPU kernels' plans and the kernel
// lowerings as passes, then the host and CUDA toolchains, then the bundle,
// written into a staging directory that replaces -o only once complete.
//
//===----------------------------------------------------------------------===//

#include "tools/dlac/Driver.h"

#include "codegen/Bundle.h"
#include "codegen/BundleDir.h"
#include "codegen/Codegen.h"
#include "codegen/KernelInfo.h"
#include "codegen/Passes.h"
#include "codegen/Report.h"
#include "dialects/DLA/IR/DLAOps.h"
#include "reference/Executor.h"

#include "dlart/Safetensors.h"
#include "dlart/Sha256.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <map>
#include <set>

using namespace mlir;

namespace dlac {
namespace {

using mlir::dla::writeFile;

/// The directory the bundle's files are written into: a fresh, hidden folder
/// beside -o (".NAME.tmp-XXXXXX"), renamed into place by commitBundle only
/// once every file is written, so that a failed or killed compile leaves
/// the previous bundle exactly as it was (or none), never a partial or mixed
/// one, and no file of an earlier compile survives into the new bundle.
std::string bundleDir;

/// The staging directory created and committed (codegen/BundleDir.h).
bool createStagingDir(std::string &err) {
  return mlir::dla::createStagingDir(outputFile, bundleDir, err);
}
bool commitBundle(std::string &err) {
  return mlir::dla::commitStagingDir(bundleDir, outputFile, err);
}

/// Copies the checked checkpoint into the bundle as weights.safetensors,
/// which the runtime loads when given no other weights.
bool embedWeights(std::string &err) {
  if (auto ec = llvm::sys::fs::copy_file(weightsFile, bundleDir + "/weights.safetensors")) {
    err = outputFile + "/weights.safetensors: " + ec.message();
    return false;
  }
  return true;
}

} // namespace

bool checkBundleTarget(std::string &err) {
  return mlir::dla::checkBundleDestination(outputFile, err);
}

/// --weights with a bundle: the checkpoint must hold the model's parameters
/// (checked before code generation).
bool checkEmbeddedWeights(ModuleOp fused, std::string &err) {
  auto file = dlart::SafetensorsFile::open(weightsFile, err);
  if (!file)
    return false;
  std::vector<dlart::ParamSpec> specs;
  for (const auto &p : mlir::dla::collectParams(fused))
    specs.push_back({p.name, p.shape});
  std::vector<std::string> warnings;
  return dlart::checkParameters(*file, specs, err, warnings);
}

/// Kernel generation, lowering and the bundle (--emit=kernel|gpu|llvm|ptx|bundle).
int generateCode(ModuleOp fused, ModuleOp expanded,
                 const std::function<int(const std::function<void(llvm::raw_ostream &)> &)>
                     &print) {
  std::string err;
  auto buildTarget = mlir::dla::TargetAttr::of(fused);
  std::string cpu = buildTarget.getCpu().str();
  std::vector<std::string> cpuFeatures;
  if (buildTarget.getFeatures())
    for (Attribute f : buildTarget.getFeatures())
      cpuFeatures.push_back(llvm::cast<StringAttr>(f).str());
  // The kernel lowerings this output needs, as passes (--mlir-timing and
  // --mlir-print-ir-* cover them).
  bool wantHost = emit == Emit::Kernel || emit == Emit::LLVM ||
                  (emit == Emit::Bundle && target != Target::Cuda);
  bool wantGpu = emit == Emit::Gpu || emit == Emit::PTX || emit == Emit::Emu ||
                 (emit == Emit::Bundle && target != Target::Host);
  // Lowered IR given to dlac keeps its kernels.
  wantHost = wantHost && !fused.lookupSymbol(mlir::dla::kHostKernelsModule);
  wantGpu = wantGpu && !fused.lookupSymbol(mlir::dla::kGpuKernelsModule);
  if ((wantHost || wantGpu) &&
      failed(runPasses(fused, "kernel lowering", [&](PassManager &pm) {
        if (wantHost) {
          // The CPU kernels' tiles and weight layouts, in IR (tiles already
          // in resumed fused IR are kept), then the kernels they describe.
          pm.addPass(mlir::dla::createDLAChooseCPUTilesPass());
          pm.addPass(mlir::dla::createDLAPackWeightsPass());
          pm.addPass(mlir::dla::createDLALowerToCPUKernelsPass());
        }
        if (wantGpu) {
          mlir::dla::DLALowerToGPUKernelsPassOptions options;
          options.simtConvs = cudaConvs == CudaConvs::Simt;
          options.minBlocks = cudaMinBlocks;
          pm.addPass(mlir::dla::createDLALowerToGPUKernelsPass(options));
        }
      })))
    return 1;
  mlir::dla::KernelSet set;
  if (!mlir::dla::collectKernels(fused, set, err))
    return fail(err);
  // The lowered module: the fused ops naming their kernels, and the kernels
  // (what dlac can resume from).
  if (emit == Emit::Kernel || emit == Emit::Gpu)
    return print([&](llvm::raw_ostream &os) { fused.print(os); });

  // The host kernels are lowered once (collectKernels gave them their own
  // module); the CUDA kernels twice (PTX, then cubin), each from a copy.
  auto lowerHost = [&]() -> OwningOpRef<ModuleOp> {
    OwningOpRef<ModuleOp> host = std::move(set.hostModule);
    if (failed(mlir::dla::lowerHostKernels(*host, set, timing))) {
      err = "lowering the host kernels failed";
      return nullptr;
    }
    return host;
  };
  auto lowerGpu = [&](const std::string &format) -> OwningOpRef<ModuleOp> {
    OwningOpRef<ModuleOp> gpu = set.gpuModule->clone();
    if (failed(mlir::dla::lowerGpuKernels(*gpu, format, toolkitDir(), timing))) {
      err = "lowering the CUDA kernels failed (format " + format + ")";
      return nullptr;
    }
    return gpu;
  };
  if (emit == Emit::LLVM) {
    auto host = lowerHost();
    if (!host)
      return fail(err);
    return print([&](llvm::raw_ostream &os) { host->print(os); });
  }
  // The CUDA kernels for the host with GPU semantics (the cuda-emu device).
  auto lowerEmu = [&]() -> OwningOpRef<ModuleOp> {
    OwningOpRef<ModuleOp> emu = set.gpuModule->clone();
    if (failed(mlir::dla::lowerGpuKernelsForEmulation(*emu, timing))) {
      err = "lowering the CUDA kernels for cuda-emu failed";
      return nullptr;
    }
    return emu;
  };
  if (emit == Emit::Emu) {
    auto emu = lowerEmu();
    if (!emu)
      return fail(err);
    return print([&](llvm::raw_ostream &os) { emu->print(os); });
  }
  if (emit == Emit::PTX) {
    auto gpu = lowerGpu("isa");
    if (!gpu)
      return fail(err);
    return print([&](llvm::raw_ostream &os) {
      os << mlir::dla::gpuObjects(*gpu).front().second;
    });
  }

  // The bundle.
  if (outputFile == "-")
    return fail("--emit=bundle needs -o DIR (e.g. -o model.dlab)");
  if (!checkBundleTarget(err) || !createStagingDir(err))
    return fail(err);
  // Whatever fails below, the staging directory goes and -o is untouched.
  struct RemoveStaging {
    ~RemoveStaging() {
      if (!bundleDir.empty())
        llvm::sys::fs::remove_directories(bundleDir);
    }
  } removeStaging;
  dlart::Manifest targets; // the targets part; writeManifest adds the rest
  targets.hasHost = target != Target::Cuda;
  targets.hostCpu = cpu;
  targets.hostFeatures = cpuFeatures;
  targets.hasCuda = target != Target::Host;
  llvm::StringSet<> used;
  for (const auto &p : mlir::dla::collectParams(fused))
    used.insert(p.name);
  for (const auto &p : mlir::dla::collectParams(expanded))
    if (!used.contains(p.name))
      targets.ignoredParameters.push_back(p.name);
  if (targets.hasHost) {
    auto host = lowerHost();
    if (!host)
      return fail(err);
    if (!mlir::dla::emitSharedLibrary(*host, bundleDir + "/kernels.so", cpu, err, timing))
      return fail(err);
  }
  if (targets.hasCuda) {
    if (!llvm::sys::fs::exists(toolkitDir() + "/bin/ptxas"))
      return fail("--target cuda needs the CUDA toolkit's ptxas, not found in " +
                  toolkitDir() + "/bin (set --cuda-toolkit or CUDA_HOME, or use "
                  "--target host)");
    targets.cudaArchs = archList();
    auto ptx = lowerGpu("isa");
    if (!ptx)
      return fail(err);
    // kernels.ptx holds the PTX of the newest --arch (JIT fallback).
    if (!writeFile(bundleDir + "/kernels.ptx", mlir::dla::gpuObjects(*ptx).back().second,
                   err))
      return fail(err);
    auto bin = lowerGpu("bin");
    if (!bin)
      return fail(err);
    auto objects = mlir::dla::gpuObjects(*bin);
    if (objects.size() == 1) {
      targets.cudaBinary = "kernels.cubin";
      if (!writeFile(bundleDir + "/kernels.cubin", objects.front().second, err))
        return fail(err);
    } else {
      TimingScope t = timing.nest("fatbinary");
      if (!cudaToolchain().writeFatbin(bundleDir, objects, mlir::dla::gpuObjects(*ptx), err))
        return fail(err);
      targets.cudaBinary = "kernels.fatbin";
    }
    // kernels-emu.so: for the baseline of this machine's architecture, so
    // that any machine like it runs the cuda-emu device.
    auto emu = lowerEmu();
    if (!emu)
      return fail(err);
    if (!mlir::dla::emitSharedLibrary(*emu, bundleDir + "/kernels-emu.so", "", err, timing))
      return fail(err);
    targets.cudaEmulator = "kernels-emu.so";
  }
  // The launch of each step: the GPU kernel's grid and block; a host-only
  // bundle's are its host blocks (and block [1, 1, 1]).
  std::map<Operation *, mlir::dla::KernelLaunch> launches;
  for (Operation *op : set.ops) {
    const auto &k = set.kernels.at(op);
    const auto &h = set.hostKernels.at(op);
    int64_t hostBlocks = h.grid[0] * h.grid[1] * h.grid[2];
    launches[op] = {k.name,
                    set.stepNames.at(op),
                    k.hostOnly ? std::array<int64_t, 3>{hostBlocks, 1, 1} : k.grid,
                    {k.threads, 1, 1},
                    0,
                    hostBlocks,
                    h.hostWorkspaceBytes,
                    h.hostWaves};
  }
  if (!weightsFile.empty() && !embedWeights(err))
    return fail(err);
  TimingScope manifestTiming = timing.nest("digests and manifest.json");
  // The digest of every file, so that the runtime refuses a mixed bundle.
  {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(bundleDir, ec), end; it != end && !ec;
         it.increment(ec)) {
      std::string name = llvm::sys::path::filename(it->path()).str();
      if (name.empty() || name[0] == '.')
        continue;
      dlart::Manifest::FileDigest &f = targets.files[name];
      if (!dlart::sha256File(it->path(), f.sha256, f.bytes, err))
        return fail(err);
    }
    if (ec)
      return fail(bundleDir + ": " + ec.message());
  }
  if (failed(mlir::dla::writeManifest(fused, launches, targets, bundleDir, err)))
    return fail(err);
  if (!commitBundle(err))
    return fail(err);
  if (report)
    mlir::dla::printKernelReport(
        set,
        targets.hasCuda ? cudaToolchain().resourceUsage(outputFile + "/kernels.ptx")
                     : std::map<std::string, mlir::dla::PtxasInfo>(),
        archList().back(), llvm::outs());
  std::set<std::string> distinct;
  for (Operation *op : set.ops)
    distinct.insert(set.kernels.at(op).hostOnly ? set.hostKernels.at(op).name
                                                : set.kernels.at(op).name);
  llvm::errs() << "dlac: wrote " << outputFile << " (" << set.ops.size() << " steps, "
               << distinct.size() << " kernels)\n";
  return 0;
}

} // namespace dlac
