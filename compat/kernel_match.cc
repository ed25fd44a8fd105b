// State-to-template matching shared by the listing and the control node.
#include "compat/kernel_match.h"

#include <algorithm>
#include <sys/socket.h>

namespace compat {

int address_bits(const Address& address) {
    return address.family == AF_INET6 ? 128 : 32;
}

bool is_zero(const Address& address) {
    return std::all_of(address.bytes.begin(), address.bytes.end(),
                       [](std::uint8_t byte) { return byte == 0; });
}

bool mark_selects(const Mark& policy, const Mark& state) {
    return (policy.value & policy.mask & state.mask) == state.value;
}

bool template_matches(const KernelTemplate& tmpl, const KernelPolicy& policy,
                      const KernelSa& sa) {
    if (sa.mode != tmpl.mode || sa.if_id != policy.if_id || !mark_selects(policy.mark, sa.mark))
        return false;
    if (tmpl.reqid != 0 && sa.reqid != tmpl.reqid)
        return false;
    if (tmpl.spi != 0 && sa.said.spi != tmpl.spi)
        return false;
    return tmpl.mode == Mode::transport || is_zero(tmpl.src) || sa.src == tmpl.src;
}

} // namespace compat
