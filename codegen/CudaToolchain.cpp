//===- CudaToolchain.cpp - The CUDA toolkit's tools a build calls --------===//

#include "codegen/CudaToolchain.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

using namespace mlir::dla;
using llvm::StringRef;

bool mlir::dla::writeFile(const std::string &path, const std::string &data,
                          std::string &err) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    err = path + ": " + ec.message();
    return false;
  }
  os << data;
  return true;
}

CudaToolchain::CudaToolchain(const std::string &dir, std::vector<std::string> archs)
    : toolkit(dir), archList(std::move(archs)) {
  if (toolkit.empty()) {
    const char *home = std::getenv("CUDA_HOME");
    toolkit = home ? home : "/usr/local/cuda";
  }
  if (archList.empty())
    archList = {"sm_90"};
}

std::map<std::string, PtxasInfo>
CudaToolchain::resourceUsage(const std::string &ptxPath) const {
  std::map<std::string, PtxasInfo> info;
  // The tensor-core instructions of each entry, from the PTX itself.
  if (auto ptx = llvm::MemoryBuffer::getFile(ptxPath)) {
    llvm::SmallVector<llvm::StringRef> lines;
    (*ptx)->getBuffer().split(lines, '\n');
    std::string entry;
    for (llvm::StringRef line : lines) {
      if (auto pos = line.find(".entry "); pos != llvm::StringRef::npos)
        entry = line.substr(pos + 7).split('(').first.trim().str();
      else if (!entry.empty() && line.contains("mma.sync"))
        ++info[entry].mmaInstructions;
    }
  }
  std::string tool = ptxas();
  llvm::SmallString<128> log;
  llvm::sys::fs::createTemporaryFile("dlac-ptxas", "log", log);
  std::string arch = archList.back();
  std::vector<llvm::StringRef> argv{tool, "-v", "-arch=" + arch, ptxPath, "-o", "/dev/null"};
  std::string archArg = "-arch=" + arch;
  argv[2] = archArg;
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  if (llvm::sys::ExecuteAndWait(tool, argv, {}, redirects) != 0)
    return info;
  auto buffer = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(log);
  if (!buffer)
    return info;
  std::string current;
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (llvm::StringRef line : lines) {
    if (auto pos = line.find("Compiling entry function '"); pos != llvm::StringRef::npos) {
      current = line.substr(pos + 26).split('\'').first.str();
      continue;
    }
    int64_t v;
    if (auto pos = line.find("bytes spill stores"); pos != llvm::StringRef::npos) {
      llvm::StringRef before = line.substr(0, pos).rtrim();
      before = before.substr(before.rfind(' ') + 1);
      if (!before.getAsInteger(10, v))
        info[current].spillBytes += v;
      pos = line.find("bytes spill loads");
      before = line.substr(0, pos).rtrim();
      before = before.substr(before.rfind(' ') + 1);
      if (!before.getAsInteger(10, v))
        info[current].spillBytes += v;
    }
    if (auto pos = line.find("Used "); pos != llvm::StringRef::npos &&
                                       line.contains("registers")) {
      llvm::StringRef rest = line.substr(pos + 5);
      if (!rest.split(' ').first.getAsInteger(10, v))
        info[current].registers = v;
      if (auto s = line.find("bytes smem"); s != llvm::StringRef::npos) {
        llvm::StringRef before = line.substr(0, s).rtrim();
        before = before.substr(before.rfind(' ') + 1);
        if (!before.getAsInteger(10, v))
          info[current].sharedBytes = v;
      }
    }
  }
  return info;
}


bool CudaToolchain::check(bool needBinary, const std::string &targetFlag,
                          std::string &err) const {
  const std::vector<std::string> &list = archList;
  for (const std::string &a : list) {
    StringRef s(a);
    bool ok = s.consume_front("sm_") && !s.empty();
    s = s.rtrim("af");
    ok = ok && !s.empty() && llvm::all_of(s, llvm::isDigit) && s.size() <= 3;
    if (!ok) {
      err = "--arch " + a + ": expected a CUDA architecture such as sm_80, sm_90 or sm_90a";
      return false;
    }
  }
  std::string ptxas = this->ptxas();
  if (!llvm::sys::fs::can_execute(ptxas)) {
    if (!needBinary)
      return true;
    err = targetFlag + " needs the CUDA toolkit's ptxas, not found in " + toolkit +
          "/bin (set --cuda-toolkit or CUDA_HOME, or use --target host)";
    return false;
  }
  if (needBinary && list.size() > 1 && !llvm::sys::fs::can_execute(fatbinary())) {
    err = "--arch with several architectures needs the CUDA toolkit's fatbinary, not found "
          "in " + toolkit + "/bin";
    return false;
  }
  // The names this ptxas accepts ('sm_90', 'sm_90a', ...) from its help text.
  llvm::SmallString<128> helpFile;
  if (llvm::sys::fs::createTemporaryFile("dlac-ptxas-help", "txt", helpFile))
    return true; // cannot ask: ptxas itself will judge the names
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(helpFile), std::nullopt};
  int rc = llvm::sys::ExecuteAndWait(ptxas, {ptxas, "--help"}, std::nullopt, redirects, 30);
  auto help = llvm::MemoryBuffer::getFile(helpFile);
  llvm::sys::fs::remove(helpFile);
  if (rc != 0 || !help)
    return true;
  std::vector<std::string> known;
  StringRef text = (*help)->getBuffer();
  for (size_t at = text.find("'sm_"); at != StringRef::npos; at = text.find("'sm_", at + 1)) {
    size_t end = text.find('\'', at + 1);
    if (end == StringRef::npos)
      break;
    known.push_back(text.substr(at + 1, end - at - 1).str());
  }
  if (known.empty())
    return true;
  for (const std::string &a : list)
    if (llvm::find(known, a) == known.end()) {
      std::vector<unsigned> numbers;
      for (const std::string &k : known) {
        unsigned n = 0;
        if (!StringRef(k).drop_front(3).getAsInteger(10, n))
          numbers.push_back(n);
      }
      llvm::sort(numbers);
      numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
      std::string names;
      for (unsigned n : numbers)
        names += (names.empty() ? "sm_" : ", sm_") + std::to_string(n);
      err = "--arch " + a + ": not an architecture the CUDA toolkit's ptxas (" + ptxas +
            ") knows; it knows " + names + " (and their 'a'/'f' variants)";
      return false;
    }
  return true;
}


bool CudaToolchain::writeFatbin(const std::string &dir,
                                const std::vector<std::pair<std::string, std::string>> &cubins,
                                const std::vector<std::pair<std::string, std::string>> &ptxs,
                                std::string &err) const {
  std::string tool = fatbinary();
  std::vector<std::string> args{tool, "--64", "--create=" + dir + "/kernels.fatbin"};
  std::vector<std::string> temps;
  for (const auto &[chip, data] : cubins) {
    std::string path = dir + "/." + chip + ".cubin";
    if (!writeFile(path, data, err))
      return false;
    temps.push_back(path);
    args.push_back("--image3=kind=elf,sm=" + chip.substr(3) + ",file=" + path);
  }
  if (!ptxs.empty()) {
    const auto &[chip, data] = ptxs.back();
    std::string path = dir + "/." + chip + ".ptx";
    if (!writeFile(path, data, err))
      return false;
    temps.push_back(path);
    args.push_back("--image3=kind=ptx,sm=" + chip.substr(3) + ",file=" + path);
  }
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(tool, argv, {}, {}, 0, 0, &message);
  for (const auto &t : temps)
    llvm::sys::fs::remove(t);
  if (rc != 0) {
    err = "fatbinary failed (" + tool + "): " + message;
    return false;
  }
  return true;
}

