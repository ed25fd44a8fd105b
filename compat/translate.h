// From XFRM to KLIPS: the SA groups that the kernel's states and policies
// express, as ipsec_spigrp lists them.
//
// Pure code: plain values in (compat/kernel_view.h), groups out.  The rules
// are design.md's "From XFRM to groups"; how each one is read is written
// down here, because the kernel leaves some of them open.
//
// Chains.  Every policy with templates (in, out, fwd; never a per-socket
// policy) is a chain, T0 innermost.  Each template resolves to the states
// that have its protocol, mode, if_id, a mark the policy's mark selects (the
// kernel's own test: (policy mark & state mask) == state value), its reqid
// unless that is 0, its SPI unless that is 0, its source unless that is
// zero, and its destination:
//   - a tunnel (or BEET) template names its destination itself;
//   - a transport template inherits the destination of the state resolved
//     for the template before it (the kernel resolves later templates with
//     the outer addresses of the earlier ones, xfrm-netlink.md 2.1);
//   - a transport T0 has only the policy's selector: any state whose
//     destination lies inside the selector's destination subnet.
// A template with several matching states (a rekey: old and new SA both
// present) gives one chain per state, so each complete chain is listed.  A
// template that matches nothing drops the chain, unless it is optional
// (IPComp on inbound policies), which is then skipped; a skipped tunnel
// template still sets the destination for the templates after it.
//
// tun.  A tunnel-mode T0 puts a `tun` SA first, to T0's destination.  XFRM
// has no state for it, so its SPI is the one recorded when the group was made
// through the control node, and otherwise the SPI of the innermost kernel SA
// of the chain (ipsec_spigrp(5): tun.3d0 before comp.3d0).
//
// Recorded groups (made through the control node, inside to outside, tun
// SAs included) are listed when all their members other than `tun` exist as
// listed kernel states.  A chain with the same non-tun members is the same
// group: it is listed once, as recorded.
//
// Never listed: larval states, the kernel's IPIP/IPv6 helper states of
// IPComp, and states of protocols KLIPS had no SA for (only esp, ah and comp
// are).  A state in no listed group gets a line of its own.
//
// Order.  Lines compare SA by SA, each SA by (destination, protocol number,
// SPI): so lines sort by the destination of their first SA (IPv4 before
// IPv6, then by address bytes), then by the first SA (tun, esp, ah, comp),
// then by the rest.  Identical lines appear once.  Two calls with the same
// input give the same output whatever order the input had.
#pragma once

#include <span>
#include <vector>

#include "compat/kernel_view.h"
#include "compat/spigrp.h"

namespace compat {

std::vector<SaGroup> groups_from(std::span<const KernelSa> states,
                                 std::span<const KernelPolicy> policies,
                                 std::span<const SaGroup> recorded);

// The order of lines described above, for callers that merge listings.
bool line_before(const SaGroup& a, const SaGroup& b);

} // namespace compat
