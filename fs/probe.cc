// probe_kernel(): /proc/net/xfrm_stat, /sys/module and modules.builtin.
#include "fs/probe.h"

#include <fstream>
#include <sys/utsname.h>
#include <unistd.h>

namespace fs {

namespace {

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string builtin_list() {
    utsname names{};
    if (uname(&names) != 0)
        return {};
    std::ifstream in(std::string("/lib/modules/") + names.release + "/modules.builtin");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string module_state(const std::string& name, const std::string& builtin) {
    if (builtin.find("/" + name + ".ko") != std::string::npos)
        return "built in";
    if (exists("/sys/module/" + name))
        return "loaded";
    return "not loaded";  // nor known to be built in
}

} // namespace

std::string probe_kernel() {
    std::string line = "XFRM ";
    line += exists("/proc/net/xfrm_stat") ? "yes" : "no (no /proc/net/xfrm_stat)";
    const std::string builtin = builtin_list();
    // xfrm_user is not probed: the mirror's first dump has just proved it.
    const char* modules[] = {"esp4", "ah4",     "ipcomp",      "xfrm4_tunnel",
                             "esp6", "ah6", "ipcomp6", "xfrm6_tunnel"};
    const char* separator = "; ";
    for (const char* name : modules) {
        line += separator + std::string(name) + " " + module_state(name, builtin);
        separator = ", ";
    }
    return line;
}

} // namespace fs
