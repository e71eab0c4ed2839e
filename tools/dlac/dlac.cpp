//===- dlac.cpp - The dlac compiler driver --------------------------------===//
//
// dlac model.json [--emit=STAGE] [-o FILE]
// dlac model.json --run-reference --weights W.safetensors --input I.safetensors
//      -o outputs.safetensors
//
//===----------------------------------------------------------------------===//

#include "dialects/DLA/IR/DLAOps.h"
#include "codegen/Bundle.h"
#include "codegen/BundleDir.h"
#include "codegen/Codegen.h"
#include "codegen/CudaToolchain.h"
#include "codegen/Report.h"
#include "codegen/Target.h"
#include "codegen/Dot.h"
#include "codegen/KernelInfo.h"
#include "codegen/Passes.h"
#include "frontend/Importer.h"
#include "frontend/ModelSpec.h"
#include "passes/Passes.h"
#include "reference/Executor.h"
#include "reference/RunModel.h"

#include "dlart/Safetensors.h"
#include "dlart/Sha256.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/SourceMgr.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <set>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>

using namespace mlir;
namespace cl = llvm::cl;
namespace ref = ::dla::ref;

namespace {
enum class Emit { Spec, DLA, Prim, Fused, Dot, Params, Kernel, Gpu, LLVM, PTX, Bundle };
enum class Target { Host, Cuda, All };
enum class Stage { Prim, Fused };
/// How far an IR input has come, in pipeline order.
enum class InputStage { DLA, Prim, Fused, Lowered };

cl::OptionCategory dlacCategory("dlac options");

cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("<model.json, or IR.mlir of any stage dlac emits>"),
                               cl::Required, cl::cat(dlacCategory));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(dlacCategory));
cl::opt<Emit> emit(
    "emit", cl::desc("Stage to print"), cl::init(Emit::Prim),
    cl::values(
        clEnumValN(Emit::Spec, "spec",
                   "the resolved model description: presets expanded, "
                   "defaults filled in, sizes derived"),
        clEnumValN(Emit::DLA, "dla", "structural dla IR, one op per JSON construct"),
        clEnumValN(Emit::Prim, "prim",
                   "primitive dla IR after dla-expand and clean-up (default)"),
        clEnumValN(Emit::Fused, "fused",
                   "fused dla IR: one op per kernel, with @init for the "
                   "parameter-only work (the dla-fuse pipeline)"),
        clEnumValN(Emit::Dot, "dot",
                   "Graphviz graph of the fused network: one box per kernel "
                   "with its name and GFLOP (render with `dot -Tsvg`)"),
        clEnumValN(Emit::Kernel, "kernel",
                   "the fused IR with its host kernels (dla-lower-to-cpu-kernels): "
                   "each op names its kernel, a func on memrefs in @host_kernels"),
        clEnumValN(Emit::Gpu, "gpu",
                   "the fused IR with its CUDA kernels (dla-lower-to-gpu-kernels): "
                   "gpu.func with workgroup memory in gpu.module @kernels"),
        clEnumValN(Emit::LLVM, "llvm", "host kernels lowered to the LLVM dialect"),
        clEnumValN(Emit::PTX, "ptx", "PTX of the CUDA kernels (first --arch)"),
        clEnumValN(Emit::Bundle, "bundle",
                   "the bundle directory -o DIR (default when -o ends in .dlab)"),
        clEnumValN(Emit::Params, "params",
                   "every parameter a checkpoint may hold: 'key [shape]' per "
                   "line, as PyTorch's state_dict (without num_batches_tracked)")),
    cl::cat(dlacCategory));
cl::opt<bool> runReference(
    "run-reference",
    cl::desc("Run the model with the reference executor (plain loops, the "
             "oracle): needs --weights and --input; writes the outputs to -o "
             "as safetensors"),
    cl::cat(dlacCategory));
cl::opt<Stage> referenceStage(
    "reference-stage",
    cl::desc("IR the reference executor runs (--run-reference)"),
    cl::init(Stage::Prim),
    cl::values(clEnumValN(Stage::Prim, "prim",
                          "primitive ops: the oracle, as PyTorch computes"),
               clEnumValN(Stage::Fused, "fused",
                          "fused ops and @init: checks the fusion passes")),
    cl::cat(dlacCategory));
cl::opt<Target> target(
    "target", cl::desc("What the bundle holds"), cl::init(Target::All),
    cl::values(clEnumValN(Target::Host, "host",
                          "kernels.so for this CPU (with the CPU kernels, also the "
                          "fusions only they implement: dla-fuse-residual-projection, "
                          "dla-fuse-conv-tail)"),
               clEnumValN(Target::Cuda, "cuda", "kernels.cubin/.fatbin + kernels.ptx"),
               clEnumValN(Target::All, "all", "both (default)")),
    cl::cat(dlacCategory));
cl::list<std::string> archs("arch", cl::desc("CUDA architectures (default sm_90)"),
                            cl::CommaSeparated, cl::value_desc("sm_XX,..."),
                            cl::cat(dlacCategory));
cl::opt<std::string> hostCpu("host-cpu",
                             cl::desc("CPU the host kernels are compiled for, an LLVM "
                                      "CPU name (default native: this machine's); "
                                      "sets the SIMD width of the CPU kernels. The "
                                      "bundle records the CPU's features and the "
                                      "runtime refuses it on a machine without them: "
                                      "to deploy elsewhere, name a level every target "
                                      "has (x86-64-v3: AVX2, x86-64-v4: AVX-512)"),
                             cl::value_desc("name"), cl::cat(dlacCategory));
enum class HostKernels { Cpu, Gpu };
cl::opt<HostKernels> hostKernels(
    "host-kernels", cl::desc("Which kernels the host build runs"),
    cl::init(HostKernels::Cpu),
    cl::values(clEnumValN(HostKernels::Cpu, "cpu",
                          "kernels blocked and vectorised for the CPU (default)"),
               clEnumValN(HostKernels::Gpu, "gpu",
                          "the CUDA kernels' bodies run block by block: checks "
                          "their arithmetic and indexing without a GPU (slow)")),
    cl::cat(dlacCategory));
cl::opt<std::string> cudaToolkit(
    "cuda-toolkit", cl::desc("CUDA toolkit holding ptxas (default $CUDA_HOME or /usr/local/cuda)"),
    cl::value_desc("dir"), cl::cat(dlacCategory));
cl::opt<bool> allowNonfinite(
    "allow-nonfinite",
    cl::desc("--run-reference: accept NaN/Inf in the weights and the input (and "
             "negative BatchNorm variances) instead of refusing them"),
    cl::cat(dlacCategory));
cl::opt<bool> report(
    "report",
    cl::desc("After compiling, print per kernel: launch shape, FLOPs, bytes "
             "read/written, shared memory, and (--target cuda) registers and "
             "spill bytes from ptxas -v; then totals"),
    cl::cat(dlacCategory));
cl::opt<std::string> weightsFile("weights",
                                 cl::desc("Checkpoint (safetensors, PyTorch "
                                          "state-dict keys)"),
                                 cl::value_desc("file"), cl::cat(dlacCategory));
cl::opt<std::string> inputTensors(
    "input",
    cl::desc("Input tensor (safetensors holding 'input', or a single tensor)"),
    cl::value_desc("file"), cl::cat(dlacCategory));

int fail(const std::string &message) {
  llvm::errs() << "dlac: error: " << message << "\n";
  return 1;
}

/// Runs `passes` on `module` with the MLIR command-line options applied
/// (--mlir-print-ir-*, --mlir-timing, ...).
/// --mlir-timing: one report for the whole compile, a scope per step
/// (front passes, fusion, kernel lowering, each toolchain step).
DefaultTimingManager timingManager;
TimingScope timing;

LogicalResult runPasses(ModuleOp module, StringRef step,
                        const std::function<void(PassManager &)> &passes) {
  PassManager pm(module->getContext());
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  TimingScope scope = timing.nest(step);
  pm.enableTiming(scope);
  passes(pm);
  return pm.run(module);
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}

int runReferenceExecutor(ModuleOp expanded, ModuleOp module) {
  if (weightsFile.empty() || inputTensors.empty())
    return fail("--run-reference needs --weights and --input");
  if (outputFile == "-")
    return fail("--run-reference writes safetensors: give -o FILE");
  std::string err;
  if (!mlir::dla::runReferenceModel(expanded, module,
                                    {weightsFile, inputTensors, outputFile, allowNonfinite},
                                    llvm::errs(), err))
    return fail(err);
  return 0;
}

/// The CUDA chips of an IR input's dla.target (they replace --arch).
std::vector<std::string> recordedChips;

/// The CUDA toolkit and architectures of --cuda-toolkit and --arch.
mlir::dla::CudaToolchain cudaToolchain() {
  return mlir::dla::CudaToolchain(cudaToolkit,
                                  !recordedChips.empty()
                                      ? recordedChips
                                      : std::vector<std::string>(archs.begin(), archs.end()));
}
std::string toolkitDir() { return cudaToolchain().dir(); }
std::vector<std::string> archList() { return cudaToolchain().archs(); }
using mlir::dla::writeFile;

/// The directory the bundle's files are written into: a fresh, hidden folder
/// beside -o (".NAME.tmp-XXXXXX"), renamed into place by commitBundle only
/// once every file is written, so that a failed or killed compile leaves
/// the previous bundle exactly as it was (or none), never a partial or mixed
/// one, and no file of an earlier compile survives into the new bundle.
std::string bundleDir;

/// -o checked, the staging directory created and committed: codegen/BundleDir.h.
bool checkBundleTarget(std::string &err) {
  return mlir::dla::checkBundleDestination(outputFile, err);
}
bool createStagingDir(std::string &err) {
  return mlir::dla::createStagingDir(outputFile, bundleDir, err);
}
bool commitBundle(std::string &err) {
  return mlir::dla::commitStagingDir(bundleDir, outputFile, err);
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

/// Copies the checked checkpoint into the bundle as weights.safetensors,
/// which the runtime loads when given no other weights.
bool embedWeights(std::string &err) {
  if (auto ec = llvm::sys::fs::copy_file(weightsFile, bundleDir + "/weights.safetensors")) {
    err = outputFile + "/weights.safetensors: " + ec.message();
    return false;
  }
  return true;
}

/// Records `dla.target` on `module`: the host CPU (--host-cpu resolved), its
/// SIMD shape and features, --host-kernels, and the CUDA chips (--arch),
/// for the parts --target builds.
bool recordTarget(ModuleOp module, std::string &err) {
  mlir::dla::TargetAttr t;
  if (!mlir::dla::makeTarget(module->getContext(), target != Target::Cuda, hostCpu,
                             hostKernels == HostKernels::Cpu,
                             target != Target::Host ? archList() : std::vector<std::string>(),
                             t, err))
    return false;
  module->setAttr(mlir::dla::TargetAttr::kAttrName, t);
  return true;
}

/// Emitting one target's kernels from a build without that target is
/// refused before the work.
bool checkEmitTarget(std::string &err) {
  if (target == Target::Cuda && (emit == Emit::Kernel || emit == Emit::LLVM)) {
    err = std::string("--emit=") + (emit == Emit::Kernel ? "kernel" : "llvm") +
          " shows the host kernels, and --target cuda builds none (use --emit=gpu or "
          "--emit=ptx, or --target host or all)";
    return false;
  }
  if (target == Target::Host && (emit == Emit::Gpu || emit == Emit::PTX)) {
    err = std::string("--emit=") + (emit == Emit::Gpu ? "gpu" : "ptx") +
          " shows the CUDA kernels, and --target host builds none (use --emit=kernel or "
          "--emit=llvm, or --target cuda or all)";
    return false;
  }
  return true;
}

/// The stage of IR given to dlac: lowered (kernel modules inside), fused
/// (@init, fused ops), structural (ops of the JSON constructs) or primitive.
InputStage stageOf(ModuleOp module) {
  if (module.lookupSymbol(mlir::dla::kHostKernelsModule) ||
      module.lookupSymbol(mlir::dla::kGpuKernelsModule))
    return InputStage::Lowered;
  InputStage stage = InputStage::Prim;
  module.walk([&](Operation *op) {
    if (isa<mlir::dla::FusedConvOp, mlir::dla::FusedDeformConvOp, mlir::dla::FoldBatchNormOp,
            mlir::dla::PreparedOp>(op) ||
        (isa<func::FuncOp>(op) &&
         cast<func::FuncOp>(op).getSymName() == mlir::dla::kInitFunction)) {
      stage = InputStage::Fused;
      return WalkResult::interrupt();
    }
    if (isa<mlir::dla::BaseLayerOp, mlir::dla::ConvLevelOp, mlir::dla::TreeOp,
            mlir::dla::DLAUpOp, mlir::dla::IDAUpOp, mlir::dla::HeadOp,
            mlir::dla::ClassifierOp>(op))
      stage = InputStage::DLA;
    return WalkResult::advance();
  });
  return stage;
}

/// Whether what was asked (--emit, --run-reference --stage) is at or past
/// the IR input's stage: dlac resumes a pipeline, it does not undo one.
bool checkResumable(InputStage stage, std::string &err) {
  static const char *names[] = {"structural", "primitive", "fused", "lowered (kernels)"};
  InputStage wanted = InputStage::Lowered;
  if (runReference)
    wanted = referenceStage == Stage::Prim ? InputStage::Prim : InputStage::Fused;
  else if (emit == Emit::DLA)
    wanted = InputStage::DLA;
  else if (emit == Emit::Params || emit == Emit::Prim)
    wanted = InputStage::Prim;
  else if (emit == Emit::Fused || emit == Emit::Dot)
    wanted = InputStage::Fused;
  if (stage <= wanted)
    return true;
  err = std::string("the IR is ") + names[int(stage)] + " dla IR, past the " +
        names[int(wanted)] + " stage asked for; give the JSON model or IR of an earlier "
        "stage";
  return false;
}

/// Takes the targets IR was fused for from its dla.target: --target,
/// --arch, --host-cpu and --host-kernels may only repeat them (fusion
/// depended on them).
bool adoptTarget(ModuleOp module, std::string &err) {
  auto t = mlir::dla::TargetAttr::of(module);
  Target recorded = t.hasHost() && t.hasCuda() ? Target::All
                    : t.hasHost()              ? Target::Host
                                               : Target::Cuda;
  std::vector<std::string> chips;
  if (t.getChips())
    for (Attribute a : t.getChips())
      chips.push_back(llvm::cast<StringAttr>(a).str());
  auto differs = [&](const std::string &flag, const std::string &recordedValue) {
    err = inputFile + ": " + flag + " differs from the IR's dla.target (" + recordedValue +
          "), which its fusion was done for; give the JSON model or primitive IR to "
          "compile for other targets";
    return false;
  };
  static const char *targetNames[] = {"host", "cuda", "all"};
  if (target.getNumOccurrences() && target != recorded)
    return differs("--target", std::string("--target ") + targetNames[int(recorded)]);
  if (archs.getNumOccurrences() &&
      std::vector<std::string>(archs.begin(), archs.end()) != chips)
    return differs("--arch", "chips " + llvm::join(chips, ","));
  if (hostKernels.getNumOccurrences() &&
      (hostKernels == HostKernels::Cpu) != t.getCpuKernels())
    return differs("--host-kernels", t.getCpuKernels() ? "cpu" : "gpu");
  if (hostCpu.getNumOccurrences() && t.hasHost()) {
    std::string cpu;
    mlir::dla::HostTarget shape;
    std::vector<std::string> features;
    if (!mlir::dla::resolveHostCpu(hostCpu, cpu, shape, features, err))
      return false;
    if (cpu != t.getCpu())
      return differs("--host-cpu", "cpu " + t.getCpu().str());
  }
  target = recorded;
  hostKernels = t.getCpuKernels() ? HostKernels::Cpu : HostKernels::Gpu;
  recordedChips = chips;
  return true;
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
  bool wantGpu = emit == Emit::Gpu || emit == Emit::PTX ||
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
        if (wantGpu)
          pm.addPass(mlir::dla::createDLALowerToGPUKernelsPass());
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
  mlir::dla::BundleTargets targets;
  targets.host = target != Target::Cuda;
  targets.hostCpu = cpu;
  targets.hostFeatures = cpuFeatures;
  targets.cuda = target != Target::Host;
  llvm::StringSet<> used;
  for (const auto &p : mlir::dla::collectParams(fused))
    used.insert(p.name);
  for (const auto &p : mlir::dla::collectParams(expanded))
    if (!used.contains(p.name))
      targets.ignoredParameters.push_back(p.name);
  if (targets.host) {
    auto host = lowerHost();
    if (!host)
      return fail(err);
    if (!mlir::dla::emitSharedLibrary(*host, bundleDir + "/kernels.so", cpu, err, timing))
      return fail(err);
  }
  if (targets.cuda) {
    if (!llvm::sys::fs::exists(toolkitDir() + "/bin/ptxas"))
      return fail("--target cuda needs the CUDA toolkit's ptxas, not found in " +
                  toolkitDir() + "/bin (set --cuda-toolkit or CUDA_HOME, or use "
                  "--target host)");
    targets.archs = archList();
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
      mlir::dla::BundleFile f{name, 0, ""};
      if (!dlart::sha256File(it->path(), f.sha256, f.bytes, err))
        return fail(err);
      targets.files.push_back(std::move(f));
    }
    if (ec)
      return fail(bundleDir + ": " + ec.message());
    llvm::sort(targets.files, [](const auto &a, const auto &b) { return a.name < b.name; });
  }
  if (failed(mlir::dla::writeManifest(fused, launches, targets, bundleDir, err)))
    return fail(err);
  if (!commitBundle(err))
    return fail(err);
  if (report)
    mlir::dla::printKernelReport(
        set,
        targets.cuda ? cudaToolchain().resourceUsage(outputFile + "/kernels.ptx")
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
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  // Kernel lowering pipelines are spelled as text, like mlir-opt's.
  registerAllPasses();
  mlir::dla::registerDLACodegenPasses();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "dlac 0.1.0 (LLVM/MLIR " << LLVM_VERSION_STRING << ")\n";
  });
  // Show dlac's own options and MLIR's debugging flags (--mlir-print-ir-*,
  // --mlir-timing, ...), not the hundreds of LLVM backend options.
  cl::HideUnrelatedOptions(dlacCategory);
  for (auto &entry : cl::getRegisteredOptions())
    if (entry.first.starts_with("mlir-"))
      entry.second->setHiddenFlag(cl::NotHidden);
  cl::ParseCommandLineOptions(
      argc, argv,
      "dlac: the Deep Layer Aggregation model compiler\n\n"
      "  dlac model.json --emit=dla            the network as you wrote it\n"
      "  dlac model.json --emit=prim           after expansion to primitive ops\n"
      "  dlac model.json --emit=fused -o f.mlir; dlac f.mlir -o model.dlab\n"
      "                                        resume from IR of any stage\n"
      "  dlac model.json --run-reference --weights W.safetensors \\\n"
      "       --input I.safetensors -o out.safetensors\n");
  applyDefaultTimingManagerCLOptions(timingManager);
  timing = timingManager.getRootScope();
  // -o NAME.dlab without --emit asks for the bundle.
  if (emit == Emit::Prim && StringRef(outputFile).ends_with(".dlab") &&
      emit.getNumOccurrences() == 0)
    emit = Emit::Bundle;

  // Writes one textual stage to -o.
  auto print = [&](const std::function<void(llvm::raw_ostream &)> &write) {
    std::string errorMessage;
    auto output = openOutputFile(outputFile, &errorMessage);
    if (!output)
      return fail(errorMessage);
    write(output->os());
    output->keep();
    // `-o model` without --emit writes IR text, not a bundle: say so.
    if (emit.getNumOccurrences() == 0 && outputFile != "-")
      llvm::errs() << "dlac: note: wrote the primitive IR (text) to " << outputFile
                   << "; for a bundle use -o NAME.dlab or --emit=bundle\n";
    return 0;
  };

  // Kernel IR and its lowering use upstream dialects, the NVVM target and the
  // LLVM IR translations.
  DialectRegistry registry;
  registry.insert<mlir::dla::DLADialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);

  // The JSON model description, or IR at any stage dlac emits (resumed from
  // there).
  OwningOpRef<ModuleOp> module;
  InputStage stage = InputStage::DLA;
  // Diagnostics on IR read from a file quote its lines.
  llvm::SourceMgr sourceMgr;
  std::optional<SourceMgrDiagnosticHandler> sourceDiagnostics;
  if (StringRef(inputFile).ends_with(".mlir") || StringRef(inputFile).ends_with(".mlirbc")) {
    if (emit == Emit::Spec)
      return fail(inputFile + ": --emit=spec shows the resolved JSON model description; "
                              "give the JSON file");
    std::string errorMessage;
    auto file = openInputFile(inputFile, &errorMessage);
    if (!file)
      return fail(errorMessage);
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    sourceDiagnostics.emplace(sourceMgr, &context);
    TimingScope parseTiming = timing.nest("parse IR");
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 1; // the parser has said where and why
    stage = stageOf(*module);
    std::string err;
    if (!checkResumable(stage, err))
      return fail(inputFile + ": " + err);
  } else {
    std::vector<::dla::frontend::Diagnostic> diags;
    auto spec = ::dla::frontend::parseModelSpecFile(inputFile, diags);
    if (!spec) {
      for (const auto &d : diags)
        llvm::errs() << d.str() << "\n";
      return 1;
    }
    if (emit == Emit::Spec && !runReference)
      return print([&](llvm::raw_ostream &os) { os << spec->summary(); });
    TimingScope importTiming = timing.nest("import JSON");
    module = mlir::dla::importModel(*spec, &context, inputFile);
    importTiming.stop();
    if (failed(mlir::verify(*module)))
      return fail("internal error: the imported IR does not verify");
  }
  if (emit == Emit::DLA && !runReference)
    return print([&](llvm::raw_ostream &os) { module->print(os); });

  // The faithful expansion lists every parameter a checkpoint may hold (the
  // dead outer `project` of deep trees included); the cleaned-up one the
  // parameters the network actually reads.
  if (stage == InputStage::DLA &&
      failed(runPasses(*module, "expand", [](PassManager &pm) {
        pm.addPass(mlir::dla::createDLAExpandPass());
      })))
    return 1;
  // From IR past expansion, the parameters it reads are all it accepts.
  OwningOpRef<ModuleOp> expanded = module->clone();
  if (emit == Emit::Params && !runReference)
    return print([&](llvm::raw_ostream &os) {
      for (const auto &p : mlir::dla::collectParams(*expanded))
        os << p.name << " " << formatShape(p.shape) << "\n";
    });
  if (stage == InputStage::DLA && failed(runPasses(*module, "clean up", [](PassManager &pm) {
        pm.addPass(createCanonicalizerPass());
        pm.addPass(createCSEPass());
      })))
    return 1;
  // What can be checked about the bundle's destination is, before the work.
  if (emit == Emit::Bundle && !runReference) {
    std::string err;
    if (outputFile == "-")
      return fail("--emit=bundle needs -o DIR (e.g. -o model.dlab)");
    if (!checkBundleTarget(err))
      return fail(err);
  }
  // The CUDA toolchain and --arch names, before the work.
  bool cudaBinary = emit == Emit::Bundle && !runReference && target != Target::Host;
  if (cudaBinary || (!runReference && (emit == Emit::PTX || emit == Emit::Gpu)) ||
      archs.getNumOccurrences()) {
    std::string err;
    if (!cudaToolchain().check(cudaBinary || emit == Emit::PTX,
                               target == Target::All ? "--target all (the default)"
                                                     : "--target cuda",
                               err))
      return fail(err);
  }
  bool fuse = runReference ? referenceStage == Stage::Fused : emit != Emit::Prim;
  // The build's targets, recorded on the module for every pass that asks
  // (the fusions only some kernels implement, the kernel lowerings); IR
  // fused before keeps the targets it was fused for.
  if (fuse) {
    std::string err;
    if (!(mlir::dla::TargetAttr::of(*module) ? adoptTarget(*module, err)
                                            : recordTarget(*module, err)) ||
        !checkEmitTarget(err))
      return fail(err);
  }
  if (fuse && stage < InputStage::Fused &&
      failed(runPasses(*module, "fusion", [&](PassManager &pm) {
        mlir::dla::buildFusionPipeline(pm);
      })))
    return 1;
  if (runReference)
    return runReferenceExecutor(*expanded, *module);
  if (emit == Emit::Dot)
    return print([&](llvm::raw_ostream &os) { mlir::dla::emitDot(*module, os); });
  // The checkpoint to embed is checked against the model's parameters before
  // code generation (seconds), so that a wrong file fails at once.
  if (emit == Emit::Bundle && !weightsFile.empty()) {
    std::string err;
    if (!checkEmbeddedWeights(*module, err))
      return fail(err);
  }
  if (emit != Emit::Fused && emit != Emit::Prim)
    return generateCode(*module, *expanded, print);
  return print([&](llvm::raw_ostream &os) { module->print(os); });
}
