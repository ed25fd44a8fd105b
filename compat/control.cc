// The control language and apply() (see control.h).
#include "compat/control.h"

#include "compat/control_state.h"
#include "compat/error.h"

#include <algorithm>
#include <cerrno>

namespace compat {

namespace {

void check_count(std::string_view verb, std::size_t got, std::size_t min, std::size_t max,
                 std::string_view what) {
    if (got >= min && got <= max)
        return;
    throw Error(std::string(verb) + " needs " + std::string(what) + ", got " + std::to_string(got) +
                (got == 1 ? " word" : " words"));
}

std::pair<Subnet, Subnet> selector(std::string_view verb, std::string_view src,
                                   std::string_view dst) {
    const Subnet from = parse_subnet(src);
    const Subnet to = parse_subnet(dst);
    if (from.address.family != to.address.family)
        throw Error(std::string(verb) + ": " + std::string(src) + " and " + std::string(dst) +
                    " are of different address families");
    return {from, to};
}

Command command_of(std::string_view verb, std::span<const std::string_view> args) {
    if (verb == "group") {
        check_count(verb, args.size(), 2, 4, "2 to 4 SAIDs");
        GroupCommand command;
        for (std::string_view word : args)
            command.sas.push_back(parse_said_word(word));
        return command;
    }
    if (verb == "ungroup") {
        check_count(verb, args.size(), 1, 1, "one SAID");
        return UngroupCommand{parse_said_word(args[0])};
    }
    if (verb == "bind") {
        check_count(verb, args.size(), 3, 3, "SRC/LEN DST/LEN SAID");
        const auto [src, dst] = selector(verb, args[0], args[1]);
        return BindCommand{src, dst, parse_said_word(args[2])};
    }
    if (verb == "unbind") {
        check_count(verb, args.size(), 2, 2, "SRC/LEN DST/LEN");
        const auto [src, dst] = selector(verb, args[0], args[1]);
        return UnbindCommand{src, dst};
    }
    throw Error("unknown command \"" + std::string(verb) +
                "\"; the commands are group, ungroup, bind and unbind");
}

} // namespace

std::vector<std::string_view> control_words(std::string_view line) {
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
        line = line.substr(0, hash);
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while ((pos = line.find_first_not_of(" \t\r\n", pos)) != std::string_view::npos) {
        const std::size_t end = std::min(line.find_first_of(" \t\r\n", pos), line.size());
        words.push_back(line.substr(pos, end - pos));
        pos = end;
    }
    return words;
}

Said parse_said_word(std::string_view word) {
    try {
        return parse_said(word);
    } catch (const Error& e) {
        throw Error("bad SAID \"" + std::string(word) + "\": " + e.what());
    }
}

std::string format_saids(std::span<const Said> sas) {
    std::string text;
    for (const Said& said : sas)
        text += (text.empty() ? "" : " ") + format_said(said);
    return text;
}

std::optional<Command> parse_command(std::string_view line) {
    const auto words = control_words(line);
    if (words.empty())
        return std::nullopt;
    return command_of(words[0], std::span(words).subspan(1));
}

std::string format_command(const Command& command) {
    struct Formatter {
        std::string operator()(const GroupCommand& c) const {
            std::string line = "group";
            for (const Said& said : c.sas)
                line += " " + format_said(said);
            return line;
        }
        std::string operator()(const UngroupCommand& c) const {
            return "ungroup " + format_said(c.sa);
        }
        std::string operator()(const BindCommand& c) const {
            return "bind " + format_subnet(c.src) + " " + format_subnet(c.dst) + " " +
                   format_said(c.first);
        }
        std::string operator()(const UnbindCommand& c) const {
            return "unbind " + format_subnet(c.src) + " " + format_subnet(c.dst);
        }
    };
    return std::visit(Formatter{}, command);
}

namespace {

std::string eroute_text(const Subnet& src, const Subnet& dst) {
    return format_subnet(src) + " -> " + format_subnet(dst);
}

// The outbound policy with exactly this selector, if any.  The kernel
// refuses a second one (NEWPOLICY: EEXIST), whoever made the first.
const KernelPolicy* policy_at(const KernelView& kernel, const Subnet& src, const Subnet& dst) {
    for (const KernelPolicy& policy : kernel.policies)
        if (policy.dir == Direction::out && !policy.socket_policy && policy.src == src &&
            policy.dst == dst && policy.upper_proto == 0)
            return &policy;
    return nullptr;
}

// The chain an eroute to `first` goes through: its group, or `first` alone.
std::vector<Said> chain_from(const Said& first, const KernelView& kernel, const GroupBook& book) {
    if (const SaGroup* group = book.find(first)) {
        if (group->sas.front() != first)
            throw Error(format_said(first) + " is not the first SA of its group (" +
                            format_saids(group->sas) + ")",
                        EINVAL);
        return group->sas;
    }
    if (const KernelPolicy* policy = foreign_user(first, kernel))
        throw Error(format_said(first) + " is used by " + describe_policy(*policy) +
                        ", which klipsfs did not make; change it with the software that did",
                    EBUSY);
    if (first.proto == Proto::tun)
        throw Error(format_said(first) + ": no such SA", ENOENT);
    return {first};
}

// Whether `out` deletes `policy` (as the view had it).
bool removed_by(const Outcome& out, const KernelPolicy& policy) {
    return std::any_of(out.remove.begin(), out.remove.end(), [&](const KernelPolicy& gone) {
        return gone.dir == policy.dir && gone.src == policy.src && gone.dst == policy.dst &&
               gone.index == policy.index;
    });
}

// The policies once `out`'s kernel changes are made.
std::vector<KernelPolicy> policies_after(const KernelView& kernel, const Outcome& out) {
    std::vector<KernelPolicy> after;
    for (const KernelPolicy& policy : kernel.policies) {
        if (!removed_by(out, policy))
            after.push_back(policy);
    }
    after.insert(after.end(), out.install.begin(), out.install.end());
    return after;
}

// Whether an eroute is bound to `group` once `out`'s kernel changes are
// made: a klipsfs policy through it that stays, or one to be installed.
bool bound_after(const SaGroup& group, const KernelView& kernel, const Outcome& out) {
    const KernelView installed{kernel.sas, out.install, kernel.caps};
    if (!eroutes_of(group, installed).empty())
        return true;
    for (const KernelPolicy* policy : eroutes_of(group, kernel)) {
        if (!removed_by(out, *policy))
            return true;
    }
    return false;
}

// The groups of `book` that hold one of `saids`, each once.
std::vector<SaGroup> groups_holding(const GroupBook& book, std::span<const Said> saids) {
    std::vector<SaGroup> groups;
    for (const Said& said : saids)
        if (const SaGroup* group = book.find(said);
            group && std::find(groups.begin(), groups.end(), *group) == groups.end())
            groups.push_back(*group);
    return groups;
}

// The state once `out`'s changes are made, from the state before: a
// command changes the records of the groups holding the SAs it names, and
// no other (state_of(out.book, kernel after) is the same, in another order,
// at a cost that grows with every group and policy).
StateFile next_state(const StateFile& state, const KernelView& kernel, const GroupBook& before,
                     std::span<const Said> named, Outcome& out) {
    StateFile next = state;
    for (const SaGroup& group : groups_holding(before, named)) {
        std::erase(next.unbound, group);
        if (group.sas.size() >= 2)
            std::erase(next.tuns, TunRecord{group.sas[0], group.sas[1]});
    }
    for (const SaGroup& group : groups_holding(out.book, named)) {
        if (!bound_after(group, kernel, out))
            next.unbound.push_back(group);
        else if (group.sas.front().proto == Proto::tun)
            next.tuns.push_back(TunRecord{group.sas[0], group.sas[1]});
    }
    return next;
}

// Sets out.state_file when the file's content changes, comparing the whole
// state before and after (for reconcile(), whose changes are not local).
void note_state(const KernelView& kernel, const GroupBook& before, Outcome& out) {
    const std::vector<KernelPolicy> after = policies_after(kernel, out);
    const KernelView next{kernel.sas, after, kernel.caps};
    const StateFile old_state = state_of(before, kernel);
    StateFile new_state = state_of(out.book, next);
    if (new_state != old_state) {
        out.state_file = serialise_state(new_state);
        out.state = std::move(new_state);
    }
}

// Whether `group` puts a record in the state file: it does when no eroute is
// bound to it, or when it is bound and leads with a tun SA.
bool has_record(const SaGroup& group, const KernelView& kernel) {
    return group.sas.front().proto == Proto::tun || eroutes_of(group, kernel).empty();
}

bool do_group(const GroupCommand& c, const KernelView& kernel, Outcome& out) {
    // Linking refuses bound groups, so every group it merges had a record.
    const bool merged_a_group = std::any_of(c.sas.begin(), c.sas.end(), [&](const Said& said) {
        return out.book.find(said) != nullptr;
    });
    out.book.link(c.sas, kernel);
    out.log.push_back("grouped " + format_saids(c.sas));
    return merged_a_group || has_record(*out.book.find(c.sas.front()), kernel);
}

bool do_ungroup(const UngroupCommand& c, const KernelView& kernel, Outcome& out) {
    // Dissolving refuses bound groups: the group gone had a record.
    if (const auto group = out.book.dissolve(c.sa, kernel)) {
        out.log.push_back("ungrouped " + format_saids(group->sas));
        return true;
    }
    out.log.push_back("ungroup " + format_said(c.sa) + ": in no group, nothing to do");
    return false;
}

bool do_bind(const BindCommand& c, const KernelView& kernel, Outcome& out) {
    if (const KernelPolicy* existing = policy_at(kernel, c.src, c.dst)) {
        if (is_klipsfs_policy(*existing))
            throw Error("the eroute " + eroute_text(c.src, c.dst) +
                            " already exists; "
                            "unbind it first",
                        EEXIST);
        throw Error("the eroute " + eroute_text(c.src, c.dst) + " would replace " +
                        describe_policy(*existing) + ", which klipsfs did not make",
                    EBUSY);
    }
    const std::vector<Said> chain = chain_from(c.first, kernel, out.book);
    out.install.push_back(compile_eroute(c.src, c.dst, chain, kernel));
    out.log.push_back("bound " + eroute_text(c.src, c.dst) + " to " + format_saids(chain));
    // Only a group's record changes, and only if it was not bound already;
    // an SA alone has none.
    const SaGroup* group = out.book.find(c.first);
    return group != nullptr && eroutes_of(*group, kernel).empty();
}

bool do_unbind(const UnbindCommand& c, const KernelView& kernel, Outcome& out) {
    const KernelPolicy* existing = policy_at(kernel, c.src, c.dst);
    if (existing == nullptr)
        throw Error("no eroute " + eroute_text(c.src, c.dst), ENOENT);
    if (!is_klipsfs_policy(*existing))
        throw Error("the eroute " + eroute_text(c.src, c.dst) + " is " +
                        describe_policy(*existing) + ", which klipsfs did not make",
                    EBUSY);
    out.remove.push_back(*existing);
    out.log.push_back("unbound " + eroute_text(c.src, c.dst));
    // The group this eroute went through gets its record back if this was
    // its last eroute.
    const auto chain = chain_of(*existing, kernel.sas);
    if (!chain)
        return false;
    const SaGroup* group = out.book.find(chain->front());
    if (group == nullptr)
        return false;
    const std::span<const Said> members = kernel_members(group->sas);
    return std::equal(members.begin(), members.end(), chain->begin(), chain->end()) &&
           eroutes_of(*group, kernel).size() == 1;
}

} // namespace

// A command touches one group, and the state file holds one record per
// group at most: whether the text changes is decided from that group alone
// (the do_* functions), so that the file's text, which names every group,
// is made only when it has to be written.
Outcome apply(const Command& command, const KernelView& kernel, const GroupBook& book,
              const StateFile& state) {
    Outcome out;
    out.book = book;
    std::vector<Said> named;
    const bool state_changes = std::visit(
        [&](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, GroupCommand>) {
                named = c.sas;
                return do_group(c, kernel, out);
            } else if constexpr (std::is_same_v<T, UngroupCommand>) {
                named = {c.sa};
                return do_ungroup(c, kernel, out);
            } else if constexpr (std::is_same_v<T, BindCommand>) {
                named = {c.first};
                return do_bind(c, kernel, out);
            } else {
                if (const KernelPolicy* existing = policy_at(kernel, c.src, c.dst))
                    if (auto chain = chain_of(*existing, kernel.sas))
                        named = std::move(*chain);
                return do_unbind(c, kernel, out);
            }
        },
        command);
    if (state_changes) {
        out.state = next_state(state, kernel, book, named, out);
        out.state_file = serialise_state(*out.state);
    }
    return out;
}

Outcome apply(const Command& command, const KernelView& kernel, const GroupBook& book) {
    return apply(command, kernel, book, state_of(book, kernel));
}

Outcome reconcile(const KernelView& kernel, const GroupBook& book) {
    Outcome out;
    out.book = book;
    for (const SaGroup& group : out.book.drop_vanished(kernel.sas))
        out.log.push_back("dissolved " + format_saids(group.sas) + ": a member SA was deleted");
    note_state(kernel, book, out);
    return out;
}

} // namespace compat
