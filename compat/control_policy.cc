// Eroutes as XFRM policies (rules and the marker in control_policy.h).
#include "compat/control_policy.h"

#include "compat/error.h"
#include "compat/kernel_match.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <sys/socket.h>

namespace compat {

namespace {

const char* direction_name(Direction dir) {
    switch (dir) {
    case Direction::in:
        return "in";
    case Direction::out:
        return "out";
    case Direction::fwd:
        return "fwd";
    case Direction::other:
        break;
    }
    return "other";
}

// Where a template's state must be: inside `place`.
Subnet first_place(const KernelPolicy& policy) {
    const KernelTemplate& t0 = policy.templates.front();
    if (t0.mode != Mode::transport)
        return Subnet{t0.dst, static_cast<std::uint8_t>(address_bits(t0.dst))};
    return policy.dst;
}

Subnet host(const Address& address) {
    return Subnet{address, static_cast<std::uint8_t>(address_bits(address))};
}

bool template_picks(const KernelTemplate& tmpl, const KernelPolicy& policy, const KernelSa& sa,
                    const Subnet& place) {
    if (sa.larval || sa.kernel_owned || sa.said.proto != tmpl.proto)
        return false;
    if (!template_matches(tmpl, policy, sa))
        return false;
    const Subnet where = tmpl.mode != Mode::transport ? host(tmpl.dst) : place;
    return subnet_contains(where, sa.said.dst);
}

} // namespace

Subnet parse_subnet(std::string_view text) {
    const auto slash = text.find('/');
    Subnet subnet;
    try {
        subnet.address = parse_address(text.substr(0, slash), 0);
    } catch (const Error& e) {
        throw Error("bad subnet \"" + std::string(text) + "\": " + e.what());
    }
    const int bits = address_bits(subnet.address);
    int len = bits;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
            len < 0 || len > bits)
            throw Error("bad subnet \"" + std::string(text) + "\": prefix length must be 0 to " +
                        std::to_string(bits));
    }
    subnet.prefix_len = static_cast<std::uint8_t>(len);
    if (masked_subnet(subnet).address != subnet.address)
        throw Error("bad subnet \"" + std::string(text) + "\": host bits set (the subnet is " +
                    format_subnet(masked_subnet(subnet)) + ")");
    return subnet;
}

Subnet masked_subnet(Subnet subnet) {
    for (int bit = subnet.prefix_len; bit < 128; ++bit)
        subnet.address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return subnet;
}

std::string format_subnet(const Subnet& subnet) {
    return format_address(subnet.address) + "/" + std::to_string(subnet.prefix_len);
}

// Byte by byte: this runs for every state a template is tried on, and a
// bit-by-bit masking of both addresses was most of a command's time.
bool subnet_contains(const Subnet& subnet, const Address& address) {
    if (subnet.address.family != address.family)
        return false;
    const int whole = subnet.prefix_len / 8;
    const int rest = subnet.prefix_len % 8;
    if (!std::equal(address.bytes.begin(), address.bytes.begin() + whole,
                    subnet.address.bytes.begin()))
        return false;
    if (rest == 0)
        return true;
    const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
    return (address.bytes[whole] & mask) == (subnet.address.bytes[whole] & mask);
}

std::uint32_t eroute_priority(const Subnet& src, const Subnet& dst) {
    return klipsfs_priority_base + 256u - src.prefix_len - dst.prefix_len;
}

bool is_klipsfs_policy(const KernelPolicy& policy) {
    if (policy.dir != Direction::out || policy.socket_policy || policy.templates.empty())
        return false;
    const bool all_named = std::all_of(policy.templates.begin(), policy.templates.end(),
                                       [](const KernelTemplate& t) { return t.spi != 0; });
    return all_named && policy.priority == eroute_priority(policy.src, policy.dst);
}

const KernelSa* find_kernel_sa(std::span<const KernelSa> sas, const Said& said) {
    for (const KernelSa& sa : sas)
        if (sa.said == said && !sa.larval && !sa.kernel_owned)
            return &sa;
    return nullptr;
}

bool KernelCaps::ipcomp(int family) const {
    return family == AF_INET6 ? ipcomp6 : ipcomp4;
}

Error no_such_sa(const Said& said, const KernelCaps& caps) {
    std::string text = format_said(said) + ": no such SA";
    if (said.proto == Proto::comp && !caps.ipcomp(said.dst.family))
        text += std::string(" (this kernel has no IPComp for ") +
                (said.dst.family == AF_INET6 ? "IPv6" : "IPv4") +
                ", so no comp SA can exist in it, and klipsfs does not yet compress in user "
                "space)";
    return Error(text, ENOENT);
}

std::optional<std::vector<Said>> chain_of(const KernelPolicy& policy,
                                          std::span<const KernelSa> sas) {
    if (policy.templates.empty())
        return std::nullopt;
    std::vector<Said> chain;
    Subnet place = first_place(policy);
    for (const KernelTemplate& tmpl : policy.templates) {
        auto it = std::find_if(sas.begin(), sas.end(), [&](const KernelSa& sa) {
            return template_picks(tmpl, policy, sa, place);
        });
        if (it == sas.end())
            return std::nullopt;
        chain.push_back(it->said);
        place = host(it->said.dst); // later transport templates use its outer addresses
    }
    return chain;
}

bool policy_uses(const KernelPolicy& policy, const KernelSa& sa) {
    if (policy.socket_policy || policy.templates.empty())
        return false;
    Subnet place = first_place(policy);
    for (const KernelTemplate& tmpl : policy.templates) {
        if (template_picks(tmpl, policy, sa, place))
            return true;
        if (tmpl.mode != Mode::transport)
            place = host(tmpl.dst);
    }
    return false;
}

std::string describe_policy(const KernelPolicy& policy) {
    std::string text = "policy ";
    text += direction_name(policy.dir);
    text += " " + format_subnet(policy.src) + " -> " + format_subnet(policy.dst);
    if (policy.index != 0)
        text += " (index " + std::to_string(policy.index) + ")";
    return text;
}

std::span<const Said> kernel_members(std::span<const Said> chain) {
    if (!chain.empty() && chain.front().proto == Proto::tun)
        return chain.subspan(1);
    return chain;
}

namespace {

// A tun SA anywhere but first, or comp without kernel IPComp: both need
// klipsfs's user-space datapath, which does not exist yet, so the eroute is
// refused rather than installed half-working.
void check_kernel_can(std::span<const Said> members, const KernelCaps& caps) {
    for (const Said& said : members) {
        if (said.proto == Proto::tun)
            throw Error(format_said(said) +
                            ": a tun SA after the first SA of a group needs user-space "
                            "IP-in-IP, which klipsfs does not have yet",
                        EOPNOTSUPP);
        if (said.proto == Proto::comp && !caps.ipcomp(said.dst.family))
            throw Error(format_said(said) +
                            ": the kernel has no IPComp, and klipsfs does not yet compress "
                            "in user space",
                        EOPNOTSUPP);
    }
}

KernelTemplate template_for(const KernelSa& sa) {
    KernelTemplate tmpl;
    tmpl.proto = sa.said.proto;
    tmpl.spi = sa.said.spi;
    tmpl.mode = sa.mode;
    tmpl.reqid = sa.reqid; // on output the kernel looks states up by reqid
    if (sa.mode != Mode::transport) {
        tmpl.dst = sa.said.dst;
        tmpl.src = sa.src;
    }
    return tmpl;
}

void check_selector(const Subnet& dst, const KernelSa& innermost) {
    if (innermost.mode != Mode::transport)
        return;
    // A transport-mode SA protects only packets addressed to its own
    // destination; any other packet of the eroute would find no state.
    if (!subnet_contains(dst, innermost.said.dst))
        throw Error(format_said(innermost.said) +
                        " is a transport-mode SA: the eroute's "
                        "destination subnet must contain " +
                        format_address(innermost.said.dst),
                    EINVAL);
}

} // namespace

KernelPolicy compile_eroute(const Subnet& src, const Subnet& dst, std::span<const Said> chain,
                            const KernelView& kernel) {
    const std::span<const Said> members = kernel_members(chain);
    if (members.empty())
        throw Error("an eroute needs at least one kernel SA", EINVAL);
    check_kernel_can(members, kernel.caps);

    std::vector<const KernelSa*> states;
    for (const Said& said : members) {
        const KernelSa* sa = find_kernel_sa(kernel.sas, said);
        if (sa == nullptr)
            throw no_such_sa(said, kernel.caps);
        states.push_back(sa);
    }
    const KernelSa& innermost = *states.front();
    if (chain.front().proto == Proto::tun && innermost.mode == Mode::transport)
        throw Error(format_said(chain.front()) + ": a tun SA before the transport-mode " +
                        format_said(innermost.said) +
                        " needs user-space IP-in-IP, which klipsfs does not have yet; "
                        "use a tunnel-mode state instead",
                    EOPNOTSUPP);
    check_selector(dst, innermost);

    KernelPolicy policy;
    policy.dir = Direction::out;
    policy.priority = eroute_priority(src, dst);
    policy.src = src;
    policy.dst = dst;
    policy.mark = innermost.mark;
    policy.if_id = innermost.if_id;
    for (const KernelSa* sa : states) {
        if (sa->mark != innermost.mark || sa->if_id != innermost.if_id)
            throw Error(format_said(sa->said) + " has another mark or if_id than " +
                            format_said(innermost.said) + ": one policy cannot select both",
                        EINVAL);
        policy.templates.push_back(template_for(*sa));
    }
    return policy;
}

} // namespace compat
