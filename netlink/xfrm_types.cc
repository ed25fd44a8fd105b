// Helpers of the typed XFRM values: address text, short descriptions.
#include "netlink/xfrm_types.h"

#include "netlink/error.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <netinet/in.h>

namespace netlink {

bool Address::is_zero() const {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string to_string(const Address& address, int family) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (family == AF_INET || family == AF_INET6)
        inet_ntop(family, address.bytes.data(), text, sizeof text);
    return text;
}

Address parse_address(const std::string& text, int* family) {
    Address address;
    int af = text.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (inet_pton(af, text.c_str(), address.bytes.data()) != 1)
        throw Error(EINVAL, "not an IP address: '" + text + "'");
    if (family)
        *family = af;
    return address;
}

bool XfrmState::is_larval() const {
    bool ipsec = id.proto == IPPROTO_ESP || id.proto == IPPROTO_AH || id.proto == IPPROTO_COMP;
    return ipsec && (!details || !details->has_algorithms());
}

LifetimeConfig XfrmState::lifetime() const {
    LifetimeConfig l = details ? details->lifetime : LifetimeConfig{};
    // The details hold the time limits only when they did not fit here.
    if (l.soft_add_expires_seconds == 0 && l.hard_add_expires_seconds == 0 &&
        l.soft_use_expires_seconds == 0 && l.hard_use_expires_seconds == 0) {
        l.soft_add_expires_seconds = expires[0];
        l.hard_add_expires_seconds = expires[1];
        l.soft_use_expires_seconds = expires[2];
        l.hard_use_expires_seconds = expires[3];
    }
    return l;
}

PolicyId PolicyId::of(const XfrmPolicy& policy) {
    PolicyId id;
    id.selector = policy.selector;
    id.dir = policy.dir;
    id.index = policy.index;
    id.mark = policy.mark;
    id.if_id = policy.if_id;
    id.type = policy.type;
    id.security_context = policy.security_context;
    return id;
}

namespace {

std::string proto_name(int proto) {
    switch (proto) {
    case IPPROTO_ESP:
        return "esp";
    case IPPROTO_AH:
        return "ah";
    case IPPROTO_COMP:
        return "comp";
    case IPPROTO_IPIP:
        return "ipip";
    case IPPROTO_IPV6:
        return "ipv6";
    default:
        return "proto " + std::to_string(proto);
    }
}

const char* dir_name(Direction dir) {
    static const char* const names[] = {"in",        "out",        "fwd",
                                        "socket in", "socket out", "socket fwd"};
    auto n = static_cast<unsigned>(dir);
    return n < 6 ? names[n] : "dir ?";
}

std::string describe_selector(const Selector& sel) {
    int family = sel.family ? sel.family : AF_INET;
    return to_string(sel.saddr, family) + "/" + std::to_string(sel.prefixlen_s) + " -> " +
           to_string(sel.daddr, family) + "/" + std::to_string(sel.prefixlen_d);
}

} // namespace

std::string describe(const StateId& id) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%x", id.spi);
    return proto_name(id.proto) + " spi " + spi + " dst " + to_string(id.daddr, id.family);
}

std::string describe(const XfrmState& state) {
    return describe(state.id) + " src " + to_string(state.saddr, state.id.family);
}

std::string describe(const PolicyId& id) {
    std::string text = std::string("policy ") + dir_name(id.dir);
    if (id.index)
        return text + " index " + std::to_string(id.index);
    return text + " " + describe_selector(id.selector);
}

std::string describe(const XfrmPolicy& policy) {
    return describe(PolicyId::of(policy));
}

} // namespace netlink
