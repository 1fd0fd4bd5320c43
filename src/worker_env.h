#pragma once
/// The environment each generation starts with. Pure: the caller reads the envdir.

#include <map>
#include <set>
#include <string>
#include <vector>

namespace starter {

using EnvMap = std::map<std::string, std::string>;

/// Variables addressed to start_server itself that must never reach a worker: systemd's
/// notification, watchdog and socket-activation variables.
bool is_private_variable(const std::string& name);

/// environ as a map, without the private variables.
EnvMap inherited_environment(char** environ);

class WorkerEnvironment {
 public:
  /// `base`: start_server's environment at start plus the variables Perl exports for its
  /// options. `envdir_at_start`: the envdir as read at start.
  WorkerEnvironment(EnvMap base, const EnvMap& envdir_at_start);

  /// The environment of generation `generation`, with `envdir_now` freshly read. A variable
  /// the envdir once set and no longer sets is unset (Perl brings back its start-up value).
  std::vector<std::string> build(const EnvMap& envdir_now, unsigned long generation, const std::string& port_value);

  /// A variable's value as the worker will see it without envdir changes (PATH lookups).
  std::string base_value(const std::string& name) const;

 private:
  EnvMap base_;
  std::set<std::string> envdir_names_;
};

}  // namespace starter
