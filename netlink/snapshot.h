// netlink::Snapshot: the mirror's contents at one moment, immutable.
//
// Consumers hold a std::shared_ptr<const Snapshot> for as long as they like
// (the FS keeps one per open file); the mirror goes on changing its own copy.
// Snapshots share unchanged chunks with the mirror and with each other.
#pragma once

#include "netlink/table.h"
#include "netlink/xfrm_types.h"

#include <cstddef>
#include <cstdint>

namespace netlink {

// States are keyed by (id, mark): the kernel's own lookup key.  Larval
// states with SPI 0 can share an id, so for them saddr and reqid join in.
struct StateKeyTraits {
    static std::size_t hash(const XfrmState& state);
    static bool same_key(const XfrmState& a, const XfrmState& b);
};

// Policies are keyed by the index the kernel gives each one.
struct PolicyKeyTraits {
    static std::size_t hash(const XfrmPolicy& policy);
    static bool same_key(const XfrmPolicy& a, const XfrmPolicy& b);
};

using StateTable = Table<XfrmState, StateKeyTraits>;
using PolicyTable = Table<XfrmPolicy, PolicyKeyTraits>;

class Snapshot {
public:
    Snapshot() = default;
    Snapshot(std::uint64_t generation, StateTable states, PolicyTable policies)
        : generation_(generation), states_(std::move(states)), policies_(std::move(policies)) {}

    // Grows by at least one with every change the mirror applies.
    std::uint64_t generation() const { return generation_; }

    // Iterable: for (const XfrmState& s : snapshot->states()) ...  No order.
    const StateTable& states() const { return states_; }
    const PolicyTable& policies() const { return policies_; }

    // The state with this id and mark; nullptr if none.
    const XfrmState* find(const StateId& id, const Mark& mark) const;
    // A state with this id, whatever its mark.  When several states share
    // the id and differ in mark, which one is returned is unspecified: use
    // the two-argument form where marks matter.
    const XfrmState* find(const StateId& id) const;
    const XfrmPolicy* find_policy(std::uint32_t index) const;

private:
    std::uint64_t generation_ = 0;
    StateTable states_;
    PolicyTable policies_;
};

} // namespace netlink
