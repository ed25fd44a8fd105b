// fs::probe_kernel: what the running kernel offers for IPsec, for the
// start-up log and the control node.  The kinds of state come from
// netlink::probe_state_kinds (states tried in a namespace of the probe's
// own, see netlink/probe.h), so they say what the kernel can do, modules it
// would load on demand included.
#pragma once

#include "compat/control_policy.h"
#include "netlink/probe.h"

#include <string>

namespace fs {

struct KernelSupport {
    bool xfrm = false; // /proc/net/xfrm_stat
    netlink::StateSupport states;

    // What the control node may count on; an unknown answer counts as yes,
    // so that a probe that could not run refuses nothing.
    compat::KernelCaps caps() const;
    // One line, e.g. "XFRM yes; IPv4: esp yes, ah yes, ipcomp no, ip-in-ip
    // unknown; IPv6: ...".
    std::string describe() const;
    // What klipsfs cannot do for lack of it ("" when nothing is missing).
    std::string consequences() const;
};

KernelSupport probe_kernel();

} // namespace fs
