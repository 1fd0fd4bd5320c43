#include "status_detail.h"

#include <optional>

#include "number.h"
#include "record_text.h"
#include "status_format.h"

namespace starter {

namespace {

constexpr std::string_view kMagic = "start_server-detail 1";

bool parse_ms(std::string_view text, long long& out) {
  std::optional<long long> ms = parse_integer<long long>(text);
  if (ms) out = *ms;
  return ms.has_value();
}

bool parse_int(std::string_view text, int& out) {
  std::optional<int> value = parse_integer<int>(text, 0, 1000000000);
  if (value) out = *value;
  return value.has_value();
}

bool parse_outcome(std::string_view text, ReloadOutcome& out) {
  for (auto o : {ReloadOutcome::kInProgress, ReloadOutcome::kOk, ReloadOutcome::kFailed})
    if (text == outcome_name(o)) {
      out = o;
      return true;
    }
  return false;
}

bool parse_limits(const std::vector<std::string_view>& fields, StatusDetail::Limits& limits) {
  for (std::size_t i = 1; i < fields.size(); ++i) {
    std::size_t eq = fields[i].find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view name = fields[i].substr(0, eq), value = fields[i].substr(eq + 1);
    long long* ms = name == "interval"                ? &limits.interval_ms
                    : name == "ready_timeout"         ? &limits.ready_timeout_ms
                    : name == "drain_timeout"         ? &limits.drain_timeout_ms
                    : name == "backoff_max"           ? &limits.backoff_max_ms
                    : name == "kill_old_delay"        ? &limits.kill_old_delay_ms
                    : name == "auto_restart_interval" ? &limits.auto_restart_interval_ms
                                                      : nullptr;
    if (ms && !parse_ms(value, *ms)) return false;
    if (name == "ready" && !unescape_field(value, limits.ready)) return false;
    if (name == "respawn_release" && !unescape_field(value, limits.respawn_release)) return false;
  }
  return true;
}

/// One record into `detail`; false when it is malformed. Unknown records are fine.
bool parse_record(const std::vector<std::string_view>& f, StatusDetail& detail) {
  std::string_view name = f[0];
  auto text = [&](std::size_t i, std::string& out) {
    return i < f.size() && unescape_field(f[i], out);
  };
  if (name == "pid") return f.size() >= 2 && parse_pid(f[1], detail.pid);
  if (name == "version") return text(1, detail.version);
  if (name == "started") return f.size() >= 2 && parse_ms(f[1], detail.started_ms);
  if (name == "phase") return text(1, detail.phase);
  if (name == "listener") {
    StatusDetail::Listener l;
    if (f.size() < 3 || !text(1, l.key) || !parse_int(f[2], l.fd)) return false;
    detail.listeners.push_back(std::move(l));
    return true;
  }
  if (name == "generation") {
    StatusDetail::Generation g;
    if (f.size() < 6 || !parse_number(f[1], g.generation) || !parse_pid(f[2], g.pid) ||
        !text(3, g.state) || !parse_ms(f[4], g.spawned_ms) || !text(5, g.release))
      return false;
    detail.generations.push_back(std::move(g));
    return true;
  }
  if (name == "reload") {
    StatusDetail::Reload r;
    if (f.size() < 5 || !parse_number(f[1], r.generation) || !parse_outcome(f[2], r.outcome) ||
        !parse_ms(f[3], r.at_ms) || !text(4, r.reason))
      return false;
    detail.last_reload = std::move(r);
    return true;
  }
  if (name == "backoff") {
    StatusDetail::Backoff b;
    if (f.size() < 3 || !parse_number(f[1], b.failures) || !parse_ms(f[2], b.next_attempt_ms))
      return false;
    detail.backoff = b;
    return true;
  }
  if (name == "limits") return parse_limits(f, detail.limits);
  if (name == "image") return text(1, detail.image);
  if (name == "upgrade") {
    StatusDetail::Upgrade u;
    if (f.size() < 6 || !parse_number(f[1], u.number) || !parse_outcome(f[2], u.outcome) ||
        !parse_ms(f[3], u.at_ms) || !parse_ms(f[4], u.took_us) || !text(5, u.reason))
      return false;
    detail.last_upgrade = std::move(u);
    return true;
  }
  return true;
}

}  // namespace

std::string_view outcome_name(ReloadOutcome outcome) {
  switch (outcome) {
    case ReloadOutcome::kInProgress:
      return "in-progress";
    case ReloadOutcome::kOk:
      return "ok";
    case ReloadOutcome::kFailed:
      return "failed";
  }
  return "in-progress";
}

std::string format_detail(const StatusDetail& d) {
  auto n = [](auto value) { return std::to_string(value); };
  std::string out = std::string(kMagic) + "\n";
  out += "pid\t" + n(d.pid) + "\n";
  out += "version\t" + escape_field(d.version) + "\n";
  out += "started\t" + n(d.started_ms) + "\n";
  out += "phase\t" + escape_field(d.phase) + "\n";
  for (const auto& l : d.listeners)
    out += "listener\t" + escape_field(l.key) + "\t" + n(l.fd) + "\n";
  for (const auto& g : d.generations)
    out += "generation\t" + n(g.generation) + "\t" + n(g.pid) + "\t" + escape_field(g.state) +
           "\t" + n(g.spawned_ms) + "\t" + escape_field(g.release) + "\n";
  if (const auto& r = d.last_reload)
    out += "reload\t" + n(r->generation) + "\t" + std::string(outcome_name(r->outcome)) + "\t" +
           n(r->at_ms) + "\t" + escape_field(r->reason) + "\n";
  if (const auto& b = d.backoff)
    out += "backoff\t" + n(b->failures) + "\t" + n(b->next_attempt_ms) + "\n";
  const auto& l = d.limits;
  out += "limits\tinterval=" + n(l.interval_ms) + "\tready=" + escape_field(l.ready) +
         "\tready_timeout=" + n(l.ready_timeout_ms) + "\tdrain_timeout=" + n(l.drain_timeout_ms) +
         "\tbackoff_max=" + n(l.backoff_max_ms) + "\tkill_old_delay=" + n(l.kill_old_delay_ms) +
         "\tauto_restart_interval=" + n(l.auto_restart_interval_ms) +
         "\trespawn_release=" + escape_field(l.respawn_release) + "\n";
  if (!d.image.empty()) out += "image\t" + escape_field(d.image) + "\n";
  if (const auto& u = d.last_upgrade)
    out += "upgrade\t" + n(u->number) + "\t" + std::string(outcome_name(u->outcome)) + "\t" +
           n(u->at_ms) + "\t" + n(u->took_us) + "\t" + escape_field(u->reason) + "\n";
  return out;
}

std::optional<StatusDetail> parse_detail(std::string_view text) {
  std::size_t nl = text.find('\n');
  if (nl == std::string_view::npos || text.substr(0, nl) != kMagic) return std::nullopt;
  text.remove_prefix(nl + 1);
  StatusDetail detail;
  while (!text.empty()) {
    nl = text.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;  // cut short: not a whole file
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (!line.empty() && !parse_record(split_fields(line, '\t'), detail)) return std::nullopt;
  }
  if (detail.pid == 0) return std::nullopt;
  return detail;
}

}  // namespace starter
