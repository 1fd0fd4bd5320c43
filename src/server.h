#pragma once
/// The daemon: sets everything up in the order the contract needs, then runs the one event
/// loop. The loop polls a signalfd with the supervisor's next deadline as its timeout, turns
/// what it reads into events, and carries out the supervisor's actions.

#include <optional>

#include "config.h"
#include "self_exec.h"

namespace starter {

/// Runs start_server until it exits; returns its exit status. Bad input and set-up failures
/// throw (UsageError, SysError) before any worker starts, with everything made so far
/// undone by the destructors. With `handoff`, this process was upgraded in place
/// (self_exec.h): it takes over the state the image before it handed on instead of starting.
int run_server(const Config& config, std::optional<Handoff> handoff = std::nullopt);

}  // namespace starter
