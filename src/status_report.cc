#include "status_report.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "json.h"

namespace starter {

namespace {

std::string n(long long value) { return std::to_string(value); }

/// The wall-clock time of monotonic `ms`.
long long unix_of(long long ms, long long now_ms, long long unix_now_ms) {
  return unix_now_ms - (now_ms - ms);
}

std::string limits_json(const StatusDetail::Limits& l) {
  return "{\"interval\":" + json_seconds(l.interval_ms) + ",\"ready\":" + json_string(l.ready) +
         ",\"ready_timeout\":" + json_seconds(l.ready_timeout_ms) +
         ",\"drain_timeout\":" + json_seconds(l.drain_timeout_ms) +
         ",\"backoff_max\":" + json_seconds(l.backoff_max_ms) +
         ",\"kill_old_delay\":" + json_seconds(l.kill_old_delay_ms) +
         ",\"auto_restart_interval\":" +
         (l.auto_restart_interval_ms ? json_seconds(l.auto_restart_interval_ms)
                                     : std::string("null")) +
         ",\"respawn_release\":" + json_string(l.respawn_release) + "}";
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.resize(width, ' ');
  return text;
}

}  // namespace

std::string describe_duration(long long ms) {
  if (ms < 0) ms = 0;
  long long s = ms / 1000;
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lld.%llds", s, (ms % 1000) / 100);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

std::string iso8601_utc(long long unix_ms) {
  time_t t = static_cast<time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  struct tm tm {};
  char buf[40] = "";
  if (::gmtime_r(&t, &tm)) ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string status_json(const StatusDetail& d, long long now_ms, long long unix_now_ms) {
  std::string out = "{\"pid\":" + n(d.pid) +
                    ",\"uptime_seconds\":" + json_seconds(now_ms - d.started_ms) +
                    ",\"version\":" + json_string(d.version) +
                    ",\"phase\":" + json_string(d.phase) + ",\"listeners\":[";
  for (std::size_t i = 0; i < d.listeners.size(); ++i)
    out += std::string(i ? "," : "") + "{\"key\":" + json_string(d.listeners[i].key) +
           ",\"fd\":" + n(d.listeners[i].fd) + "}";
  out += "],\"generations\":[";
  for (std::size_t i = 0; i < d.generations.size(); ++i) {
    const auto& g = d.generations[i];
    out += std::string(i ? "," : "") + "{\"generation\":" + std::to_string(g.generation) +
           ",\"pid\":" + n(g.pid) + ",\"state\":" + json_string(g.state) +
           ",\"age_seconds\":" + json_seconds(now_ms - g.spawned_ms) +
           ",\"release\":" + json_string_or_null(g.release) + "}";
  }
  out += "],\"last_reload\":";
  if (const auto& r = d.last_reload)
    out += "{\"generation\":" + std::to_string(r->generation) +
           ",\"outcome\":" + json_string(outcome_name(r->outcome)) +
           ",\"reason\":" + json_string_or_null(r->reason) +
           ",\"at\":" + json_string(iso8601_utc(unix_of(r->at_ms, now_ms, unix_now_ms))) + "}";
  else
    out += "null";
  out += ",\"backoff\":";
  if (const auto& b = d.backoff)
    out += "{\"failures\":" + std::to_string(b->failures) + ",\"next_attempt_in_seconds\":" +
           json_seconds(std::max(0LL, b->next_attempt_ms - now_ms)) + "}";
  else
    out += "null";
  out += ",\"limits\":" + limits_json(d.limits) + ",\"image\":";
  // The image this pid runs now: an upgrade in place changes it, the pid stays.
  out += "{\"path\":" + json_string_or_null(d.image) +
         ",\"version\":" + json_string_or_null(d.version) + "}";
  out += ",\"upgrades\":" + std::to_string(d.last_upgrade ? d.last_upgrade->number : 0) +
         ",\"last_upgrade\":";
  if (const auto& u = d.last_upgrade)
    out += "{\"number\":" + std::to_string(u->number) +
           ",\"outcome\":" + json_string(outcome_name(u->outcome)) +
           ",\"reason\":" + json_string_or_null(u->reason) +
           ",\"at\":" + json_string(iso8601_utc(unix_of(u->at_ms, now_ms, unix_now_ms))) +
           // json_seconds turns thousandths into units: microseconds into milliseconds.
           ",\"took_ms\":" +
           (u->outcome == ReloadOutcome::kInProgress ? std::string("null")
                                                     : json_seconds(u->took_us)) +
           "}";
  else
    out += "null";
  return out + "}\n";
}

std::string status_table(const StatusDetail& d, long long now_ms, long long unix_now_ms) {
  std::string out = "start_server " + d.version + ", pid " + n(d.pid) + ", up " +
                    describe_duration(now_ms - d.started_ms) + ", " + d.phase + "\n";
  std::string listeners;
  for (const auto& l : d.listeners)
    listeners += (listeners.empty() ? "" : ", ") + l.key + " (fd " + n(l.fd) + ")";
  out += "listeners:    " + (listeners.empty() ? std::string("none") : listeners) + "\n";
  if (d.generations.empty()) {
    out += "generations:  none\n";
  } else {
    out += "generation  pid       state     age       release\n";
    for (const auto& g : d.generations)
      out += pad(std::to_string(g.generation), 12) + pad(n(g.pid), 10) + pad(g.state, 10) +
             pad(describe_duration(now_ms - g.spawned_ms), 10) +
             (g.release.empty() ? "-" : g.release) + "\n";
  }
  out += "last reload:  ";
  if (const auto& r = d.last_reload) {
    long long at = unix_of(r->at_ms, now_ms, unix_now_ms);
    out += "generation " + std::to_string(r->generation) + " " +
           std::string(outcome_name(r->outcome)) + " at " + iso8601_utc(at) + " (" +
           describe_duration(now_ms - r->at_ms) + " ago)" +
           (r->reason.empty() ? "" : ": " + r->reason) + "\n";
  } else {
    out += "none\n";
  }
  out += "back-off:     ";
  if (const auto& b = d.backoff)
    out +=
        (b->failures ? std::to_string(b->failures) + " failed start(s) in a row, next attempt in "
                     : std::string("a worker died, next start in ")) +
        describe_duration(std::max(0LL, b->next_attempt_ms - now_ms)) + "\n";
  else
    out += "none\n";
  const auto& l = d.limits;
  out += "limits:       interval " + json_seconds(l.interval_ms) + "s, ready " + l.ready +
         ", ready-timeout " + json_seconds(l.ready_timeout_ms) + "s, drain-timeout " +
         (l.drain_timeout_ms ? json_seconds(l.drain_timeout_ms) + "s" : std::string("never")) +
         ", backoff-max " + json_seconds(l.backoff_max_ms) + "s, kill-old-delay " +
         json_seconds(l.kill_old_delay_ms) + "s, auto-restart " +
         (l.auto_restart_interval_ms ? "every " + json_seconds(l.auto_restart_interval_ms) + "s"
                                     : std::string("off")) +
         ", respawn-release " + l.respawn_release + "\n";
  out += "image:        " + (d.image.empty() ? std::string("unknown") : d.image) +
         " (start_server " + d.version + ")\n";
  out += "last upgrade: ";
  if (const auto& u = d.last_upgrade) {
    long long at = unix_of(u->at_ms, now_ms, unix_now_ms);
    out +=
        "upgrade " + std::to_string(u->number) + " " + std::string(outcome_name(u->outcome)) +
        " at " + iso8601_utc(at) + " (" + describe_duration(now_ms - u->at_ms) + " ago)" +
        (u->outcome == ReloadOutcome::kInProgress ? std::string()
                                                  : ", took " + json_seconds(u->took_us) + " ms") +
        (u->reason.empty() ? "" : ": " + u->reason) + "\n";
  } else {
    out += "none\n";
  }
  return out;
}

}  // namespace starter
