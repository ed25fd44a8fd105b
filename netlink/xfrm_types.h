// Typed values for what the kernel's XFRM holds: states (SAs) and policies.
//
// Plain data, no I/O, independent of <linux/xfrm.h> so that users of the
// mirror need not include kernel headers.  Numbers keep the kernel's values
// (protocols are IPPROTO_*, families AF_INET/AF_INET6, modes and directions
// as in the uapi header); SPIs, ports and reqids are in host byte order.
//
// A state is split in two for memory: the per-state part that changes often
// or identifies the SA (XfrmState, ~140 bytes), and the bulky part that is
// the same for many SAs (StateDetails: selector, byte and packet limits,
// algorithm names, encapsulation, flags), interned and shared by pointer.
// The time limits of a state's lifetime are the state's own: IKE daemons
// spread rekeys with random margins, so no two of their SAs share them, and
// in the details they would make every state's details its own (measured:
// 635 bytes a state instead of 175).  Key material is never stored anywhere.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace netlink {

// An IPv4 address uses the first 4 bytes, network order; the rest are zero.
struct Address {
    std::array<std::uint8_t, 16> bytes{};

    bool is_zero() const;
    friend bool operator==(const Address&, const Address&) = default;
    friend auto operator<=>(const Address&, const Address&) = default;
};

// Text form for logs and tests: inet_ntop of the given family.
std::string to_string(const Address& address, int family);
// The reverse; throws netlink::Error(EINVAL) on bad text.  Sets *family.
Address parse_address(const std::string& text, int* family = nullptr);

enum class Mode : std::uint8_t {
    transport = 0,
    tunnel = 1,
    route_optimization = 2,
    in_trigger = 3,
    beet = 4,
};

enum class Direction : std::uint8_t {
    in = 0,
    out = 1,
    fwd = 2,
    // Per-socket policies (setsockopt IP_XFRM_POLICY) dump as dir 3..5.
    socket_in = 3,
    socket_out = 4,
    socket_fwd = 5,
};

enum class PolicyAction : std::uint8_t { allow = 0, block = 1 };

// XFRM_POLICY_TYPE_MAIN / _SUB.
enum class PolicyType : std::uint8_t { main = 0, sub = 1 };

struct Mark {
    std::uint32_t value = 0;
    std::uint32_t mask = 0;

    friend bool operator==(const Mark&, const Mark&) = default;
    friend auto operator<=>(const Mark&, const Mark&) = default;
};

// What traffic a policy (or a transport-mode state) applies to.
struct Selector {
    Address daddr;
    Address saddr;
    std::uint16_t dport = 0; // host order
    std::uint16_t dport_mask = 0;
    std::uint16_t sport = 0;
    std::uint16_t sport_mask = 0;
    std::uint16_t family = 0; // 0: unspecified (tunnel states with AF_UNSPEC)
    std::uint8_t prefixlen_d = 0;
    std::uint8_t prefixlen_s = 0;
    std::uint8_t proto = 0; // upper-layer protocol, 0 = any
    std::int32_t ifindex = 0;
    std::uint32_t user = 0;

    friend bool operator==(const Selector&, const Selector&) = default;
    friend auto operator<=>(const Selector&, const Selector&) = default;
};

// XFRM_INF (~0) means "no limit".
inline constexpr std::uint64_t infinite = ~std::uint64_t{0};

struct LifetimeConfig {
    std::uint64_t soft_byte_limit = infinite;
    std::uint64_t hard_byte_limit = infinite;
    std::uint64_t soft_packet_limit = infinite;
    std::uint64_t hard_packet_limit = infinite;
    std::uint64_t soft_add_expires_seconds = 0;
    std::uint64_t hard_add_expires_seconds = 0;
    std::uint64_t soft_use_expires_seconds = 0;
    std::uint64_t hard_use_expires_seconds = 0;

    friend bool operator==(const LifetimeConfig&, const LifetimeConfig&) = default;
};

struct LifetimeCurrent {
    std::uint64_t bytes = 0;
    std::uint64_t packets = 0;
    std::uint64_t add_time = 0; // seconds since the epoch
    std::uint64_t use_time = 0; // 0: never used

    friend bool operator==(const LifetimeCurrent&, const LifetimeCurrent&) = default;
};

// An algorithm without its key.  An empty name means "not present".
struct Algorithm {
    std::string name;             // kernel crypto name: "cbc(aes)", "deflate"
    std::uint32_t key_bits = 0;   // key length in bits
    std::uint32_t trunc_bits = 0; // auth: truncation (ICV) length; 0 if untruncated
    std::uint32_t icv_bits = 0;   // aead: ICV length

    bool present() const { return !name.empty(); }
    friend bool operator==(const Algorithm&, const Algorithm&) = default;
};

// UDP (or TCP) encapsulation for NAT traversal.
struct Encapsulation {
    std::uint16_t type = 0;  // UDP_ENCAP_ESPINUDP = 2, ..., TCP_ENCAP_ESPINTCP = 7
    std::uint16_t sport = 0; // host order
    std::uint16_t dport = 0;
    Address original_address;

    friend bool operator==(const Encapsulation&, const Encapsulation&) = default;
};

// XFRM_STATE_* flags as the kernel reports them in xfrm_usersa_info.flags.
namespace state_flag {
inline constexpr std::uint8_t noecn = 1;
inline constexpr std::uint8_t decap_dscp = 2;
inline constexpr std::uint8_t nopmtudisc = 4;
inline constexpr std::uint8_t wildrecv = 8;
inline constexpr std::uint8_t icmp = 16;
inline constexpr std::uint8_t af_unspec = 32;
inline constexpr std::uint8_t align4 = 64;
inline constexpr std::uint8_t esn = 128;
} // namespace state_flag

// The bulky, rarely varying part of a state: interned and shared, immutable.
struct StateDetails {
    Selector selector;
    // Byte and packet limits.  The time limits (*_expires_seconds) are kept
    // in XfrmState::expires when all four fit in 32 bits, and are then zero
    // here; only otherwise are they here (read them with
    // XfrmState::lifetime()).
    LifetimeConfig lifetime;
    Algorithm auth; // from XFRMA_ALG_AUTH_TRUNC, else XFRMA_ALG_AUTH
    Algorithm crypt;
    Algorithm aead;
    Algorithm comp;
    std::optional<Encapsulation> encap;
    Mark output_mark;                // XFRMA_SET_MARK / _MASK
    std::uint32_t replay_window = 0; // configured window (ESN window when ESN)
    std::uint32_t extra_flags = 0;   // XFRMA_SA_EXTRA_FLAGS
    std::uint32_t tfcpad = 0;
    std::uint8_t flags = 0;       // state_flag::*
    std::uint8_t direction = 0;   // XFRMA_SA_DIR (6.10+): 0 unset, 1 in, 2 out
    std::string security_context; // XFRMA_SEC_CTX text, usually empty

    bool has_algorithms() const {
        return auth.present() || crypt.present() || aead.present() || comp.present();
    }
    friend bool operator==(const StateDetails&, const StateDetails&) = default;
};

// What identifies a state to the kernel (besides its mark).
struct StateId {
    Address daddr;
    std::uint32_t spi = 0;   // host order; for IPComp the CPI
    std::uint8_t proto = 0;  // IPPROTO_ESP, _AH, _COMP; 4/41 for kernel tunnels
    std::uint8_t family = 0; // AF_INET / AF_INET6

    friend bool operator==(const StateId&, const StateId&) = default;
    friend auto operator<=>(const StateId&, const StateId&) = default;
};

// Counters the kernel keeps per state; they change without events.
struct StateCounters {
    LifetimeCurrent current;
    std::uint64_t last_used = 0;          // XFRMA_LASTUSED, seconds; 0 never
    std::uint32_t replay_window_seen = 0; // xfrm_stats.replay_window
    std::uint32_t replay = 0;             // packets dropped as replays
    std::uint32_t integrity_failed = 0;

    friend bool operator==(const StateCounters&, const StateCounters&) = default;
};

struct XfrmState {
    StateId id;
    Address saddr;
    std::uint32_t reqid = 0;
    Mark mark; // as stored by the kernel (value already masked)
    std::uint32_t if_id = 0;
    Mode mode = Mode::transport;
    StateCounters counters;
    // soft_add, hard_add, soft_use, hard_use expires seconds (see
    // StateDetails::lifetime).
    std::array<std::uint32_t, 4> expires{};
    std::shared_ptr<const StateDetails> details; // never null in a mirror

    // The whole lifetime configuration, time limits included.
    LifetimeConfig lifetime() const;

    // IPComp's hidden IP-in-IP helper (proto 4 / 41), owned by the kernel:
    // it cannot be deleted and comes and goes without events.
    bool is_kernel_tunnel() const { return id.proto == 4 || id.proto == 41; }
    // A larval state: made by an ACQUIRE or ALLOCSPI, not yet keyed.  The
    // kernel does not report XFRM_STATE_ACQ over netlink; an IPsec state
    // without any algorithm is exactly that.
    bool is_larval() const;
};

// Field by field; details compare by value when the pointers differ.
bool operator==(const XfrmState& a, const XfrmState& b);

// One transform of a policy's chain; T0 is innermost.
struct Template {
    Address daddr; // only used in tunnel and BEET mode
    Address saddr;
    std::uint32_t spi = 0;    // 0: any
    std::uint8_t proto = 0;   // IPPROTO_ESP, _AH, _COMP
    std::uint16_t family = 0; // outer family; 0: the policy's
    std::uint32_t reqid = 0;  // 0: any
    Mode mode = Mode::transport;
    std::uint8_t share = 0;
    bool optional = false;               // iproute2 "level use"
    std::uint32_t auth_algorithms = ~0u; // masks; all ~0 = any algorithm
    std::uint32_t crypt_algorithms = ~0u;
    std::uint32_t comp_algorithms = ~0u;

    friend bool operator==(const Template&, const Template&) = default;
};

inline constexpr std::size_t max_templates = 6; // XFRM_MAX_DEPTH

struct XfrmPolicy {
    Selector selector;
    Direction dir = Direction::out;
    std::uint32_t priority = 0;
    std::uint32_t index = 0; // kernel-assigned, unique per network namespace
    PolicyAction action = PolicyAction::allow;
    std::uint8_t flags = 0; // XFRM_POLICY_LOCALOK = 1, XFRM_POLICY_ICMP = 2
    std::uint8_t share = 0;
    PolicyType type = PolicyType::main;
    Mark mark;
    std::uint32_t if_id = 0;
    LifetimeConfig lifetime;
    LifetimeCurrent current;
    std::string security_context;
    std::vector<Template> templates; // at most max_templates

    bool is_socket_policy() const { return static_cast<std::uint8_t>(dir) >= 3; }
    friend bool operator==(const XfrmPolicy&, const XfrmPolicy&) = default;
};

// What the kernel uses to find a policy when asked to delete or get it.
// With index != 0 the index alone decides (and must encode dir).
struct PolicyId {
    Selector selector;
    Direction dir = Direction::out;
    std::uint32_t index = 0;
    Mark mark;
    std::uint32_t if_id = 0;
    PolicyType type = PolicyType::main;
    std::string security_context;

    static PolicyId of(const XfrmPolicy& policy);
};

// Short text for logs and error messages: "esp spi 0x1234 10.0.0.1->10.0.0.2".
std::string describe(const XfrmState& state);
std::string describe(const StateId& id);
std::string describe(const XfrmPolicy& policy);
std::string describe(const PolicyId& id);

} // namespace netlink
