#include "fd_store_plan.h"

#include "quote.h"

namespace starter {

namespace {

constexpr std::string_view kPrefix = "start_server/";
constexpr char kHex[] = "0123456789ABCDEF";

bool needs_escape(unsigned char c) { return c == '%' || c == ':' || c < 0x20 || c >= 0x7f; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not what fd_store_name writes
}

std::string kind_of(const ListenSpec& spec, bool stream) {
  if (spec.kind == ListenSpec::Kind::kUnix) return stream ? "unix stream" : "unix datagram";
  return stream ? "stream" : "datagram";
}

}  // namespace

std::optional<std::string> fd_store_name(std::string_view key) {
  std::string name(kPrefix);
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if (needs_escape(c)) {
      name += '%';
      name += kHex[c >> 4];
      name += kHex[c & 0xf];
    } else {
      name += ch;
    }
  }
  if (name.size() > kMaxFdNameLength) return std::nullopt;
  return name;
}

std::optional<unsigned> parse_fd_store_variable(std::string_view value) {
  if (value.empty() || value.size() > 9) return std::nullopt;  // systemd's limit is far below 10^9
  unsigned n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

bool is_fd_store_name(std::string_view name) { return name.starts_with(kPrefix); }

std::optional<std::string> key_of_fd_store_name(std::string_view name) {
  if (!is_fd_store_name(name) || name.size() > kMaxFdNameLength) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  std::string key;
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c != '%') {
      if (needs_escape(c)) return std::nullopt;
      key += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;  // a '%' without two digits
    int hi = hex_value(name[i + 1]), lo = hex_value(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    auto decoded = static_cast<unsigned char>(hi << 4 | lo);
    if (!needs_escape(decoded)) return std::nullopt;  // one key, one name
    key += static_cast<char>(decoded);
    i += 2;
  }
  return key;
}

std::vector<StoredVerdict> plan_stored_sockets(const std::vector<ListenSpec>& specs,
                                               const std::vector<bool>& claimed,
                                               const std::vector<StoredSocket>& stored,
                                               const AddressMatch& names) {
  std::vector<bool> taken(specs.size(), false);
  for (std::size_t i = 0; i < specs.size() && i < claimed.size(); ++i) taken[i] = claimed[i];
  std::vector<StoredVerdict> out;
  for (const auto& socket : stored) {
    if (!key_of_fd_store_name(socket.name)) {
      out.push_back({std::nullopt, "its name is not one start_server gives"});
      continue;
    }
    if (!socket.address) {
      out.push_back({std::nullopt, "it is not a socket start_server can hand on"});
      continue;
    }
    const ListenSpec& bound = *socket.address;
    std::optional<std::size_t> match;
    bool served_by_unit = false, served_by_stored = false;
    for (std::size_t i = 0; i < specs.size() && !match; ++i) {
      if (specs[i].is_stream() != socket.stream || !names(specs[i], bound)) continue;
      if (!taken[i])
        match = i;
      else if (i < claimed.size() && claimed[i])
        served_by_unit = true;
      else
        served_by_stored = true;
    }
    if (match && bound.kind == ListenSpec::Kind::kUnix && !socket.path_present) {
      out.push_back(
          {std::nullopt, "its socket file is gone; binding " + quote(bound.path) + " anew"});
      continue;
    }
    if (match) {
      taken[*match] = true;
      out.push_back({match, {}});
    } else if (served_by_unit) {
      out.push_back({std::nullopt, "a socket unit's socket serves that address now"});
    } else if (served_by_stored) {
      out.push_back({std::nullopt, "another stored socket serves that address"});
    } else {
      out.push_back({std::nullopt, "no --port or --path names a " + kind_of(bound, socket.stream) +
                                       " socket there now"});
    }
  }
  return out;
}

}  // namespace starter
