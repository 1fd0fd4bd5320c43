#pragma once
/// Finding a generation's release on disk (release.h), and running a kept one.

#include <string>

#include "release.h"
#include "spawn.h"

namespace starter {

/// Resolves `program` the way the worker's exec will find it (along `path_env` when it has no
/// '/', relative to `dir` when it is relative), and `dir`, to their real paths. Never throws:
/// what cannot be resolved is left empty.
Release resolve_release(const std::string& program, const std::string& path_env, const std::string& dir);

/// Makes `request` run `release` exactly: exec its program by real path and chdir to its
/// directory, whatever the symlinks point to now. Parts that are empty stay as they are.
void run_release(SpawnRequest& request, const Release& release);

}  // namespace starter
