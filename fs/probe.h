// fs::probe_kernel: what the running kernel offers for IPsec, for the
// start-up log.  Cheap and honest: it looks only at /proc and /sys, and
// says "not loaded" rather than guess what modprobe could still load.
#pragma once

#include <string>

namespace fs {

// One line, e.g. "XFRM yes; esp4 loaded, ah4 built in, ipcomp not loaded, ...".
std::string probe_kernel();

} // namespace fs
