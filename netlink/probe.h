// netlink::probe_state_kinds: which kinds of XFRM state the running kernel
// can hold, found by trying them rather than by guessing from module lists.
//
// A short-lived thread enters a network namespace of its own (unshare), adds
// one ESP, AH and IPComp state per address family there, and looks for the
// IP-in-IP helper state that a tunnel-mode IPComp state brings.  The
// namespace goes with the thread's socket, so no namespace anyone uses ever
// sees a probe state.  Adding a state makes the kernel load the module for
// it when it can, so "no" means the kernel cannot, not that a module was not
// loaded yet.  Needs CAP_SYS_ADMIN (for unshare) and CAP_NET_ADMIN; without
// them every answer is unknown, with the reason.
#pragma once

#include <optional>
#include <string>

namespace netlink {

struct StateKindSupport {
    std::optional<bool> supported; // nullopt: the probe could not tell
    std::string reason;            // why not, or why unknown (the kernel's text)
};

struct StateSupport {
    StateKindSupport esp4, ah4, ipcomp4, ipip4;
    StateKindSupport esp6, ah6, ipcomp6, ipip6;
};

StateSupport probe_state_kinds();

} // namespace netlink
