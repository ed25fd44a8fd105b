// groups_from: resolve policy chains against states (rules in translate.h).
//
// States are indexed once, sorted by (protocol, destination), so that a
// template's candidates are one equal range, and a transport T0's subnet is
// one contiguous range of that order.  That keeps a listing of 10,000
// groups to a few sort passes.
#include "compat/translate.h"

#include <algorithm>
#include <set>
#include <sys/socket.h>
#include <tuple>

namespace compat {

namespace {

bool is_listable(const KernelSa& sa) {
    if (sa.larval || sa.kernel_owned)
        return false;
    const Proto proto = sa.said.proto;
    return proto == Proto::esp || proto == Proto::ah || proto == Proto::comp;
}

int address_bits(const Address& address) {
    return address.family == AF_INET6 ? 128 : 32;
}

bool is_zero(const Address& address) {
    return std::all_of(address.bytes.begin(), address.bytes.end(),
                       [](std::uint8_t byte) { return byte == 0; });
}

Address masked(Address address, int prefix_len) {
    for (int bit = prefix_len; bit < 128; ++bit)
        address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return address;
}

bool said_before(const Said& a, const Said& b) {
    return std::tie(a.dst, a.proto, a.spi) < std::tie(b.dst, b.proto, b.spi);
}

// Where a template's state must be: an address and how many leading bits of
// it count (all of them, except for a transport T0 that has only a subnet).
struct Place {
    Address address;
    int prefix_len = 0;
};

// The listable states, sorted by (protocol, destination) for range lookups.
class StateIndex {
public:
    explicit StateIndex(std::span<const KernelSa> states) {
        for (const KernelSa& sa : states)
            if (is_listable(sa))
                sorted_.push_back(&sa);
        std::sort(sorted_.begin(), sorted_.end(), [](const KernelSa* a, const KernelSa* b) {
            return key(*a) < key(*b);
        });
    }

    // Calls `each` for every state of `proto` whose destination is in `place`.
    template <typename Each> void for_each_at(Proto proto, const Place& place, Each each) const {
        const Address start = masked(place.address, place.prefix_len);
        auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::tie(proto, start),
                                   [](const KernelSa* sa, const auto& wanted) {
                                       return key(*sa) < wanted;
                                   });
        for (; it != sorted_.end(); ++it) {
            const KernelSa& sa = **it;
            if (sa.said.proto != proto || sa.said.dst.family != start.family ||
                masked(sa.said.dst, place.prefix_len) != start)
                break;
            each(sa);
        }
    }

    std::span<const KernelSa* const> all() const { return sorted_; }

private:
    static std::tuple<const Proto&, const Address&> key(const KernelSa& sa) {
        return std::tie(sa.said.proto, sa.said.dst);
    }

    std::vector<const KernelSa*> sorted_;
};

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
    if (tmpl.mode != Mode::transport && !is_zero(tmpl.src) && sa.src != tmpl.src)
        return false;
    return true;
}

// Walks one policy's templates depth first, emitting every complete chain.
class ChainWalker {
public:
    ChainWalker(const StateIndex& index, const KernelPolicy& policy,
                std::vector<std::vector<Said>>& out)
        : index_(index), policy_(policy), out_(out) {}

    void walk() {
        const auto& first = policy_.templates.front();
        Place start{policy_.dst.address, policy_.dst.prefix_len};
        if (first.mode != Mode::transport)
            start = Place{first.dst, address_bits(first.dst)};
        step(0, start);
    }

private:
    void step(std::size_t i, const Place& place) {
        if (i == policy_.templates.size()) {
            emit();
            return;
        }
        const KernelTemplate& tmpl = policy_.templates[i];
        const Place here = tmpl.mode == Mode::transport || i == 0
                               ? place
                               : Place{tmpl.dst, address_bits(tmpl.dst)};
        bool resolved = false;
        index_.for_each_at(tmpl.proto, here, [&](const KernelSa& sa) {
            if (!template_matches(tmpl, policy_, sa))
                return;
            resolved = true;
            chain_.push_back(sa.said);
            step(i + 1, Place{sa.said.dst, address_bits(sa.said.dst)});
            chain_.pop_back();
        });
        if (!resolved && tmpl.optional)
            step(i + 1, here);
    }

    void emit() {
        if (chain_.empty())
            return;
        std::vector<Said> line;
        const KernelTemplate& first = policy_.templates.front();
        if (first.mode == Mode::tunnel)
            line.push_back(Said{Proto::tun, chain_.front().spi, first.dst});
        line.insert(line.end(), chain_.begin(), chain_.end());
        out_.push_back(std::move(line));
    }

    const StateIndex& index_;
    const KernelPolicy& policy_;
    std::vector<std::vector<Said>>& out_;
    std::vector<Said> chain_;
};

std::vector<Said> kernel_members(std::span<const Said> sas) {
    std::vector<Said> members;
    for (const Said& said : sas)
        if (said.proto != Proto::tun)
            members.push_back(said);
    return members;
}

std::vector<std::vector<Said>> chains_of(const StateIndex& index,
                                         std::span<const KernelPolicy> policies) {
    std::vector<std::vector<Said>> chains;
    for (const KernelPolicy& policy : policies) {
        if (policy.socket_policy || policy.dir == Direction::other || policy.templates.empty())
            continue;
        ChainWalker(index, policy, chains).walk();
    }
    return chains;
}

} // namespace

bool line_before(const SaGroup& a, const SaGroup& b) {
    return std::lexicographical_compare(a.sas.begin(), a.sas.end(), b.sas.begin(), b.sas.end(),
                                        said_before);
}

std::vector<SaGroup> groups_from(std::span<const KernelSa> states,
                                 std::span<const KernelPolicy> policies,
                                 std::span<const SaGroup> recorded) {
    const StateIndex index(states);
    std::set<Said> present;
    for (const KernelSa* sa : index.all())
        present.insert(sa->said);

    std::vector<SaGroup> lines;
    std::set<std::vector<Said>> recorded_members;
    for (const SaGroup& group : recorded) {
        std::vector<Said> members = kernel_members(group.sas);
        const bool complete = !members.empty() && std::all_of(members.begin(), members.end(),
                                                              [&](const Said& said) {
                                                                  return present.count(said) > 0;
                                                              });
        if (!complete)
            continue;
        lines.push_back(group);
        recorded_members.insert(std::move(members));
    }

    for (std::vector<Said>& chain : chains_of(index, policies))
        if (!recorded_members.count(kernel_members(chain)))
            lines.push_back(SaGroup{std::move(chain)});

    std::set<Said> grouped;
    for (const SaGroup& line : lines)
        grouped.insert(line.sas.begin(), line.sas.end());
    for (const Said& said : present)
        if (!grouped.count(said))
            lines.push_back(SaGroup{{said}});

    std::sort(lines.begin(), lines.end(), line_before);
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    return lines;
}

} // namespace compat
