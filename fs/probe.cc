// probe_kernel(): /proc/net/xfrm_stat and netlink::probe_state_kinds.
#include "fs/probe.h"

#include <unistd.h>

namespace fs {

namespace {

std::string answer(const netlink::StateKindSupport& kind) {
    if (!kind.supported)
        return "unknown";
    return *kind.supported ? "yes" : "no";
}

bool lacks(const netlink::StateKindSupport& kind) {
    return kind.supported == false;
}

} // namespace

compat::KernelCaps KernelSupport::caps() const {
    compat::KernelCaps caps;
    caps.ipcomp4 = !lacks(states.ipcomp4);
    caps.ipcomp6 = !lacks(states.ipcomp6);
    return caps;
}

std::string KernelSupport::describe() const {
    const netlink::StateSupport& s = states;
    std::string line = std::string("XFRM ") + (xfrm ? "yes" : "no (no /proc/net/xfrm_stat)");
    line += "; IPv4: esp " + answer(s.esp4) + ", ah " + answer(s.ah4) + ", ipcomp " +
            answer(s.ipcomp4) + ", ip-in-ip " + answer(s.ipip4);
    line += "; IPv6: esp " + answer(s.esp6) + ", ah " + answer(s.ah6) + ", ipcomp " +
            answer(s.ipcomp6) + ", ip-in-ip " + answer(s.ipip6);
    // The first reason for an unknown answer says why the probe could not tell.
    for (const auto* kind :
         {&s.esp4, &s.ah4, &s.ipcomp4, &s.ipip4, &s.esp6, &s.ah6, &s.ipcomp6, &s.ipip6})
        if (!kind->supported) {
            line += " (unknown: " + kind->reason + ")";
            break;
        }
    return line;
}

std::string KernelSupport::consequences() const {
    std::string missing;
    auto note = [&](bool absent, const char* what) {
        if (absent)
            missing += std::string(missing.empty() ? "" : ", ") + what;
    };
    note(lacks(states.esp4) || lacks(states.esp6), "ESP");
    note(lacks(states.ah4) || lacks(states.ah6), "AH");
    note(lacks(states.ipcomp4) || lacks(states.ipcomp6), "IPComp");
    note(lacks(states.ipip4) || lacks(states.ipip6), "IP-in-IP helper");
    if (missing.empty())
        return {};
    return "the kernel cannot hold " + missing +
           " states (for IPv4 or IPv6, see above); klipsfs does not yet do IPComp or "
           "IP-in-IP in user space, so groups that need what is missing are refused";
}

KernelSupport probe_kernel() {
    KernelSupport support;
    support.xfrm = access("/proc/net/xfrm_stat", F_OK) == 0;
    support.states = netlink::probe_state_kinds();
    return support;
}

} // namespace fs
