// GroupBook: pairwise linking, dissolving, vanished members (see header).
#include "compat/control_groups.h"

#include "compat/error.h"

#include <algorithm>
#include <cerrno>

namespace compat {

namespace {

std::string said_text(const Said& said) {
    return format_said(said);
}

bool exists(const Said& said, const KernelView& kernel) {
    return said.proto == Proto::tun || find_kernel_sa(kernel.sas, said) != nullptr;
}

void check_not_foreign(const Said& said, const KernelView& kernel) {
    if (const KernelPolicy* policy = foreign_user(said, kernel))
        throw Error(said_text(said) + " is used by " + describe_policy(*policy) +
                        ", which klipsfs did not make; change it with the software that did",
                    EBUSY);
}

void check_unbound(const SaGroup* group, const KernelView& kernel) {
    if (group == nullptr)
        return;
    const auto eroutes = eroutes_of(*group, kernel);
    if (!eroutes.empty())
        throw Error("the group of " + said_text(group->sas.front()) + " is bound to the eroute " +
                        format_subnet(eroutes.front()->src) + " -> " +
                        format_subnet(eroutes.front()->dst) + "; unbind it first",
                    EBUSY);
}

void check_linkable(const Said& inner, const Said& outer, const KernelView& kernel) {
    for (const Said& said : {inner, outer}) {
        if (said.proto == Proto::int_)
            throw Error(said_text(said) + ": KLIPS's magic SAs cannot be grouped", EINVAL);
        if (!exists(said, kernel))
            throw no_such_sa(said, kernel.caps);
    }
    if (inner == outer)
        throw Error(said_text(inner) + " cannot be linked to itself", EEXIST);
    if (inner.dst != outer.dst)
        throw Error(said_text(inner) + " and " + said_text(outer) +
                        " have different destinations; a group has one",
                    EINVAL);
    check_not_foreign(inner, kernel);
    check_not_foreign(outer, kernel);
}

} // namespace

GroupBook::GroupBook(std::vector<SaGroup> groups) {
    if (!groups.empty())
        groups_ = std::make_shared<std::vector<SaGroup>>(std::move(groups));
}

std::span<const SaGroup> GroupBook::groups() const {
    if (!groups_)
        return {};
    return *groups_;
}

std::vector<SaGroup>& GroupBook::edit() {
    if (!groups_)
        groups_ = std::make_shared<std::vector<SaGroup>>();
    else if (groups_.use_count() > 1)
        groups_ = std::make_shared<std::vector<SaGroup>>(*groups_);
    return *groups_;
}

const SaGroup* GroupBook::find(const Said& said) const {
    for (const SaGroup& group : groups())
        if (std::find(group.sas.begin(), group.sas.end(), said) != group.sas.end())
            return &group;
    return nullptr;
}

void GroupBook::link(std::span<const Said> chain, const KernelView& kernel) {
    if (chain.size() < 2)
        throw Error("a link needs at least two SAs", EINVAL);
    GroupBook next = *this; // shares the groups until the first pair is linked
    for (std::size_t i = 0; i + 1 < chain.size(); ++i)
        next.link_pair(chain[i], chain[i + 1], kernel);
    *this = std::move(next);
}

namespace {

// The SA `step` places further out (1) or in (-1) from `said` in `group`.
const Said& neighbour(const SaGroup& group, const Said& said, int step) {
    return *(std::find(group.sas.begin(), group.sas.end(), said) + step);
}

std::vector<Said> members_or_self(const SaGroup* group, const Said& said) {
    return group != nullptr ? group->sas : std::vector<Said>{said};
}

bool holds(const std::vector<Said>& sas, const Said& said) {
    return std::find(sas.begin(), sas.end(), said) != sas.end();
}

} // namespace

// KLIPS's SADB_X_GRPSA: inner must have nothing outside it, outer nothing
// inside it, and outer's chain must not already hold inner.
void GroupBook::link_pair(const Said& inner, const Said& outer, const KernelView& kernel) {
    check_linkable(inner, outer, kernel);
    const SaGroup* inner_group = find(inner);
    const SaGroup* outer_group = find(outer);
    check_unbound(inner_group, kernel);
    check_unbound(outer_group, kernel);

    if (inner_group != nullptr && inner_group == outer_group)
        throw Error(said_text(inner) + " and " + said_text(outer) + " are already in one group",
                    EEXIST);
    if (inner_group != nullptr && inner_group->sas.back() != inner)
        throw Error(said_text(inner) + " already has " +
                        said_text(neighbour(*inner_group, inner, 1)) + " outside it",
                    EEXIST);
    if (outer_group != nullptr && outer_group->sas.front() != outer)
        throw Error(said_text(outer) + " already has " +
                        said_text(neighbour(*outer_group, outer, -1)) + " inside it",
                    EEXIST);

    std::vector<Said> merged = members_or_self(inner_group, inner);
    const std::vector<Said> outer_sas = members_or_self(outer_group, outer);
    merged.insert(merged.end(), outer_sas.begin(), outer_sas.end());
    if (merged.size() > max_group_size)
        throw Error("linking " + said_text(inner) + " to " + said_text(outer) +
                        " would make a group of " + std::to_string(merged.size()) +
                        " SAs; at most " + std::to_string(max_group_size) +
                        " (the kernel's template limit)",
                    EINVAL);

    // Groups are disjoint: the old groups are exactly those inside `merged`.
    // (inner_group and outer_group point into the groups edit() may replace.)
    std::vector<SaGroup>& groups = edit();
    std::erase_if(groups, [&](const SaGroup& group) { return holds(merged, group.sas[0]); });
    groups.push_back(SaGroup{std::move(merged)});
}

std::optional<SaGroup> GroupBook::dissolve(const Said& member, const KernelView& kernel) {
    check_not_foreign(member, kernel);
    const SaGroup* group = find(member);
    if (group == nullptr) {
        if (!exists(member, kernel) || member.proto == Proto::tun)
            throw no_such_sa(member, kernel.caps);
        return std::nullopt;
    }
    check_unbound(group, kernel);
    SaGroup dissolved = *group; // a copy: edit() may replace what `group` points into
    std::erase(edit(), dissolved);
    return dissolved;
}

std::vector<SaGroup> GroupBook::drop_vanished(std::span<const KernelSa> sas) {
    const auto whole = [&](const SaGroup& group) {
        return std::all_of(group.sas.begin(), group.sas.end(), [&](const Said& s) {
            return s.proto == Proto::tun || find_kernel_sa(sas, s) != nullptr;
        });
    };
    std::vector<SaGroup> dropped;
    for (const SaGroup& group : groups())
        if (!whole(group))
            dropped.push_back(group);
    if (dropped.empty())
        return dropped;
    std::erase_if(edit(), [&](const SaGroup& group) {
        return std::find(dropped.begin(), dropped.end(), group) != dropped.end();
    });
    return dropped;
}

std::vector<const KernelPolicy*> eroutes_of(const SaGroup& group, const KernelView& kernel) {
    const std::span<const Said> members = kernel_members(group.sas);
    std::vector<const KernelPolicy*> eroutes;
    for (const KernelPolicy& policy : kernel.policies) {
        if (!is_klipsfs_policy(policy))
            continue;
        // A klipsfs template names its SA's SPI: compare those first, and
        // resolve the chain (a search of every state) only when they match.
        const auto same_spi = [](const KernelTemplate& t, const Said& s) {
            return t.proto == s.proto && t.spi == s.spi;
        };
        if (!std::equal(policy.templates.begin(), policy.templates.end(), members.begin(),
                        members.end(), same_spi))
            continue;
        const auto chain = chain_of(policy, kernel.sas);
        if (chain && std::equal(chain->begin(), chain->end(), members.begin(), members.end()))
            eroutes.push_back(&policy);
    }
    return eroutes;
}

namespace {

// The listing shows a foreign chain with a tunnel-mode T0 as a tun SA to
// T0's destination with the SPI of the state T0 picks (translate.h).
bool shows_as_tun(const KernelPolicy& policy, const Said& tun, const KernelView& kernel) {
    const KernelTemplate& t0 = policy.templates.front();
    if (t0.mode != Mode::tunnel || t0.dst != tun.dst)
        return false;
    return std::any_of(kernel.sas.begin(), kernel.sas.end(), [&](const KernelSa& sa) {
        return sa.said.spi == tun.spi && sa.said.proto == t0.proto && policy_uses(policy, sa);
    });
}

} // namespace

const KernelPolicy* foreign_user(const Said& said, const KernelView& kernel) {
    const KernelSa* sa = find_kernel_sa(kernel.sas, said);
    for (const KernelPolicy& policy : kernel.policies) {
        if (is_klipsfs_policy(policy) || policy.socket_policy || policy.templates.empty())
            continue;
        if (sa != nullptr ? policy_uses(policy, *sa)
                          : said.proto == Proto::tun && shows_as_tun(policy, said, kernel))
            return &policy;
    }
    return nullptr;
}

} // namespace compat
