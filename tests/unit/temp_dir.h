#pragma once
/// Test-only helpers for the component tests in tests/unit: the shared TempDir
/// (tests/support/temp_dir.h), and small file helpers that fail the test loudly.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "support/temp_dir.h"

namespace starter::testing_support {

inline void write_file(const std::string& path, std::string_view content, mode_t mode = 0644) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    EXPECT_TRUE(out.good()) << "cannot write " << path;
  }
  EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

/// The file's content, or "<missing>" when it cannot be opened.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<missing>";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline bool exists_no_follow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace starter::testing_support
