// GroupBook: the SA groups made through the control node, with KLIPS's
// pairwise linking rules (design.md "The control node", klips-text.md 5.4).
//
// Pure code: the kernel's states and policies come in as a KernelView on
// every call; nothing is queried.  A GroupBook is a plain value: a command
// works on a copy, and the daemon keeps the copy only once the kernel
// changes that go with it have been made.  Copies share their groups until
// one of them changes (copy on write), so a copy costs nothing and only a
// change costs time in proportion to the number of groups; find() uses an
// index by SA.
//
// What a group is here: 2 to 6 SAs with one destination, inside to outside.
// Its members are kernel states, except `tun` SAs, which XFRM does not have:
// naming a tun SA in a link creates it as a user-space SA of the group, and
// it lives exactly as long as the group (dissolving forgets it).
//
// Which groups may change: a group with an eroute bound to it may not (unbind
// first: its policies name the members), and SAs that a policy made by other
// software uses may not be linked or unlinked at all (EBUSY naming it).
#pragma once

#include "compat/control_policy.h"
#include "compat/spigrp.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace compat {

inline constexpr std::size_t max_group_size = 6; // XFRM_MAX_DEPTH templates

class GroupBook {
public:
    GroupBook() = default;
    explicit GroupBook(std::vector<SaGroup> groups);

    std::span<const SaGroup> groups() const;

    // The group `said` is a member of, or nullptr.
    const SaGroup* find(const Said& said) const;

    // Links chain[0] -> chain[1] -> ... as N-1 KLIPS pairwise links, all or
    // nothing.  Throws compat::Error (ENOENT, EEXIST, EBUSY, EINVAL) and then
    // changes nothing.
    void link(std::span<const Said> chain, const KernelView& kernel);

    // Dissolves the whole group that `member` belongs to and returns it;
    // nothing (and no error) when `member` is an SA in no group.  Throws
    // ENOENT for an unknown SA, EBUSY for a bound or foreign group.
    std::optional<SaGroup> dissolve(const Said& member, const KernelView& kernel);

    // Removes and returns the groups a kernel member of which no longer
    // exists (deleted by other software: KLIPS dissolved such groups too).
    std::vector<SaGroup> drop_vanished(std::span<const KernelSa> sas);

    friend bool operator==(const GroupBook& a, const GroupBook& b) {
        return std::equal(a.groups().begin(), a.groups().end(), b.groups().begin(),
                          b.groups().end());
    }

private:
    void link_pair(const Said& inner, const Said& outer, const KernelView& kernel);
    // The groups, no longer shared with any copy, for a change.
    std::vector<SaGroup>& edit();

    std::shared_ptr<std::vector<SaGroup>> groups_; // null: no groups
};

// The klipsfs policies (eroutes) that send traffic through exactly `group`.
std::vector<const KernelPolicy*> eroutes_of(const SaGroup& group, const KernelView& kernel);

// A policy that other software made and that uses `said`, or nullptr.  For a
// tun SA: a foreign policy whose tunnel-mode T0 the listing shows as it.
const KernelPolicy* foreign_user(const Said& said, const KernelView& kernel);

} // namespace compat
