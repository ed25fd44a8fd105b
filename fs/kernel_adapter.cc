// netlink::XfrmState/XfrmPolicy to compat::KernelSa/KernelPolicy.
#include "fs/kernel_adapter.h"

#include <sys/socket.h>

namespace fs {

namespace {

compat::Address address_of(const netlink::Address& address, int family) {
    compat::Address out;
    out.family = family;
    out.bytes = address.bytes;
    return out;
}

compat::Mode mode_of(netlink::Mode mode) {
    switch (mode) {
    case netlink::Mode::transport: return compat::Mode::transport;
    case netlink::Mode::tunnel: return compat::Mode::tunnel;
    default: return compat::Mode::other;
    }
}

compat::Direction direction_of(netlink::Direction dir) {
    switch (dir) {
    case netlink::Direction::in: return compat::Direction::in;
    case netlink::Direction::out: return compat::Direction::out;
    case netlink::Direction::fwd: return compat::Direction::fwd;
    default: return compat::Direction::other;
    }
}

compat::Mark mark_of(const netlink::Mark& mark) { return compat::Mark{mark.value, mark.mask}; }

compat::KernelTemplate template_of(const netlink::Template& tmpl, int policy_family) {
    // A template's family is the outer one; 0 means the policy's own.
    const int family = tmpl.family != 0 ? tmpl.family : policy_family;
    compat::KernelTemplate out;
    out.proto = static_cast<compat::Proto>(tmpl.proto);
    out.spi = tmpl.spi;
    out.dst = address_of(tmpl.daddr, family);
    out.src = address_of(tmpl.saddr, family);
    out.mode = mode_of(tmpl.mode);
    out.reqid = tmpl.reqid;
    out.optional = tmpl.optional;
    return out;
}

} // namespace

compat::KernelSa to_kernel_sa(const netlink::XfrmState& state) {
    compat::KernelSa sa;
    sa.said.proto = static_cast<compat::Proto>(state.id.proto);
    sa.said.spi = state.id.spi;
    sa.said.dst = address_of(state.id.daddr, state.id.family);
    sa.src = address_of(state.saddr, state.id.family);
    sa.mode = mode_of(state.mode);
    sa.reqid = state.reqid;
    sa.mark = mark_of(state.mark);
    sa.if_id = state.if_id;
    sa.larval = state.is_larval();
    sa.kernel_owned = state.is_kernel_tunnel();
    return sa;
}

compat::KernelPolicy to_kernel_policy(const netlink::XfrmPolicy& policy) {
    const netlink::Selector& sel = policy.selector;
    compat::KernelPolicy out;
    out.dir = direction_of(policy.dir);
    out.index = policy.index;
    out.priority = policy.priority;
    out.src = compat::Subnet{address_of(sel.saddr, sel.family), sel.prefixlen_s};
    out.dst = compat::Subnet{address_of(sel.daddr, sel.family), sel.prefixlen_d};
    out.upper_proto = sel.proto;
    out.mark = mark_of(policy.mark);
    out.if_id = policy.if_id;
    out.socket_policy = policy.is_socket_policy();
    out.templates.reserve(policy.templates.size());
    for (const netlink::Template& tmpl : policy.templates)
        out.templates.push_back(template_of(tmpl, sel.family));
    return out;
}

KernelView kernel_view_of(const netlink::Snapshot& snapshot) {
    KernelView view;
    view.states.reserve(snapshot.states().size());
    for (const netlink::XfrmState& state : snapshot.states())
        view.states.push_back(to_kernel_sa(state));
    view.policies.reserve(snapshot.policies().size());
    for (const netlink::XfrmPolicy& policy : snapshot.policies())
        view.policies.push_back(to_kernel_policy(policy));
    return view;
}

} // namespace fs
