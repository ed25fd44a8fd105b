// The state file: serialise, parse, and the start-up check (see header).
#include "compat/control_state.h"

#include "compat/control.h"
#include "compat/error.h"

#include <algorithm>
#include <cerrno>
#include <sstream>

namespace compat {

namespace {

constexpr std::string_view header = "klipsfs-control-state";

SaGroup group_record(std::span<const std::string_view> words) {
    if (words.size() < 3 || words.size() > 1 + max_group_size)
        throw Error("a group record holds 2 to " + std::to_string(max_group_size) + " SAIDs");
    SaGroup group;
    for (std::string_view word : words.subspan(1))
        group.sas.push_back(parse_said_word(word));
    return group;
}

TunRecord tun_record(std::span<const std::string_view> words) {
    if (words.size() != 3)
        throw Error("a tun record holds a tun SAID and the SAID after it");
    TunRecord record{parse_said_word(words[1]), parse_said_word(words[2])};
    if (record.tun.proto != Proto::tun)
        throw Error("\"" + std::string(words[1]) + "\" is not a tun SA");
    return record;
}

void check_header(std::span<const std::string_view> words) {
    if (words.size() != 2 || words[0] != header)
        throw Error("expected \"" + std::string(header) + " " + std::to_string(state_file_version) +
                    "\"");
    if (words[1] != std::to_string(state_file_version))
        throw Error("version " + std::string(words[1]) +
                    " is not supported (this klipsfs reads "
                    "version " +
                    std::to_string(state_file_version) + ")");
}

} // namespace

std::string serialise_state(const StateFile& state) {
    std::string text = std::string(header) + " " + std::to_string(state_file_version) + "\n";
    text += "# written by klipsfs: the SA groups of ipsec/control that the kernel cannot hold\n";
    for (const SaGroup& group : state.unbound)
        text += "group " + format_saids(group.sas) + "\n";
    for (const TunRecord& record : state.tuns)
        text += "tun " + format_said(record.tun) + " " + format_said(record.first) + "\n";
    return text;
}

StateFile parse_state(std::string_view text) {
    StateFile state;
    bool seen_header = false;
    int number = 0;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        ++number;
        const auto words = control_words(line);
        if (words.empty())
            continue;
        try {
            if (!seen_header)
                check_header(words);
            else if (words[0] == "group")
                state.unbound.push_back(group_record(words));
            else if (words[0] == "tun")
                state.tuns.push_back(tun_record(words));
            else
                throw Error("unknown record \"" + std::string(words[0]) + "\"");
        } catch (const Error& e) {
            throw Error("state file line " + std::to_string(number) + ": " + e.what());
        }
        seen_header = true;
    }
    if (!seen_header)
        throw Error("state file is empty: expected \"" + std::string(header) + " " +
                    std::to_string(state_file_version) + "\"");
    return state;
}

namespace {

// The chains of every klipsfs policy, sorted.  Each template of a klipsfs
// policy names an SPI, so only the states with its protocol and SPI can be
// picked: finding those through one sorted index keeps this near linear in
// states and policies (one eroutes_of() per group was groups x policies x
// states).
std::vector<std::vector<Said>> bound_chains(const KernelView& kernel) {
    using Key = std::uint64_t; // protocol << 32 | SPI
    const auto key = [](Proto proto, std::uint32_t spi) {
        return Key{static_cast<std::uint8_t>(proto)} << 32 | spi;
    };
    std::vector<Key> wanted;
    for (const KernelPolicy& policy : kernel.policies)
        if (is_klipsfs_policy(policy))
            for (const KernelTemplate& tmpl : policy.templates)
                wanted.push_back(key(tmpl.proto, tmpl.spi));
    if (wanted.empty())
        return {};
    std::sort(wanted.begin(), wanted.end());

    std::vector<std::pair<Key, const KernelSa*>> index;
    for (const KernelSa& sa : kernel.sas) {
        const Key k = key(sa.said.proto, sa.said.spi);
        if (std::binary_search(wanted.begin(), wanted.end(), k))
            index.emplace_back(k, &sa);
    }
    std::sort(index.begin(), index.end());

    std::vector<std::vector<Said>> chains;
    std::vector<KernelSa> candidates;
    for (const KernelPolicy& policy : kernel.policies) {
        if (!is_klipsfs_policy(policy))
            continue;
        candidates.clear();
        for (const KernelTemplate& tmpl : policy.templates) {
            const Key k = key(tmpl.proto, tmpl.spi);
            auto it = std::lower_bound(index.begin(), index.end(),
                                       std::pair<Key, const KernelSa*>{k, nullptr});
            for (; it != index.end() && it->first == k; ++it)
                candidates.push_back(*it->second);
        }
        if (auto chain = chain_of(policy, candidates))
            chains.push_back(std::move(*chain));
    }
    std::sort(chains.begin(), chains.end());
    return chains;
}

} // namespace

StateFile state_of(const GroupBook& book, const KernelView& kernel) {
    StateFile state;
    const std::vector<std::vector<Said>> bound = bound_chains(kernel);
    for (const SaGroup& group : book.groups()) {
        const std::span<const Said> members = kernel_members(group.sas);
        const auto before = [](std::span<const Said> a, std::span<const Said> b) {
            return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
        };
        if (!std::binary_search(bound.begin(), bound.end(), members, before))
            state.unbound.push_back(group);
        else if (group.sas.front().proto == Proto::tun)
            state.tuns.push_back(TunRecord{group.sas[0], group.sas[1]});
    }
    return state;
}

namespace {

// Bound groups: one per distinct chain of klipsfs's policies.
std::vector<SaGroup> bound_groups(const StateFile& state, const KernelView& kernel,
                                  std::vector<std::string>& log) {
    std::vector<SaGroup> groups;
    for (const KernelPolicy& policy : kernel.policies) {
        if (!is_klipsfs_policy(policy))
            continue;
        const auto chain = chain_of(policy, kernel.sas);
        if (!chain) {
            log.push_back("klipsfs " + describe_policy(policy) +
                          " names an SA that no longer "
                          "exists; it drops the traffic it matches until it is unbound");
            continue;
        }
        SaGroup group{*chain};
        const auto tun =
            std::find_if(state.tuns.begin(), state.tuns.end(),
                         [&](const TunRecord& r) { return r.first == chain->front(); });
        if (tun != state.tuns.end())
            group.sas.insert(group.sas.begin(), tun->tun);
        if (group.sas.size() >= 2 && std::find(groups.begin(), groups.end(), group) == groups.end())
            groups.push_back(std::move(group));
    }
    return groups;
}

bool leads_a_group(const Said& first, std::span<const SaGroup> groups) {
    return std::any_of(groups.begin(), groups.end(), [&](const SaGroup& group) {
        return group.sas.size() >= 2 && group.sas[1] == first;
    });
}

} // namespace

Restored restore_groups(const StateFile& state, const KernelView& kernel) {
    Restored restored;
    std::vector<SaGroup> bound = bound_groups(state, kernel, restored.log);
    for (const TunRecord& record : state.tuns)
        if (!leads_a_group(record.first, bound))
            restored.log.push_back("state file: forgot " + format_said(record.tun) +
                                   ": no eroute is bound to the group of " +
                                   format_said(record.first) + " any more");

    // Unbound groups are linked again under today's rules, so a group that
    // lost a member, or that clashes with what other software did meanwhile,
    // is dropped with the reason.
    GroupBook book(std::move(bound));
    for (const SaGroup& group : state.unbound) {
        try {
            book.link(group.sas, kernel);
        } catch (const Error& e) {
            restored.log.push_back("state file: dropped group " + format_saids(group.sas) + ": " +
                                   e.what());
        }
    }
    restored.book = std::move(book);
    return restored;
}

} // namespace compat
