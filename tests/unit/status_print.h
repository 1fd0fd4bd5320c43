#pragma once
/// Readable failure output for EXPECT_EQ on status snapshots: GoogleTest finds PrintTo by ADL
/// and prints the status file's text.

#include <ostream>

#include "status_format.h"

namespace starter {

inline void PrintTo(const StatusSnapshot& s, std::ostream* os) {
  *os << "StatusSnapshot{\"" << format_status(s) << "\"}";
}

}  // namespace starter
