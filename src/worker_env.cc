#include "worker_env.h"

#include <array>
#include <string_view>

#include "server_starter_port.h"

namespace starter {

bool is_private_variable(const std::string& name) {
  static constexpr std::array<std::string_view, 7> kPrivate = {
      "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",   "LISTEN_PID",
      "LISTEN_FDS",    "LISTEN_FDNAMES", "LISTEN_PIDFDID"};
  for (auto p : kPrivate)
    if (name == p) return true;
  return false;
}

EnvMap inherited_environment(char** environ) {
  EnvMap out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (!is_private_variable(name)) out.emplace(name, entry.substr(eq + 1));
  }
  return out;
}

WorkerEnvironment::WorkerEnvironment(EnvMap base, const EnvMap& envdir_at_start) : base_(std::move(base)) {
  for (const auto& [name, value] : envdir_at_start) envdir_names_.insert(name);
}

std::vector<std::string> WorkerEnvironment::build(const EnvMap& envdir_now, unsigned long generation,
                                                  const std::string& port_value) {
  EnvMap env = base_;
  for (const auto& name : envdir_names_) env.erase(name);
  for (const auto& [name, value] : envdir_now) {
    envdir_names_.insert(name);
    env[name] = value;
  }
  env[kPortVariable] = port_value;
  env[kGenerationVariable] = std::to_string(generation);
  for (const auto& name : envdir_names_)
    if (is_private_variable(name)) env.erase(name);

  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::string WorkerEnvironment::base_value(const std::string& name) const {
  auto it = base_.find(name);
  return it == base_.end() ? std::string() : it->second;
}

}  // namespace starter
