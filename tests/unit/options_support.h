#pragma once
/// What the tests of the command line share.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "error.h"
#include "options.h"

namespace starter::testing_support {

/// The UsageError's message, or "" (and a test failure) when the arguments are accepted.
/// Every usage error is one line.
inline std::string usage_error(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env = {}) {
  try {
    parse_options(args, env);
  } catch (const UsageError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    EXPECT_FALSE(what.empty());
    return what;
  }
  ADD_FAILURE() << "accepted";
  return "";
}

}  // namespace starter::testing_support
