#pragma once
/// Files for the integration tests: the TempDir every test owns, small file helpers, and the
/// status file as Perl's `--restart` reads it (`GEN:PID` lines).

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/temp_dir.h"

namespace itest {

/// The shared TempDir (tests/support/temp_dir.h), plus where the fake worker reports.
class TempDir : public starter::testing_support::TempDir {
 public:
  TempDir() : starter::testing_support::TempDir("start_server_it") {}
  /// The default report file of the fake worker: path()/report.
  std::string report() const { return *this / "report"; }
};

bool file_exists(const std::string& path);  ///< lstat succeeds (any kind of file)
bool is_socket_file(const std::string& path);
std::string read_file(const std::string& path);  ///< "" when missing
/// The file's content, or nullopt when it cannot be opened (read_file cannot tell "" from absent).
std::optional<std::string> read_if_present(const std::string& path);
void write_file(const std::string& path, std::string_view content, unsigned mode = 0644);
void make_dir(const std::string& path);
std::vector<std::string> split_lines(std::string_view text);  ///< non-empty lines, no '\n'
std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b);
/// How many times `needle` occurs in `text`.
size_t count_of(const std::string& text, const std::string& needle);
/// The lines, each indented on a line of its own: for failure messages.
std::string joined(const std::vector<std::string>& lines);
/// start_server's lines in `output`, without its "starting now..." banner.
std::vector<std::string> message_lines(std::string_view output);

// ---- status file ----

/// A status file's `GEN:PID` lines, in order.
using Status = std::vector<std::pair<int, pid_t>>;

/// The `GEN:PID` lines of a status file (other lines ignored); empty when missing.
Status read_status_file(const std::string& path);
/// The same, from the file's text.
Status parse_status(std::string_view text);
/// "GEN:PID GEN:PID ", or "(empty)": for failure messages.
std::string show(const Status& s);

}  // namespace itest
