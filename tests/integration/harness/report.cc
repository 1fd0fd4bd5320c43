#include "report.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

namespace itest {

std::vector<std::string> fake_worker(const std::string& report,
                                     const std::vector<std::string>& flags) {
  return concat({kFakeWorker, "--report=" + report}, flags);
}

std::vector<std::string> worker_args(const TempDir& dir, const std::vector<std::string>& flags) {
  return concat({"--"}, fake_worker(dir.report(), flags));
}

std::string Record::field(const std::string& key) const {
  auto it = fields.find(key);
  return it == fields.end() ? "" : it->second;
}

std::vector<Record> Report::records() const {
  std::string text = read_file(path_);
  // A line without its '\n' may still be being written: ignore it.
  auto last_nl = text.rfind('\n');
  text = last_nl == std::string::npos ? "" : text.substr(0, last_nl + 1);
  std::vector<Record> out;
  for (const std::string& line : split_lines(text)) {
    Record r;
    r.line = line;
    r.index = out.size();
    std::istringstream in(line);
    std::string token;
    in >> r.word;
    int seen = 0;
    while (in >> token) {
      if (seen < 2 && token.rfind("pid=", 0) == 0) {
        r.pid = static_cast<pid_t>(std::atol(token.c_str() + 4));
        ++seen;
      } else if (seen < 2 && token.rfind("gen=", 0) == 0) {
        r.gen = std::atoi(token.c_str() + 4);
        ++seen;
      } else {
        auto eq = token.find('=');
        if (eq == std::string::npos)
          r.flags.push_back(token);
        else
          r.fields.emplace(token.substr(0, eq), token.substr(eq + 1));
      }
    }
    auto gen_pos = line.find(" gen=");
    if (gen_pos != std::string::npos) {
      auto after = line.find(' ', gen_pos + 1);
      r.rest = after == std::string::npos ? "" : line.substr(after + 1);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Record> Report::records(std::string_view word) const {
  std::vector<Record> out;
  for (auto& r : records())
    if (r.word == word) out.push_back(r);
  return out;
}

std::optional<Record> Report::find(std::string_view word, int gen) const {
  for (auto& r : records())
    if (r.word == word && r.gen == gen) return r;
  return std::nullopt;
}

std::optional<Record> Report::wait_for(std::string_view word, int gen, Millis timeout) const {
  std::optional<Record> found;
  if (!wait_until([&] { return (found = find(word, gen)).has_value(); }, timeout))
    return std::nullopt;
  return found;
}

std::optional<pid_t> Report::wait_for_ready(int gen, Millis timeout) const {
  auto r = wait_for("ready", gen, timeout);
  if (!r) return std::nullopt;
  return r->pid;
}

std::vector<Record> Report::ready_workers() const { return records("ready"); }

std::vector<std::string> Report::signals_for(pid_t pid) const {
  std::vector<std::string> out;
  for (auto& r : records("signal")) {
    if (r.pid != pid) continue;
    std::string name = r.field("name");
    if (std::find(r.flags.begin(), r.flags.end(), "ignored") != r.flags.end()) name += " ignored";
    out.push_back(name);
  }
  return out;
}

bool Report::wait_for_signal(pid_t pid, std::string_view name, Millis timeout) const {
  return wait_until(
      [&] {
        auto s = signals_for(pid);
        return std::find(s.begin(), s.end(), name) != s.end();
      },
      timeout);
}

std::vector<Record> Report::listens(int gen) const {
  std::vector<Record> out;
  for (auto& r : records("listen"))
    if (r.gen == gen) out.push_back(r);
  return out;
}

std::string Report::addr(int gen, std::string_view key) const {
  for (auto& r : listens(gen))
    if (r.field("key") == key) return r.field("addr");
  return "";
}

std::optional<std::string> Report::env(int gen, std::string_view name) const {
  std::string prefix = std::string(name) + "=";
  for (auto& r : records("env")) {
    if (r.gen != gen) continue;
    if (r.rest.rfind(prefix, 0) == 0) return r.rest.substr(prefix.size());
  }
  return std::nullopt;
}

bool Report::env_unset(int gen, std::string_view name) const {
  std::string expected = std::string(name) + " unset";
  for (auto& r : records("env"))
    if (r.gen == gen && r.rest == expected) return true;
  return false;
}

std::vector<int> Report::fds(int gen) const {
  auto r = find("fds", gen);
  std::vector<int> out;
  if (!r) return out;
  std::stringstream list(r->field("list"));
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  std::sort(out.begin(), out.end());
  return out;
}

int Report::max_gen() const {
  int g = 0;
  for (auto& r : records()) g = std::max(g, r.gen);
  return g;
}

std::vector<pid_t> Report::pids() const {
  std::set<pid_t> s;
  for (auto& r : records())
    if (r.pid > 0) s.insert(r.pid);
  return {s.begin(), s.end()};
}

}  // namespace itest
