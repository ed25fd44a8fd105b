// The kernel's XFRM states and policies as the KLIPS model sees them.
//
// compat never talks to the kernel: fs/ copies what the netlink mirror holds
// into these plain values, and compat translates them into SA groups
// (translate.h) or compiles groups into policies to install (control.h).
// Only the fields the KLIPS model needs are here.
#pragma once

#include <cstdint>
#include <vector>

#include "compat/said.h"

namespace compat {

enum class Mode : std::uint8_t { transport, tunnel, other };

enum class Direction : std::uint8_t { in, out, fwd, other };

struct Mark {
    std::uint32_t value = 0;
    std::uint32_t mask = 0;

    auto operator<=>(const Mark&) const = default;
};

// An XFRM state.  said.proto may be a number that KLIPS has no name for.
struct KernelSa {
    Said said;          // protocol, SPI (the CPI for comp), destination
    Address src;
    Mode mode = Mode::transport;
    std::uint32_t reqid = 0;
    Mark mark;
    std::uint32_t if_id = 0;
    bool larval = false;       // an acquire or ALLOCSPI state, no algorithms yet
    bool kernel_owned = false; // the IPIP/IPv6 helper state IPComp creates
};

// One template of a policy.  T0 is innermost, applied first on output.
struct KernelTemplate {
    Proto proto = Proto::esp;
    std::uint32_t spi = 0; // 0: any
    Address dst;           // only meaningful in tunnel mode
    Address src;
    Mode mode = Mode::transport;
    std::uint32_t reqid = 0; // 0: any
    bool optional = false;
};

struct Subnet {
    Address address;
    std::uint8_t prefix_len = 0;

    auto operator<=>(const Subnet&) const = default;
};

struct KernelPolicy {
    Direction dir = Direction::out;
    std::uint32_t index = 0;
    std::uint32_t priority = 0;
    Subnet src;
    Subnet dst;
    std::uint8_t upper_proto = 0; // selector's transport protocol, 0 = any
    Mark mark;
    std::uint32_t if_id = 0;
    bool socket_policy = false; // per-socket policies are never groups
    std::vector<KernelTemplate> templates;
};

} // namespace compat
