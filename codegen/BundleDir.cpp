//===- BundleDir.cpp - A bundle written whole or not at all --------------===//

#include "codegen/BundleDir.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>

bool mlir::dla::checkBundleDestination(const std::string &outputFile, std::string &err) {
  namespace fs = llvm::sys::fs;
  fs::file_status st;
  if (std::error_code ec = fs::status(outputFile, st)) {
    if (ec == std::errc::no_such_file_or_directory)
      return true;
    err = outputFile + ": " + ec.message();
    return false;
  }
  if (!fs::is_directory(st)) {
    err = outputFile + ": exists and is not a directory; a bundle is a directory, "
                       "refusing to replace the file (choose another -o)";
    return false;
  }
  if (fs::exists(outputFile + "/manifest.json"))
    return true;
  std::error_code ec;
  fs::directory_iterator it(outputFile, ec), end;
  if (ec) {
    err = outputFile + ": " + ec.message();
    return false;
  }
  if (it != end) {
    err = outputFile + ": a directory that is not a dlac bundle (it has files but no "
                       "manifest.json); refusing to replace it (choose another -o)";
    return false;
  }
  return true;
}

bool mlir::dla::createStagingDir(const std::string &outputFile, std::string &bundleDir,
                                 std::string &err) {
  namespace fs = llvm::sys::fs;
  llvm::SmallString<256> target(outputFile);
  while (target.size() > 1 && llvm::sys::path::is_separator(target.back()))
    target.pop_back();
  llvm::SmallString<256> parent = llvm::sys::path::parent_path(target);
  if (parent.empty())
    parent = ".";
  if (std::error_code ec = fs::create_directories(parent)) {
    err = parent.str().str() + ": " + ec.message();
    return false;
  }
  std::string model = (parent + "/." + llvm::sys::path::filename(target) +
                       ".tmp-%%%%%%%%")
                          .str();
  for (int attempt = 0; attempt < 64; ++attempt) {
    llvm::SmallString<256> path;
    fs::createUniquePath(model, path, /*MakeAbsolute=*/false);
    std::error_code ec = fs::create_directory(path, /*IgnoreExisting=*/false);
    if (!ec) {
      bundleDir = path.str().str();
      return true;
    }
    if (ec != std::errc::file_exists) {
      err = path.str().str() + ": " + ec.message();
      return false;
    }
  }
  err = outputFile + ": cannot create a temporary directory beside it";
  return false;
}

bool mlir::dla::commitStagingDir(std::string &bundleDir, const std::string &outputFile,
                                 std::string &err) {
  namespace fs = llvm::sys::fs;
  if (!fs::exists(outputFile)) {
    if (std::error_code ec = fs::rename(bundleDir, outputFile)) {
      err = outputFile + ": " + ec.message();
      return false;
    }
    bundleDir.clear();
    return true;
  }
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, bundleDir.c_str(), AT_FDCWD, outputFile.c_str(),
                  RENAME_EXCHANGE) == 0) {
    fs::remove_directories(bundleDir); // now the previous bundle
    bundleDir.clear();
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    err = outputFile + ": cannot replace the previous bundle: " + std::strerror(errno);
    return false;
  }
#endif
  // No exchange on this file system: move the old bundle aside first (for a
  // moment there is no bundle at -o, never a partial one).
  std::string old = bundleDir + ".old";
  if (std::error_code ec = fs::rename(outputFile, old)) {
    err = outputFile + ": cannot replace the previous bundle: " + ec.message();
    return false;
  }
  if (std::error_code ec = fs::rename(bundleDir, outputFile)) {
    fs::rename(old, outputFile);
    err = outputFile + ": " + ec.message();
    return false;
  }
  fs::remove_directories(old);
  bundleDir.clear();
  return true;
}

