// systemd's fd store: the names listeners are stored under (reversible, within systemd's
// FDNAME rules) and, at the next start, which stored listeners are used again and which are
// released, with the reason the log line gives.

#include "fd_store_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace starter {
namespace {

// systemd's rule for FDNAME= (sd_notify(3)): ASCII without control characters or ':', at
// most 255 characters.
bool systemd_accepts(const std::string& name) {
  if (name.size() > 255) return false;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == ':') return false;
  }
  return true;
}

TEST(FdStoreName, DocumentedExamples) {
  EXPECT_EQ(fd_store_name("8080"), "start_server/8080");
  EXPECT_EQ(fd_store_name("127.0.0.1:8080"), "start_server/127.0.0.1%3A8080");
  EXPECT_EQ(fd_store_name("[::1]:8080"), "start_server/[%3A%3A1]%3A8080");
  EXPECT_EQ(fd_store_name("/run/app.sock"), "start_server//run/app.sock");
}

TEST(FdStoreName, EveryByteRoundTripsWithinSystemdsRules) {
  std::string key;
  for (int c = 1; c < 256; ++c) key += static_cast<char>(c);
  key += '%';
  // In pieces short enough to store even when every byte needs an escape (80 at most).
  for (const std::string& k : {key.substr(0, 64), key.substr(64, 64), key.substr(128, 64),
                               key.substr(192), std::string("a%25b"), std::string()}) {
    auto name = fd_store_name(k);
    ASSERT_TRUE(name) << k;
    EXPECT_TRUE(systemd_accepts(*name)) << *name;
    EXPECT_TRUE(is_fd_store_name(*name));
    EXPECT_EQ(key_of_fd_store_name(*name), k);
  }
}

TEST(FdStoreName, TooLongIsNotStored) {
  // 80 escaped bytes (240 characters) and the 13 of the prefix fit; one more does not.
  EXPECT_TRUE(fd_store_name(std::string(80, ':')));
  EXPECT_FALSE(fd_store_name(std::string(81, ':')));
  EXPECT_TRUE(fd_store_name(std::string(255 - 13, 'a')));
  EXPECT_FALSE(fd_store_name(std::string(256 - 13, 'a')));
}

TEST(FdStoreName, OnlyWhatFdStoreNameWritesIsOurs) {
  for (const char* name : {"myapp.socket", "stored", "", "start_server", "Start_server/8080"}) {
    EXPECT_FALSE(is_fd_store_name(name)) << name;
    EXPECT_FALSE(key_of_fd_store_name(name)) << name;
  }
  // Ours by prefix, but nothing fd_store_name would write: refused, so released at start.
  for (const char* name : {"start_server/a%", "start_server/a%3", "start_server/%3a",
                           "start_server/%41", "start_server/%G0", "start_server/a b\x7f"}) {
    EXPECT_TRUE(is_fd_store_name(name)) << name;
    EXPECT_FALSE(key_of_fd_store_name(name)) << name;
  }
  EXPECT_EQ(key_of_fd_store_name("start_server/a b"), "a b");
  EXPECT_EQ(key_of_fd_store_name("start_server/"), "");
}

TEST(FdStoreVariable, PlainDecimalOnly) {
  EXPECT_EQ(parse_fd_store_variable("16"), 16u);
  EXPECT_EQ(parse_fd_store_variable("0"), 0u);
  for (const char* bad : {"", "-1", "+3", " 4", "4 ", "0x10", "1e3", "9999999999"})
    EXPECT_FALSE(parse_fd_store_variable(bad)) << bad;
}

// The address match of listeners.cc, reduced to what these cases need: same kind, same port
// and the same host text, a bare port also matching "0.0.0.0".
bool same_address(const ListenSpec& spec, const ListenSpec& bound) {
  if (spec.kind == ListenSpec::Kind::kUnix || bound.kind == ListenSpec::Kind::kUnix)
    return spec.kind == bound.kind && spec.path == bound.path;
  return spec.port == bound.port &&
         (spec.host == bound.host || (spec.host.empty() && bound.host == "0.0.0.0"));
}

StoredSocket stored(const std::string& spec_text, bool stream = true) {
  ListenSpec address = spec_text.front() == '/' ? parse_path(spec_text) : parse_port(spec_text);
  return {*fd_store_name(address.key()), address, stream, true};
}

std::vector<ListenSpec> ports(std::initializer_list<const char*> values) {
  std::vector<ListenSpec> out;
  for (const char* v : values) out.push_back(v[0] == '/' ? parse_path(v) : parse_port(v));
  return out;
}

TEST(PlanStoredSockets, EachSpecGetsItsStoredSocketBack) {
  auto specs = ports({"8080", "127.0.0.1:8081", "/run/a.sock"});
  auto verdicts = plan_stored_sockets(
      specs, {}, {stored("/run/a.sock"), stored("8080"), stored("127.0.0.1:8081")}, same_address);
  EXPECT_EQ(verdicts, (std::vector<StoredVerdict>{{2, ""}, {0, ""}, {1, ""}}));
}

TEST(PlanStoredSockets, MatchedByAddressNotByKey) {
  // Stored as "0.0.0.0:8080" (say, an older command line); --port=8080 binds the same address.
  StoredSocket s = stored("0.0.0.0:8080");
  EXPECT_EQ(plan_stored_sockets(ports({"8080"}), {}, {s}, same_address),
            (std::vector<StoredVerdict>{{0, ""}}));
}

TEST(PlanStoredSockets, OneTheCommandLineNoLongerNamesIsReleased) {
  auto verdicts =
      plan_stored_sockets(ports({"8080"}), {}, {stored("8080"), stored("9090")}, same_address);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0], (StoredVerdict{0, ""}));
  EXPECT_FALSE(verdicts[1].spec);
  EXPECT_EQ(verdicts[1].reason, "no --port or --path names a stream socket there now");
}

TEST(PlanStoredSockets, AnotherSocketTypeIsReleased) {
  // --port=8080 was UDP (u8080) when it was stored, and is TCP now.
  auto verdicts = plan_stored_sockets(ports({"8080"}), {}, {stored("u8080", false)}, same_address);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_FALSE(verdicts[0].spec);
  EXPECT_EQ(verdicts[0].reason, "no --port or --path names a datagram socket there now");
}

TEST(PlanStoredSockets, SocketUnitComesFirst) {
  auto verdicts = plan_stored_sockets(ports({"8080", "8081"}), {true},
                                      {stored("8080"), stored("8081")}, same_address);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_FALSE(verdicts[0].spec);
  EXPECT_EQ(verdicts[0].reason, "a socket unit's socket serves that address now");
  EXPECT_EQ(verdicts[1], (StoredVerdict{1, ""}));
}

TEST(PlanStoredSockets, OneStoredSocketPerSpec) {
  auto verdicts = plan_stored_sockets(ports({"8080"}), {}, {stored("8080"), stored("0.0.0.0:8080")},
                                      same_address);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0], (StoredVerdict{0, ""}));
  EXPECT_FALSE(verdicts[1].spec);
  EXPECT_EQ(verdicts[1].reason, "another stored socket serves that address");
}

TEST(PlanStoredSockets, UnixSocketWhoseFileIsGoneIsBoundAnew) {
  StoredSocket s = stored("/run/app/a.sock");
  s.path_present = false;
  auto verdicts = plan_stored_sockets(ports({"/run/app/a.sock"}), {}, {s}, same_address);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_FALSE(verdicts[0].spec);
  EXPECT_EQ(verdicts[0].reason, "its socket file is gone; binding '/run/app/a.sock' anew");
}

TEST(PlanStoredSockets, WhatIsNotOurSocketIsReleased) {
  StoredSocket not_socket{"start_server/8080", std::nullopt, true, true};
  StoredSocket bad_name = stored("8080");
  bad_name.name = "start_server/8080%";
  auto verdicts = plan_stored_sockets(ports({"8080"}), {}, {not_socket, bad_name}, same_address);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].reason, "it is not a socket start_server can hand on");
  EXPECT_EQ(verdicts[1].reason, "its name is not one start_server gives");
  EXPECT_FALSE(verdicts[0].spec || verdicts[1].spec);
}

TEST(PlanStoredSockets, NothingStoredNothingToDo) {
  EXPECT_TRUE(plan_stored_sockets(ports({"8080"}), {}, {}, same_address).empty());
}

}  // namespace
}  // namespace starter
