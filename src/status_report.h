#pragma once
/// What `start_server --status` prints, from the daemon's detail file (status_detail.h).
/// Pure: the caller passes the clocks. `now_ms` is CLOCK_MONOTONIC (the detail file's clock),
/// `unix_now_ms` the wall clock, which turns monotonic times into dates.
///
/// The JSON form, one object on one line (fields may be added, never renamed or dropped):
///
///     {"pid": 4242, "uptime_seconds": 3600.5, "version": "0.1.0", "phase": "serving",
///      "listeners": [{"key": "8080", "fd": 3}],
///      "generations": [{"generation": 2, "pid": 4250, "state": "serving",
///                       "age_seconds": 120.2, "release": "/srv/app/releases/2"}],
///      "last_reload": {"generation": 3, "outcome": "failed", "at": "2026-11-28T10:20:00Z",
///                      "reason": "generation 3 exited with status 1 before it was up"},
///      "backoff": null,
///      "limits": {"interval": 1, "ready": "interval", "ready_timeout": 60,
///                 "drain_timeout": 0, "backoff_max": 60, "kill_old_delay": 0,
///                 "auto_restart_interval": null, "respawn_release": "serving"},
///      "image": {"path": "/usr/bin/start_server", "version": "0.1.0"},
///      "upgrades": 2,
///      "last_upgrade": {"number": 2, "outcome": "ok", "reason": null,
///                       "at": "2026-11-28T10:25:00Z", "took_ms": 8.612}}
///
/// generations: every live one, increasing; state "starting" (on probation), "serving" or
/// "retiring" (signalled, draining, or killed); release null when unknown. last_reload: null
/// before the first reload; outcome "in-progress", "ok" or "failed"; reason null unless
/// failed; at: when it ended (or began, in progress), ISO 8601 UTC. backoff: null unless a
/// start is scheduled after failures or a crash: {"failures": N, "next_attempt_in_seconds": S}.
/// limits in seconds; auto_restart_interval null without --enable-auto-restart. image: the
/// program this pid runs now (an upgrade in place changes it, never the pid); path null when
/// unknown. upgrades: how many upgrades in place (SIGUSR2, --upgrade) this pid has tried, the
/// failed ones included; last_upgrade null before the first; took_ms from SIGUSR2 to the new
/// image supervising, null while in progress; reason null unless failed.

#include <string>

#include "status_detail.h"

namespace starter {

std::string status_json(const StatusDetail& detail, long long now_ms, long long unix_now_ms);
/// The short table for people.
std::string status_table(const StatusDetail& detail, long long now_ms, long long unix_now_ms);

/// "1.5s", "2m03s", "3h04m", "5d06h".
std::string describe_duration(long long ms);
/// ISO 8601 UTC to the second, e.g. "2026-11-28T10:20:00Z".
std::string iso8601_utc(long long unix_ms);

}  // namespace starter
