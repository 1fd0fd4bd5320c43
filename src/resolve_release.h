#pragma once
/// Finding a generation's release on disk (release.h), and running a kept one.

#include <string>

#include "release.h"

namespace starter {

/// Resolves `program` the way the worker's exec will find it (along `path_env` when it has no
/// '/', relative to `dir` when it is relative), and `dir`, to their real paths. Never throws:
/// what cannot be resolved is left empty.
Release resolve_release(const std::string& program, const std::string& path_env,
                        const std::string& dir);

}  // namespace starter
