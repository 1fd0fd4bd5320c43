#include "upgrade_state.h"

#include <charconv>
#include <map>
#include <optional>
#include <type_traits>

#include "record_text.h"

namespace starter {

namespace {

constexpr std::string_view kMagic = "start_server-state ";

/// One record being written: "name\tk=v\tk=v\n".
class RecordWriter {
 public:
  RecordWriter(std::string& out, std::string_view name) : out_(out) { out_ += name; }
  ~RecordWriter() { out_ += '\n'; }
  RecordWriter& text(std::string_view key, std::string_view value) {
    out_ += '\t';
    out_ += key;
    out_ += '=';
    out_ += escape_field(value);
    return *this;
  }
  template <typename T>
  RecordWriter& number(std::string_view key, T value) {
    return text(key, std::to_string(value));
  }
  RecordWriter& flag(std::string_view key, bool value) { return text(key, value ? "1" : "0"); }
  /// Written only when there is a value: a reader keeps its own when the field is absent.
  template <typename T>
  RecordWriter& optional(std::string_view key, const std::optional<T>& value) {
    if (!value) return *this;
    if constexpr (std::is_same_v<T, bool>)
      return flag(key, *value);
    else
      return number(key, *value);
  }
  RecordWriter& time(std::string_view key, std::optional<MonotonicNs> t) {
    return text(key, t ? std::to_string(*t) : "-");
  }

 private:
  std::string& out_;
};

template <typename T>
std::string joined(const std::vector<T>& numbers) {
  std::string out;
  for (T n : numbers) out += (out.empty() ? "" : ",") + std::to_string(n);
  return out;
}

void write_worker(std::string& out, std::string_view name, const UpgradeState::Worker& w) {
  RecordWriter(out, name)
      .number("generation", w.generation)
      .number("pid", w.pid)
      .text("role", w.role)
      .time("spawned", w.spawned)
      .flag("signalled", w.signalled)
      .time("kill_at", w.kill_at)
      .flag("killed", w.killed)
      .number("last_signal", w.last_signal)
      .text("status", w.status)
      .text("descendants", joined(w.descendants))
      .text("program", w.release.program)
      .text("dir", w.release.dir)
      .text("release", w.release.name)
      .number("respawn_of", w.respawn_of);
}

/// Thrown inside the parser only, caught in parse_upgrade_state and turned into its reason.
struct Refusal {
  std::string reason;
};

/// One record being read: its fields by name, unescaped, with typed getters that refuse a
/// bad value and, when `required`, a missing one. A field left unread is one we do not know.
class RecordReader {
 public:
  RecordReader(std::string_view name, const std::vector<std::string_view>& fields) : name_(name) {
    for (std::size_t i = 1; i < fields.size(); ++i) {
      std::size_t eq = fields[i].find('=');
      if (eq == std::string_view::npos) fail("field '" + escape_field(fields[i]) + "' has no '='");
      std::string value;
      if (!unescape_field(fields[i].substr(eq + 1), value))
        fail("bad escape in " + std::string(fields[i].substr(0, eq)));
      fields_[std::string(fields[i].substr(0, eq))] = std::move(value);
    }
  }

  void text(const char* key, std::string& out, bool required = false) const {
    if (const std::string* v = find(key, required)) out = *v;
  }
  template <typename T>
  void number(const char* key, T& out, bool required = false) const {
    const std::string* v = find(key, required);
    if (!v) return;
    T value{};
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), value);
    if (v->empty() || ec != std::errc() || ptr != v->data() + v->size()) bad(key, *v);
    out = value;
  }
  void flag(const char* key, bool& out, bool required = false) const {
    const std::string* v = find(key, required);
    if (!v) return;
    if (*v != "0" && *v != "1") bad(key, *v);
    out = *v == "1";
  }
  /// A field that may be absent (a writer from before it): `out` stays empty then.
  template <typename T>
  void optional(const char* key, std::optional<T>& out) const {
    if (!find(key, false)) return;
    T value{};
    if constexpr (std::is_same_v<T, bool>)
      flag(key, value);
    else
      number(key, value);
    out = value;
  }
  void time(const char* key, std::optional<MonotonicNs>& out) const {
    const std::string* v = find(key, false);
    if (!v) return;
    if (*v == "-") {
      out.reset();
      return;
    }
    MonotonicNs t = 0;
    number(key, t);
    out = t;
  }
  void time(const char* key, MonotonicNs& out, bool required = false) const {
    std::optional<MonotonicNs> t;
    if (!find(key, required)) return;
    time(key, t);
    if (!t) bad(key, "-");
    out = *t;
  }
  void fd(const char* key, int& out, bool required = false) const {
    number(key, out, required);
    if (out < -1) bad(key, std::to_string(out));
  }
  void pid(const char* key, pid_t& out, bool required = false) const {
    number(key, out, required);
    if (out <= 0 && find(key, false)) bad(key, std::to_string(out));
  }
  /// A comma-separated list of positive numbers (pids, signals); empty is none.
  void positives(const char* key, std::vector<int>& out) const {
    const std::string* v = find(key, false);
    if (!v || v->empty()) return;
    out.clear();
    for (std::string_view item : split_fields(*v, ',')) {
      int n = 0;
      auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
      if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || n <= 0)
        bad(key, *v);
      out.push_back(n);
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Refusal{std::string(name_) + ": " + what};
  }

 private:
  const std::string* find(const char* key, bool required) const {
    auto it = fields_.find(key);
    if (it != fields_.end()) return &it->second;
    if (required) fail(std::string("no ") + key);
    return nullptr;
  }
  [[noreturn]] void bad(const char* key, const std::string& value) const {
    fail(std::string("bad ") + key + " '" + escape_field(value) + "'");
  }

  std::string_view name_;
  std::map<std::string, std::string> fields_;
};

UpgradeState::Worker read_worker(const RecordReader& r) {
  UpgradeState::Worker w;
  r.number("generation", w.generation, true);
  r.pid("pid", w.pid, true);
  r.text("role", w.role, true);
  if (w.role != "starting" && w.role != "current" && w.role != "old" && w.role != "failed")
    r.fail("bad role '" + escape_field(w.role) + "'");
  r.time("spawned", w.spawned, true);
  r.flag("signalled", w.signalled);
  r.time("kill_at", w.kill_at);
  r.flag("killed", w.killed);
  r.number("last_signal", w.last_signal);
  r.text("status", w.status);
  r.positives("descendants", w.descendants);
  r.text("program", w.release.program);
  r.text("dir", w.release.dir);
  r.text("release", w.release.name);
  r.number("respawn_of", w.respawn_of);
  return w;
}

bool is_phase(std::string_view p) {
  for (std::string_view known :
       {"idle", "starting", "serving", "reloading", "retiring", "stopping"})
    if (p == known) return true;
  return false;
}

void read_supervisor(const RecordReader& r, UpgradeState::Supervisor& s) {
  r.text("phase", s.phase, true);
  if (!is_phase(s.phase)) r.fail("bad phase '" + escape_field(s.phase) + "'");
  r.number("generation", s.generation, true);
  r.time("last_spawn", s.last_spawn);
  r.time("last_restart", s.last_restart);
  r.time("probation_end", s.probation_end);
  r.time("respawn_at", s.respawn_at);
  r.time("kill_old_at", s.kill_old_at);
  r.number("failures", s.failures);
  r.flag("reload_queued", s.reload_queued);
  r.number("stop_signal", s.stop_signal);
  r.text("starting_error", s.starting_error);
  r.number("failed_generation", s.failed_generation);
  r.flag("retrying", s.retrying);
  r.text("failure", s.failure);
  r.text("last_status", s.last_status);
  r.number("respawn_of", s.respawn_of);
  r.number("upgrades", s.upgrades);
  r.time("upgrade_requested", s.upgrade_requested);
  r.optional("kill_old_delay_ms", s.kill_old_delay_ms);
  r.optional("auto_restart", s.auto_restart);
  r.optional("auto_restart_interval_ms", s.auto_restart_interval_ms);
}

void read_record(std::string_view name, const RecordReader& r, UpgradeState& s,
                 bool& saw_supervisor) {
  if (name == "image") {
    r.text("path", s.exe_path, true);
    r.fd("exe_fd", s.exe_fd, true);
    r.positives("mask", s.original_mask);
    r.number("started", s.started_ms);
  } else if (name == "listener") {
    UpgradeState::Listener l;
    r.text("key", l.key, true);
    r.fd("fd", l.fd, true);
    r.text("name", l.name);
    r.flag("owns_path", l.owns_path);
    r.number("dev", l.dev);
    r.number("ino", l.ino);
    r.number("flags", l.flags);
    r.flag("fd_store", l.fd_store);
    s.listeners.push_back(std::move(l));
  } else if (name == "pidfile") {
    r.text("path", s.pid_file, true);
    r.fd("fd", s.pid_file_fd, true);
  } else if (name == "statusfile") {
    r.text("path", s.status_file, true);
    r.flag("written", s.status_written);
  } else if (name == "detailfile") {
    r.flag("written", s.detail_written);
  } else if (name == "log") {
    r.fd("own_fd", s.log_own_fd);
    r.fd("reader_fd", s.log_reader_fd);
    r.number("logger_pid", s.logger_pid);
  } else if (name == "envdir") {
    s.envdir_names.emplace_back();
    r.text("name", s.envdir_names.back(), true);
  } else if (name == "notify") {
    UpgradeState::Notify n;
    r.number("generation", n.generation, true);
    r.fd("fd", n.fd, true);
    r.text("path", n.path);
    s.notify.push_back(std::move(n));
  } else if (name == "supervisor") {
    read_supervisor(r, s.supervisor);
    saw_supervisor = true;
  } else if (name == "worker") {
    s.supervisor.workers.push_back(read_worker(r));
  } else if (name == "died") {
    s.supervisor.died_serving = read_worker(r);
  } else if (name == "reload") {
    UpgradeState::Reload reload;
    std::string outcome;
    r.number("generation", reload.generation, true);
    r.text("outcome", outcome, true);
    if (outcome == "ok")
      reload.outcome = ReloadOutcome::kOk;
    else if (outcome == "failed")
      reload.outcome = ReloadOutcome::kFailed;
    else if (outcome != "in-progress")
      r.fail("bad outcome '" + escape_field(outcome) + "'");
    r.time("at", reload.at);
    r.text("reason", reload.reason);
    s.supervisor.last_reload = std::move(reload);
  } else if (name == "refused") {
    r.text("reason", s.refused, true);
  }
}

}  // namespace

std::vector<int> UpgradeState::fds() const {
  std::vector<int> out;
  auto add = [&](int fd) {
    if (fd >= 0) out.push_back(fd);
  };
  add(exe_fd);
  for (const auto& l : listeners) add(l.fd);
  add(pid_file_fd);
  add(log_own_fd);
  add(log_reader_fd);
  for (const auto& n : notify) add(n.fd);
  return out;
}

std::string format_upgrade_state(const UpgradeState& s) {
  std::string out = std::string(kMagic) + std::to_string(kUpgradeStateVersion) + "\n";
  RecordWriter(out, "image")
      .text("path", s.exe_path)
      .number("exe_fd", s.exe_fd)
      .text("mask", joined(s.original_mask))
      .number("started", s.started_ms);
  for (const auto& l : s.listeners)
    RecordWriter(out, "listener")
        .text("key", l.key)
        .number("fd", l.fd)
        .text("name", l.name)
        .flag("owns_path", l.owns_path)
        .number("dev", l.dev)
        .number("ino", l.ino)
        .number("flags", l.flags)
        .flag("fd_store", l.fd_store);
  if (!s.pid_file.empty())
    RecordWriter(out, "pidfile").text("path", s.pid_file).number("fd", s.pid_file_fd);
  if (!s.status_file.empty())
    RecordWriter(out, "statusfile").text("path", s.status_file).flag("written", s.status_written);
  RecordWriter(out, "detailfile").flag("written", s.detail_written);
  RecordWriter(out, "log")
      .number("own_fd", s.log_own_fd)
      .number("reader_fd", s.log_reader_fd)
      .number("logger_pid", s.logger_pid);
  for (const auto& name : s.envdir_names) RecordWriter(out, "envdir").text("name", name);
  for (const auto& n : s.notify)
    RecordWriter(out, "notify")
        .number("generation", n.generation)
        .number("fd", n.fd)
        .text("path", n.path);
  const auto& v = s.supervisor;
  RecordWriter(out, "supervisor")
      .text("phase", v.phase)
      .number("generation", v.generation)
      .time("last_spawn", v.last_spawn)
      .time("last_restart", v.last_restart)
      .time("probation_end", v.probation_end)
      .time("respawn_at", v.respawn_at)
      .time("kill_old_at", v.kill_old_at)
      .number("failures", v.failures)
      .flag("reload_queued", v.reload_queued)
      .number("stop_signal", v.stop_signal)
      .text("starting_error", v.starting_error)
      .number("failed_generation", v.failed_generation)
      .flag("retrying", v.retrying)
      .text("failure", v.failure)
      .text("last_status", v.last_status)
      .number("respawn_of", v.respawn_of)
      .number("upgrades", v.upgrades)
      .time("upgrade_requested", v.upgrade_requested)
      .optional("kill_old_delay_ms", v.kill_old_delay_ms)
      .optional("auto_restart", v.auto_restart)
      .optional("auto_restart_interval_ms", v.auto_restart_interval_ms);
  for (const auto& w : v.workers) write_worker(out, "worker", w);
  if (v.died_serving) write_worker(out, "died", *v.died_serving);
  if (const auto& r = v.last_reload)
    RecordWriter(out, "reload")
        .number("generation", r->generation)
        .text("outcome", outcome_name(r->outcome))
        .time("at", r->at)
        .text("reason", r->reason);
  if (!s.refused.empty()) RecordWriter(out, "refused").text("reason", s.refused);
  return out;
}

std::variant<UpgradeState, std::string> parse_upgrade_state(std::string_view text) {
  std::size_t nl = text.find('\n');
  std::string_view first = text.substr(0, nl);
  if (first.substr(0, kMagic.size()) != kMagic)
    return "not a start_server upgrade state (first line '" + escape_field(first.substr(0, 40)) +
           "')";
  unsigned version = 0;
  std::string_view number = first.substr(kMagic.size());
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size() || version == 0)
    return "bad state version '" + escape_field(number) + "'";
  if (version > kUpgradeStateVersion)
    return "state version " + std::to_string(version) + " is newer than this start_server reads (" +
           std::to_string(kUpgradeStateVersion) + ")";
  if (nl == std::string_view::npos) return "the state has no records";
  text.remove_prefix(nl + 1);

  UpgradeState state;
  bool saw_image = false, saw_supervisor = false;
  for (unsigned line_number = 2; !text.empty(); ++line_number) {
    nl = text.find('\n');
    if (nl == std::string_view::npos)
      return "line " + std::to_string(line_number) + ": cut short (no newline)";
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty()) continue;
    std::vector<std::string_view> fields = split_fields(line, '\t');
    try {
      read_record(fields[0], RecordReader(fields[0], fields), state, saw_supervisor);
    } catch (const Refusal& r) {
      return "line " + std::to_string(line_number) + ": " + r.reason;
    }
    saw_image |= fields[0] == "image";
  }
  if (!saw_image) return "the state has no image record";
  if (!saw_supervisor) return "the state has no supervisor record";
  return state;
}

}  // namespace starter
