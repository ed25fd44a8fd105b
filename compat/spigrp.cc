// The lines of /proc/net/ipsec_spigrp: see spigrp.h.
#include "compat/spigrp.h"

#include <iterator>

namespace compat {

// A group with no SA has no line: KLIPS wrote each line from an SA.
void append_spigrp_line(std::string& out, std::span<const Said> sas, SaidForm form) {
    if (sas.empty())
        return;

    // The line is built in a buffer and appended once (or once per eight
    // SAs): appending each SAID to `out` made large listings twice as slow.
    char line[8 * (max_said_text + 1) + 1];
    char* end = line;
    for (const Said& said : sas) {
        if (std::end(line) - end < static_cast<std::ptrdiff_t>(max_said_text + 2)) {
            out.append(line, end);
            end = line;
        }
        end = write_said(end, said, form);
        *end++ = ' ';
    }
    *end++ = '\n';
    out.append(line, end);
}

std::string render_spigrp(std::span<const SaGroup> groups, SaidForm form) {
    // About 30 bytes per SAID: one allocation for most listings.
    std::size_t sas = 0;
    for (const SaGroup& group : groups)
        sas += group.sas.size();
    std::string text;
    text.reserve(sas * 32);

    for (const SaGroup& group : groups)
        append_spigrp_line(text, group.sas, form);
    return text;
}

} // namespace compat
