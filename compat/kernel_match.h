// How the kernel matches an XFRM state to a policy's template, as far as the
// KLIPS model needs it: one definition for the listing (translate.cc) and the
// control node (control_policy.cc), so that both resolve chains alike.
#pragma once

#include "compat/kernel_view.h"

namespace compat {

// 32 for IPv4, 128 for IPv6.
int address_bits(const Address& address);

bool is_zero(const Address& address);

// The kernel's rule: the policy's mark, masked by both masks, equals the
// state's (already masked) value.
bool mark_selects(const Mark& policy, const Mark& state);

// Whether `sa` may carry `tmpl` of `policy`, apart from the protocol and
// where its destination is, which callers check with their own indexes:
// mode, if_id and mark; reqid and SPI when the template names them (0 is
// any); the source address of a tunnel-mode template when it has one.
bool template_matches(const KernelTemplate& tmpl, const KernelPolicy& policy,
                      const KernelSa& sa);

} // namespace compat
