#include "worker_launch.h"

#include <array>
#include <string_view>

#include "server_starter_port.h"

namespace starter {

bool is_private_variable(const std::string& name) {
  // FDSTORE: the fd store is the unit's, and only start_server (the main process) may use it.
  static constexpr std::array<std::string_view, 8> kPrivate = {
      "NOTIFY_SOCKET", "WATCHDOG_USEC",  "WATCHDOG_PID",   "LISTEN_PID",
      "LISTEN_FDS",    "LISTEN_FDNAMES", "LISTEN_PIDFDID", "FDSTORE"};
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

EnvMap base_environment(const Config& config, EnvMap inherited) {
  for (const auto& [name, value] : config.exported_env) inherited[name] = value;
  return inherited;
}

namespace {

/// The environment before the socket-activation and notification variables: the base with
/// the envdir's values in place of whatever the envdir ever set, and ours on top.
EnvMap generation_environment(const Config& config, const LaunchInputs& in) {
  EnvMap env = base_environment(config, in.inherited);
  for (const auto& name : in.envdir_names) env.erase(name);
  for (const auto& [name, value] : in.envdir) env[name] = value;
  std::vector<PortEntry> ports;
  for (const auto& l : in.listeners) ports.push_back({l.key, l.fd});
  env[kPortVariable] = encode_server_starter_port(ports);
  env[kGenerationVariable] = std::to_string(in.generation);
  for (const auto& name : in.envdir_names)
    if (is_private_variable(name)) env.erase(name);
  return env;
}

/// LISTEN_FDNAMES: systemd's names, or the key with ':' made '_' (names may not hold ':').
std::string listen_fdnames(const std::vector<ExportedListener>& listeners) {
  std::string out;
  for (const auto& l : listeners) {
    std::string name = l.systemd_name.empty() ? l.key : l.systemd_name;
    for (char& c : name)
      if (c == ':') c = '_';
    out += (out.empty() ? "" : ":") + name;
  }
  return out;
}

}  // namespace

SpawnRequest build_worker_launch(const Config& config, const LaunchInputs& in) {
  SpawnRequest launch;
  launch.argv = config.command;
  launch.env = generation_environment(config, in);
  launch.exec_paths = exec_candidates(config.command.front(), env_value(launch.env, "PATH"));
  launch.dir = config.dir;
  for (const auto& l : in.listeners) launch.inherit_fds.push_back(l.fd);
  if (config.listen_fds) {
    launch.env["LISTEN_FDS"] = std::to_string(in.listeners.size());
    launch.env["LISTEN_FDNAMES"] = listen_fdnames(in.listeners);
    launch.listen_pid = true;
  }
  if (!in.notify_socket.empty()) launch.env["NOTIFY_SOCKET"] = in.notify_socket;
  if (in.release) {
    if (!in.release->program.empty()) launch.exec_paths = {in.release->program};
    if (!in.release->dir.empty() && !launch.dir.empty()) launch.dir = in.release->dir;
  }
  return launch;
}

}  // namespace starter
