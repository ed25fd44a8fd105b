// The control node's state file: what the kernel cannot hold.
//
// Bound groups live in the kernel as klipsfs's own policies
// (control_policy.h) and are read back from there; the file keeps only
// groups no eroute is bound to yet, and the user-space tun SAs of bound
// groups (XFRM has no state for them, and their SPIs are the user's).
// Pure code: fs/ reads and writes the file (atomically, by rename).
//
// Format, version 1: UTF-8 text, one record per line, words separated by
// blanks, '#' starts a comment, blank lines ignored.  The first record is
//     klipsfs-control-state 1
// then any number of
//     group SAID SAID...    an unbound group, 2 to 6 SAs, inside to outside
//     tun TUN-SAID SAID     the tun SA in front of the bound group whose
//                           first kernel SA is the second SAID
// SAIDs are written in ipsec_spigrp(5) form (esp.187a101b@192.168.2.110).
// A file of another version, or with a line that does not parse, is refused
// whole with a message naming the line: klipsfs then starts without it.
#pragma once

#include "compat/control_groups.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace compat {

inline constexpr int state_file_version = 1;

struct TunRecord {
    Said tun;   // the user-space tun SA
    Said first; // the first kernel SA of the bound group it leads

    auto operator<=>(const TunRecord&) const = default;
};

struct StateFile {
    std::vector<SaGroup> unbound;
    std::vector<TunRecord> tuns;

    auto operator<=>(const StateFile&) const = default;
};

std::string serialise_state(const StateFile& state);

// Throws compat::Error (EINVAL): "state file line 3: ...".
StateFile parse_state(std::string_view text);

// What of `book` the file must hold, given the kernel's policies.
StateFile state_of(const GroupBook& book, const KernelView& kernel);

// The start-up check: the groups that survive, from the kernel's klipsfs
// policies (bound groups) and the file (the rest), and one log line for each
// thing dropped or doubtful.
struct Restored {
    GroupBook book;
    std::vector<std::string> log;
};

Restored restore_groups(const StateFile& state, const KernelView& kernel);

} // namespace compat
