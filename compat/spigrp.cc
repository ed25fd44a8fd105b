// The lines of /proc/net/ipsec_spigrp: see spigrp.h.
#include "compat/spigrp.h"

namespace compat {

// A group with no SA has no line: KLIPS wrote each line from an SA.
void append_spigrp_line(std::string& out, std::span<const Said> sas, SaidForm form) {
    if (sas.empty())
        return;
    for (const Said& said : sas) {
        append_said(out, said, form);
        out += ' ';
    }
    out += '\n';
}

std::string render_spigrp(std::span<const SaGroup> groups, SaidForm form) {
    // About 30 bytes per IPv4 SAID: one allocation for most listings.
    std::size_t sas = 0;
    for (const SaGroup& group : groups)
        sas += group.sas.size();
    std::string text;
    text.reserve(sas * 32 + groups.size());

    for (const SaGroup& group : groups)
        append_spigrp_line(text, group.sas, form);
    return text;
}

} // namespace compat
