// The control node ipsec/control: its command language, and apply(), which
// decides everything a command does, purely, for fs/ to carry out.
//
// Language (one command per line; blank lines and '#' comments ignored;
// words separated by blanks; SAIDs in any form ttosa accepts, numeric
// addresses; subnets as ADDRESS/LENGTH, an address alone being a host):
//     group SAID SAID [SAID [SAID]]  link 2 to 4 SAs, inside to outside, as
//                                    KLIPS's N-1 pairwise links, all or none
//     ungroup SAID                   dissolve the group SAID is in (success,
//                                    changing nothing, if it is in none)
//     bind SRC DST SAID              eroute: traffic from subnet SRC to
//                                    subnet DST goes through the group whose
//                                    first SA is SAID (or SAID alone)
//     unbind SRC DST                 remove that eroute
//
// How fs/ drives it, per complete line written to the node:
//     auto cmd = parse_command(line);          // nullopt: nothing to do
//     Outcome out = apply(*cmd, view, book);   // throws compat::Error
//     install out.install, remove out.remove (undo on failure: all or none)
//     write *out.state_file if set; book = out.book; log out.log
//     reply out.reply ("ok\n"); on Error e: reply e.what() + "\n", -e.code()
// and after every change to the kernel's SAs, the same with reconcile().
#pragma once

#include "compat/control_groups.h"
#include "compat/control_state.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace compat {

struct GroupCommand {
    std::vector<Said> sas; // 2 to 4, inside to outside
    auto operator<=>(const GroupCommand&) const = default;
};

struct UngroupCommand {
    Said sa;
    auto operator<=>(const UngroupCommand&) const = default;
};

struct BindCommand {
    Subnet src;
    Subnet dst;
    Said first;
    auto operator<=>(const BindCommand&) const = default;
};

struct UnbindCommand {
    Subnet src;
    Subnet dst;
    auto operator<=>(const UnbindCommand&) const = default;
};

using Command = std::variant<GroupCommand, UngroupCommand, BindCommand, UnbindCommand>;

// One line, with or without its '\n'.  Nothing for a blank or comment line.
// Throws compat::Error (EINVAL) with a message that names the bad word.
std::optional<Command> parse_command(std::string_view line);

// The canonical line for `command`, without '\n' (what `ipsec spigrp` sends).
std::string format_command(const Command& command);

// The pieces both the control language and the state file are made of.
// The words of a line: blanks separate them, '#' starts a comment.
std::vector<std::string_view> control_words(std::string_view line);
// parse_said, with the word in the message: `bad SAID "x": <ttosa's text>`.
Said parse_said_word(std::string_view word);
// SAIDs in ipsec_spigrp(5) form, separated by single spaces.
std::string format_saids(std::span<const Said> sas);

// Everything a command decides.  Kernel changes first, then the rest.
struct Outcome {
    GroupBook book;                        // the model once the changes are made
    std::vector<KernelPolicy> install;     // policies to add (XFRM_MSG_NEWPOLICY)
    std::vector<KernelPolicy> remove;      // policies to delete, as the view had them
    std::optional<std::string> state_file; // new state-file text, when it changes
    std::optional<StateFile> state;        // what that text holds
    std::string reply = "ok\n";            // what a read() of the node returns
    std::vector<std::string> log;          // lines for the operator's log
};

// Throws compat::Error (EINVAL, ENOENT, EEXIST, EBUSY, EOPNOTSUPP) and then
// nothing is to be changed.
// `state` is what the state file holds now, state_of(book, kernel): the
// new one is made from it and the group the command touches, at a cost that
// does not grow with the number of groups.  The three-argument form works
// it out first.
Outcome apply(const Command& command, const KernelView& kernel, const GroupBook& book,
              const StateFile& state);
Outcome apply(const Command& command, const KernelView& kernel, const GroupBook& book);

// After SAs changed under klipsfs: groups that lost a member are dissolved
// (KLIPS dissolved a group when any member was deleted).  Their eroutes stay:
// they keep dropping the traffic they match, as KLIPS's did, until unbound.
Outcome reconcile(const KernelView& kernel, const GroupBook& book);

} // namespace compat
