#pragma once
/// The network side of the integration tests: one request to a listener (TCP, unix or UDP)
/// as a client would make it, bounded, and what the fake worker answers.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common.h"

namespace itest {

/// Connects to "127.0.0.1:PORT", "[::1]:PORT" or a unix socket path (0.0.0.0 and [::] are
/// mapped to loopback), sends `send` (if any) and reads until EOF. Returns the reply, or
/// "ERROR: ..." on failure.
std::string request(const std::string& addr, Millis timeout = 3s, std::string_view send = {});
/// Sends one datagram and returns the first reply, or "ERROR: ...".
std::string udp_request(const std::string& addr, Millis timeout = 3s);
/// "G:P\n", what the fake worker answers.
std::string reply_of(int gen, pid_t pid);

/// The port number of "127.0.0.1:34567" / "[::1]:34567".
int port_of(const std::string& addr);
bool ipv6_available();

}  // namespace itest

#define SKIP_WITHOUT_IPV6()                                                \
  do {                                                                     \
    if (!::itest::ipv6_available())                                        \
      GTEST_SKIP() << "IPv6 loopback [::1] is not available on this host"; \
  } while (0)
