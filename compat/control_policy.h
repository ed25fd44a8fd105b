// Eroutes as XFRM policies: what the control node installs, and how klipsfs
// knows its own policies again when it reads the kernel back.
//
// Pure code.  The kernel's states and policies come in as a KernelView; a
// bound eroute goes out as a KernelPolicy for fs/ to install with netlink.
//
// The marker.  A policy is klipsfs's own when it is an outbound, non-socket
// policy whose every template names an SPI and whose priority is
//     klipsfs_priority_base + (256 - source prefix length - destination
//                              prefix length)
// i.e. 0x6b6c0000 ("kl") plus a number from 0 to 256.  The low part keeps
// KLIPS's "the most specific eroute wins" (XFRM picks the lowest priority);
// the high part is a value no IKE daemon or ip-xfrm default uses, and the
// exact arithmetic makes a chance collision unlikely.  Priority is the one
// field that changes neither the selector nor which states match, so the
// marker costs nothing in behaviour.  Limit: a policy that another program
// installs with exactly this priority is taken for klipsfs's own.
#pragma once

#include "compat/error.h"
#include "compat/kernel_view.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace compat {

// What the kernel can do itself (from fs/ at start-up).
struct KernelCaps {
    bool ipcomp4 = true; // CONFIG_INET_IPCOMP
    bool ipcomp6 = true; // CONFIG_INET6_IPCOMP

    bool ipcomp(int family) const;
};

// The kernel's state as the control node sees it: plain values, no queries.
struct KernelView {
    std::span<const KernelSa> sas;
    std::span<const KernelPolicy> policies;
    KernelCaps caps;
};

// Subnet text, "10.0.1.0/24" or "3049:1::/64"; an address alone is a host.
// Parsing throws compat::Error (EINVAL) with a message naming the text.
Subnet parse_subnet(std::string_view text);
std::string format_subnet(const Subnet& subnet);
// The subnet with its host bits cleared.
Subnet masked_subnet(Subnet subnet);
bool subnet_contains(const Subnet& subnet, const Address& address);

inline constexpr std::uint32_t klipsfs_priority_base = 0x6b6c0000;

// The priority klipsfs gives the eroute src -> dst (see the marker above).
std::uint32_t eroute_priority(const Subnet& src, const Subnet& dst);

bool is_klipsfs_policy(const KernelPolicy& policy);

// The usable kernel state `said` names (larval and kernel-owned states are
// not), or nullptr.
const KernelSa* find_kernel_sa(std::span<const KernelSa> sas, const Said& said);

// ENOENT "SAID: no such SA", saying why when the kernel cannot hold such an
// SA at all (a comp SA on a kernel without IPComp).
Error no_such_sa(const Said& said, const KernelCaps& caps);

// The SAs a klipsfs policy's templates name, T0 first, or nothing when a
// template names no existing state.
std::optional<std::vector<Said>> chain_of(const KernelPolicy& policy,
                                          std::span<const KernelSa> sas);

// Whether a template of `policy` can pick the state `sa` (same rules as
// translate.h: protocol, mode, if_id, mark, reqid, SPI, source and place).
bool policy_uses(const KernelPolicy& policy, const KernelSa& sa);

// "policy out 10.0.1.0/24 -> 10.0.2.0/24 (index 8)", for messages.
std::string describe_policy(const KernelPolicy& policy);

// Compiles the eroute src -> dst through `chain` (a group, inside to
// outside; a leading tun allowed) into the outbound policy to install.
// Throws compat::Error: EOPNOTSUPP when the chain needs a user-space step
// (tun before a transport-mode state, tun after the first SA, comp without
// kernel IPComp), ENOENT when a member has gone, EINVAL when the selector
// cannot match the chain.
KernelPolicy compile_eroute(const Subnet& src, const Subnet& dst, std::span<const Said> chain,
                            const KernelView& kernel);

// `chain` without its leading tun SA, if any: the SAs the templates name.
std::span<const Said> kernel_members(std::span<const Said> chain);

} // namespace compat
