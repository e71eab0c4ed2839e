//===- dlac.cpp - The dlac compiler driver --------------------------------===//
//
// dlac model.json [--emit=STAGE] [-o FILE]
// dlac model.json --run-reference --weights W.safetensors --input I.safetensors
//      -o outputs.safetensors
//
// The driver: reads the JSON model or IR of any stage, records the targets,
// runs the front passes and fusion as far as --emit asks, or the reference
// executor; code generation is Generate.cpp, the command line Options.cpp.
//
//===----------------------------------------------------------------------===//

#include "tools/dlac/Driver.h"

#include "dialects/DLA/IR/DLAOps.h"
#include "codegen/Codegen.h"
#include "codegen/CudaToolchain.h"
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

namespace dlac {
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

/// Records `dla.target` on `module`: the host CPU (--host-cpu resolved), its
/// SIMD shape and features, and the CUDA chips (--arch),
/// for the parts --target builds.
bool recordTarget(ModuleOp module, std::string &err) {
  mlir::dla::TargetAttr t;
  if (!mlir::dla::makeTarget(module->getContext(), target != Target::Cuda, hostCpu,
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
  if (target == Target::Host && (emit == Emit::Gpu || emit == Emit::PTX || emit == Emit::Emu)) {
    err = std::string("--emit=") +
          (emit == Emit::Gpu ? "gpu" : emit == Emit::PTX ? "ptx" : "emu") +
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
/// --arch and --host-cpu may only repeat them (fusion
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
  recordedChips = chips;
  return true;
}

} // namespace dlac

using namespace dlac;

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
  if (!precision.empty()) {
    auto p = ::dla::frontend::parsePrecision(precision);
    if (!p)
      return fail("--precision: expected f32, tf32, f16 or bf16, got '" + precision + "'");
  }
  if (hostKernels == HostKernels::Gpu)
    return fail("--host-kernels=gpu is retired: the host no longer runs the CUDA kernels' "
                "thread phases one after another. To run the CUDA kernels on this machine "
                "with their GPU semantics, build with --target cuda (or all) and run with "
                "dla-run --device cuda-emu (docs/runtime.md)");
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
    if (!precision.empty()) {
      // The storage types are given at the end of fusion: IR past it has them.
      auto had = (*module)->getAttrOfType<StringAttr>(mlir::dla::kPrecisionAttr);
      std::string was = had ? had.getValue().str() : "f32";
      if (stage >= InputStage::Fused && was != precision)
        return fail(inputFile + ": --precision=" + precision + ": the IR is fused in \"" +
                    was + "\" already; give the JSON model or IR of the dla or prim stage");
      (*module)->setAttr(mlir::dla::kPrecisionAttr, StringAttr::get(&context, precision));
    }
  } else {
    std::vector<::dla::frontend::Diagnostic> diags;
    auto spec = ::dla::frontend::parseModelSpecFile(inputFile, diags);
    if (!spec) {
      for (const auto &d : diags)
        llvm::errs() << d.str() << "\n";
      return 1;
    }
    if (!precision.empty())
      spec->precision = *::dla::frontend::parsePrecision(precision);
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
        // The reference executor computes in f32 whatever the precision.
        mlir::dla::buildFusionPipeline(pm, /*storagePrecision=*/!runReference);
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
