//===- BundleDir.h - A bundle written whole or not at all ------*- C++ -*-===//
//
// A bundle's files are written into a fresh, hidden directory beside the
// destination (".NAME.tmp-XXXXXXXX"), renamed into place only once every
// file is written, so that a failed or killed compile leaves the previous
// bundle exactly as it was (or none), never a partial or mixed one, and no
// file of an earlier compile survives into the new bundle.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_BUNDLEDIR_H
#define DLA_CODEGEN_BUNDLEDIR_H

#include <string>

namespace mlir::dla {

/// Checks the destination before any work: a missing path, an empty
/// directory or an earlier bundle (a directory with manifest.json) may be
/// replaced; a file or a directory of something else is never touched.
bool checkBundleDestination(const std::string &destination, std::string &err);

/// Creates the staging directory beside `destination`; sets `staging`.
bool createStagingDir(const std::string &destination, std::string &staging,
                      std::string &err);

/// Moves the finished `staging` directory to `destination`: an atomic
/// exchange with the previous bundle where the file system has one
/// (renameat2 RENAME_EXCHANGE), so that at every moment the destination is
/// either the old bundle or the new one. Clears `staging` once done.
bool commitStagingDir(std::string &staging, const std::string &destination,
                      std::string &err);

} // namespace mlir::dla

#endif // DLA_CODEGEN_BUNDLEDIR_H
