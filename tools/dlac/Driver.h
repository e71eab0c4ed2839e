//===- Driver.h - What the parts of the dlac driver share ------*- C++ -*-===//
//
// dlac's command line (Options.cpp), the pass runner and the toolchain of
// the targets (dlac.cpp), and code generation to the bundle (Generate.cpp).
// Internal to tools/dlac.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_TOOLS_DLAC_DRIVER_H
#define DLA_TOOLS_DLAC_DRIVER_H

#include "codegen/CudaToolchain.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>
#include <vector>

namespace dlac {

enum class Emit { Spec, DLA, Prim, Fused, Dot, Params, Kernel, Gpu, LLVM, PTX, Emu, Bundle };
enum class Target { Host, Cuda, All };
enum class Stage { Prim, Fused };
/// How far an IR input has come, in pipeline order.
enum class InputStage { DLA, Prim, Fused, Lowered };
enum class HostKernels { Cpu, Gpu };
enum class CudaConvs { TensorCore, Simt };

// The command line (Options.cpp).
extern llvm::cl::OptionCategory dlacCategory;
extern llvm::cl::opt<std::string> inputFile;
extern llvm::cl::opt<std::string> outputFile;
extern llvm::cl::opt<Emit> emit;
extern llvm::cl::opt<bool> runReference;
extern llvm::cl::opt<Stage> referenceStage;
extern llvm::cl::opt<Target> target;
extern llvm::cl::list<std::string> archs;
extern llvm::cl::opt<std::string> hostCpu;
extern llvm::cl::opt<HostKernels> hostKernels;
extern llvm::cl::opt<CudaConvs> cudaConvs;
extern llvm::cl::opt<int64_t> cudaMinBlocks;
extern llvm::cl::opt<std::string> precision;
extern llvm::cl::opt<std::string> cudaToolkit;
extern llvm::cl::opt<bool> allowNonfinite;
extern llvm::cl::opt<bool> report;
extern llvm::cl::opt<std::string> weightsFile;
extern llvm::cl::opt<std::string> inputTensors;

/// "dlac: error: MESSAGE" on stderr; returns 1.
int fail(const std::string &message);

/// --mlir-timing: one report for the whole compile, a scope per step.
extern mlir::TimingScope timing;

/// Runs `passes` on `module` with the MLIR command-line options applied
/// (--mlir-print-ir-*, --mlir-timing, ...), timed as `step`.
mlir::LogicalResult runPasses(mlir::ModuleOp module, llvm::StringRef step,
                              const std::function<void(mlir::PassManager &)> &passes);

/// The CUDA toolkit and architectures of --cuda-toolkit and --arch (or the
/// chips an IR input records).
mlir::dla::CudaToolchain cudaToolchain();
std::string toolkitDir();
std::vector<std::string> archList();

/// -o can take a bundle (codegen/BundleDir.h), checked before the work.
bool checkBundleTarget(std::string &err);

/// --weights with a bundle: the checkpoint must hold the model's parameters
/// (checked before code generation).
bool checkEmbeddedWeights(mlir::ModuleOp fused, std::string &err);

/// Kernel generation, lowering and the bundle (--emit=kernel|gpu|llvm|ptx|
/// bundle) from `fused`; `expanded` (primitive IR) names the parameters the
/// fusions dropped. `print` writes text output to -o.
int generateCode(
    mlir::ModuleOp fused, mlir::ModuleOp expanded,
    const std::function<int(const std::function<void(llvm::raw_ostream &)> &)> &print);

} // namespace dlac

#endif // DLA_TOOLS_DLAC_DRIVER_H
