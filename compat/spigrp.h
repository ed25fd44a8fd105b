// The text of ipsec_spigrp: one line per SA group, as ipsec_spigrp(5) shows.
//
// A line lists its SAs from inside to outside the packet; each SAID is
// followed by exactly one space, and the line ends with '\n'.  No header;
// no groups gives an empty text.  Pure code.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "compat/said.h"

namespace compat {

// An ordered list of SAs with one destination, inside to outside, named by
// its first SA.  A KLIPS group held 1 to 4 SAs; one made from an XFRM
// policy may hold up to 6 (the kernel's template limit) plus a leading tun.
struct SaGroup {
    std::vector<Said> sas;

    auto operator<=>(const SaGroup&) const = default;
};

// Appends one ipsec_spigrp line for `sas` to `out`.
void append_spigrp_line(std::string& out, std::span<const Said> sas, SaidForm form);

// The whole listing, one line per group, in the order given.
std::string render_spigrp(std::span<const SaGroup> groups, SaidForm form);

} // namespace compat
