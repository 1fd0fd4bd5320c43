#pragma once
/// sd_notify(3) written out, as a worker without libsystemd (Python's, Go's) does it: the one
/// sender of notification datagrams for the fake worker and for tests that speak for a
/// worker (a forged READY=1, garbage, descriptors passed along).

#include <string>
#include <string_view>
#include <vector>

namespace starter::testing_support {

/// Sends `message` as one datagram to `socket`, a NOTIFY_SOCKET value ("/path" or
/// "@abstract"), with `fds` attached as SCM_RIGHTS when there are any. Returns "" when it was
/// sent, else why not (strerror, or the bad socket name).
std::string send_notify(std::string_view socket, std::string_view message,
                        const std::vector<int>& fds = {});

}  // namespace starter::testing_support
