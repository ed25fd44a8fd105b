// The daemon's control sink, and the capability check the node relies on.
//
// The control language (issue 6) is not part of klipsfs yet, so
// make_control_sink() returns no sink and ipsec/control is not served.  The
// control language replaces the body of make_control_sink() with its own
// sink; nothing else in fs/ needs to change.
#include "fs/control_sink.h"

#include <cstdint>
#include <fstream>
#include <linux/capability.h>
#include <string>

namespace fs {

bool has_net_admin(pid_t pid) {
    if (pid <= 0)
        return false;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapEff:", 0) != 0)
            continue;
        const std::uint64_t effective = std::stoull(line.substr(7), nullptr, 16);
        return (effective >> CAP_NET_ADMIN) & 1;
    }
    return false;
}

std::unique_ptr<ControlSink> make_control_sink(const ControlContext&) { return nullptr; }

} // namespace fs
