// The daemon's control sink, and the capability check the node relies on.
//
// make_control_sink() hands out fs::ControlService (fs/control_service.h),
// which carries compat's control language out on the kernel.
#include "fs/control_sink.h"
#include "fs/control_service.h"

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

std::unique_ptr<ControlSink> make_control_sink(const ControlContext& context) {
    return std::make_unique<ControlService>(context);
}

} // namespace fs
