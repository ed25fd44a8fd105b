// groups_from: resolve policy chains against states (rules in translate.h).
//
// States are indexed once, sorted by (protocol, destination), so that a
// template's candidates are one equal range, and a transport T0's subnet is
// one contiguous range of that order.  That keeps a listing of 10,000
// groups to a few sort passes.
#include "compat/translate.h"

#include "compat/kernel_match.h"

#include <algorithm>
#include <cstring>
#include <endian.h>
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

Address masked(Address address, int prefix_len) {
    const int whole = prefix_len / 8;
    if (whole >= 16)
        return address;
    if (const int bits = prefix_len % 8)
        address.bytes[whole] &= static_cast<std::uint8_t>(0xff00u >> bits);
    std::fill(address.bytes.begin() + whole + (prefix_len % 8 ? 1 : 0), address.bytes.end(), 0);
    return address;
}

// Address order (family, then bytes) without memcmp calls: sorting tens of
// thousands of SAs is most of a listing's cost.
std::pair<std::uint64_t, std::uint64_t> address_words(const Address& address) {
    std::uint64_t high, low;
    std::memcpy(&high, address.bytes.data(), 8);
    std::memcpy(&low, address.bytes.data() + 8, 8);
    return {be64toh(high), be64toh(low)};
}

std::strong_ordering compare(const Address& a, const Address& b) {
    if (a.family != b.family)
        return a.family <=> b.family;
    return address_words(a) <=> address_words(b);
}

bool said_before(const Said& a, const Said& b) {
    if (const auto order = compare(a.dst, b.dst); order != 0)
        return order < 0;
    return std::tie(a.proto, a.spi) < std::tie(b.proto, b.spi);
}

// Where a template's state must be: an address and how many leading bits of
// it count (all of them, except for a transport T0 that has only a subnet).
struct Place {
    Address address;
    int prefix_len = 0;
};

// An index key: protocol, then destination (family, then bytes), packed
// into words so that sorting and searching compare integers, not objects
// reached through pointers (sorting tens of thousands of SAs is most of a
// listing's cost).
struct IndexKey {
    std::uint32_t proto_family = 0; // proto << 16 | family
    std::uint64_t high = 0;
    std::uint64_t low = 0;

    auto operator<=>(const IndexKey&) const = default;
};

IndexKey index_key(Proto proto, const Address& dst) {
    const auto [high, low] = address_words(dst);
    return {static_cast<std::uint32_t>(static_cast<std::uint8_t>(proto)) << 16 |
                static_cast<std::uint16_t>(dst.family),
            high, low};
}

// The listable states, sorted by (protocol, destination) for range lookups.
class StateIndex {
public:
    explicit StateIndex(std::span<const KernelSa> states) {
        std::vector<Entry> entries;
        entries.reserve(states.size());
        for (const KernelSa& sa : states)
            if (is_listable(sa))
                entries.push_back({index_key(sa.said.proto, sa.said.dst), &sa});
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.key < b.key; });
        keys_.reserve(entries.size());
        sorted_.reserve(entries.size());
        for (const Entry& entry : entries) {
            keys_.push_back(entry.key);
            sorted_.push_back(entry.sa);
        }
    }

    // Calls `each(state, position)` for every state of `proto` whose
    // destination is in `place`; position indexes all().
    template <typename Each> void for_each_at(Proto proto, const Place& place, Each each) const {
        const Address start = masked(place.address, place.prefix_len);
        const IndexKey first = index_key(proto, start);
        const bool exact = place.prefix_len >= address_bits(start);
        auto it = std::lower_bound(keys_.begin(), keys_.end(), first);
        for (; it != keys_.end(); ++it) {
            if (exact ? *it != first : it->proto_family != first.proto_family)
                break;
            const auto position = static_cast<std::size_t>(it - keys_.begin());
            const KernelSa& sa = *sorted_[position];
            if (!exact && compare(masked(sa.said.dst, place.prefix_len), start) != 0)
                break;
            each(sa, position);
        }
    }

    std::span<const KernelSa* const> all() const { return sorted_; }

private:
    struct Entry {
        IndexKey key;
        const KernelSa* sa;
    };

    std::vector<IndexKey> keys_;
    std::vector<const KernelSa*> sorted_;
};

// A chain found for a policy: its SAIDs, a leading tun included.
struct Chain {
    std::vector<Said> sas;
};

// Walks one policy's templates depth first, emitting every complete chain.
class ChainWalker {
public:
    // grouped[position] is set for each kernel SA of a chain found.
    ChainWalker(const StateIndex& index, const KernelPolicy& policy, std::vector<Chain>& out,
                std::vector<bool>& grouped)
        : index_(index), policy_(policy), out_(out), grouped_(grouped) {}

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
        index_.for_each_at(tmpl.proto, here, [&](const KernelSa& sa, std::size_t position) {
            if (!template_matches(tmpl, policy_, sa))
                return;
            resolved = true;
            members_.push_back(position);
            step(i + 1, Place{sa.said.dst, address_bits(sa.said.dst)});
            members_.pop_back();
        });
        if (!resolved && tmpl.optional)
            step(i + 1, here);
    }

    void emit() {
        if (members_.empty())
            return;
        Chain chain;
        const auto all = index_.all();
        const KernelTemplate& first = policy_.templates.front();
        chain.sas.reserve(members_.size() + 1);
        if (first.mode == Mode::tunnel)
            chain.sas.push_back(Said{Proto::tun, all[members_.front()]->said.spi, first.dst});
        for (std::size_t position : members_) {
            chain.sas.push_back(all[position]->said);
            grouped_[position] = true;
        }
        out_.push_back(std::move(chain));
    }

    const StateIndex& index_;
    const KernelPolicy& policy_;
    std::vector<Chain>& out_;
    std::vector<bool>& grouped_;
    std::vector<std::size_t> members_;
};

std::vector<Said> kernel_members(std::span<const Said> sas) {
    std::vector<Said> members;
    for (const Said& said : sas)
        if (said.proto != Proto::tun)
            members.push_back(said);
    return members;
}

std::vector<Chain> chains_of(const StateIndex& index, std::span<const KernelPolicy> policies,
                             std::vector<bool>& grouped) {
    std::vector<Chain> chains;
    chains.reserve(policies.size());
    for (const KernelPolicy& policy : policies) {
        if (policy.socket_policy || policy.dir == Direction::other || policy.templates.empty())
            continue;
        ChainWalker(index, policy, chains, grouped).walk();
    }
    return chains;
}

// Recorded groups whose kernel members all exist, and those members, so
// that a chain with the same members can be recognised as the same group.
struct Recorded {
    std::vector<SaGroup> listed;
    std::set<std::vector<Said>> members;
};

Recorded complete_recorded(const StateIndex& index, std::span<const SaGroup> recorded) {
    Recorded out;
    if (recorded.empty())
        return out;
    std::vector<Said> present;
    for (const KernelSa* sa : index.all())
        present.push_back(sa->said);
    std::sort(present.begin(), present.end());
    for (const SaGroup& group : recorded) {
        std::vector<Said> members = kernel_members(group.sas);
        const bool complete =
            !members.empty() && std::all_of(members.begin(), members.end(), [&](const Said& s) {
                return std::binary_search(present.begin(), present.end(), s);
            });
        if (!complete)
            continue;
        out.listed.push_back(group);
        out.members.insert(std::move(members));
    }
    return out;
}

} // namespace

bool line_before(const SaGroup& a, const SaGroup& b) {
    return std::lexicographical_compare(a.sas.begin(), a.sas.end(), b.sas.begin(), b.sas.end(),
                                        said_before);
}

namespace {

// The order of said_before for a line's first SAID, packed into words.
struct LineKey {
    int family = 0;
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    std::uint64_t proto_spi = 0;

    auto operator<=>(const LineKey&) const = default;
};

LineKey line_key(const SaGroup& line) {
    if (line.sas.empty())
        return {};
    const Said& said = line.sas.front();
    const auto [high, low] = address_words(said.dst);
    return {said.dst.family, high, low,
            static_cast<std::uint64_t>(static_cast<std::uint8_t>(said.proto)) << 32 | said.spi};
}

// Sorts by line_before: by the first SAID's packed key, and by the whole
// line only where the first SAIDs are equal.
void sort_lines(std::vector<SaGroup>& lines) {
    struct Keyed {
        LineKey key;
        std::size_t index;
    };
    std::vector<Keyed> keyed;
    keyed.reserve(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i)
        keyed.push_back({line_key(lines[i]), i});
    std::sort(keyed.begin(), keyed.end(), [&](const Keyed& a, const Keyed& b) {
        if (const auto order = a.key <=> b.key; order != 0)
            return order < 0;
        return line_before(lines[a.index], lines[b.index]);
    });
    std::vector<SaGroup> sorted;
    sorted.reserve(lines.size());
    for (const Keyed& k : keyed)
        sorted.push_back(std::move(lines[k.index]));
    lines = std::move(sorted);
}

} // namespace

std::vector<SaGroup> groups_from(std::span<const KernelSa> states,
                                 std::span<const KernelPolicy> policies,
                                 std::span<const SaGroup> recorded) {
    const StateIndex index(states);
    Recorded known = complete_recorded(index, recorded);
    std::vector<SaGroup> lines = std::move(known.listed);
    std::vector<bool> grouped(index.all().size(), false);
    std::set<Said> grouped_elsewhere; // kernel members of recorded groups
    for (const SaGroup& line : lines)
        grouped_elsewhere.insert(line.sas.begin(), line.sas.end());

    for (Chain& chain : chains_of(index, policies, grouped)) {
        if (known.members.empty() || !known.members.count(kernel_members(chain.sas)))
            lines.push_back(SaGroup{std::move(chain.sas)});
    }

    const auto all = index.all();
    for (std::size_t position = 0; position < all.size(); ++position)
        if (!grouped[position] && !grouped_elsewhere.count(all[position]->said))
            lines.push_back(SaGroup{{all[position]->said}});

    sort_lines(lines);
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    return lines;
}

} // namespace compat
