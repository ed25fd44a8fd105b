// XFRM states: decoding xfrm_usersa_info and its attributes, interning the
// bulky part, and the requests that name one state.
#include "netlink/state.h"

#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <functional>
#include <netinet/in.h>

namespace netlink {

namespace {

constexpr std::uint16_t xfrma_sa_dir = 33; // Linux 6.10; absent from older headers

void mix(std::size_t& seed, std::size_t value) {
    seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

std::size_t hash_bytes(const void* data, std::size_t size) {
    return std::hash<std::string_view>{}(std::string_view(static_cast<const char*>(data), size));
}

std::size_t hash_algorithm(const Algorithm& a) {
    std::size_t h = std::hash<std::string>{}(a.name);
    mix(h, a.key_bits);
    mix(h, a.trunc_bits);
    mix(h, a.icv_bits);
    return h;
}

// The name in an xfrm_algo* is a fixed 64-byte field, NUL-terminated by
// the kernel; be careful anyway.
std::string algorithm_name(const char (&name)[64]) {
    return std::string(name, strnlen(name, sizeof name));
}

Algorithm read_algorithm(const Attributes& attrs, std::uint16_t type) {
    Algorithm alg;
    if (attrs.size(type) < sizeof(xfrm_algo))
        return alg;
    xfrm_algo a;
    std::memcpy(&a, attrs.data(type), sizeof a);
    alg.name = algorithm_name(a.alg_name);
    alg.key_bits = a.alg_key_len;
    return alg;
}

Algorithm read_auth(const Attributes& attrs) {
    if (attrs.size(XFRMA_ALG_AUTH_TRUNC) >= sizeof(xfrm_algo_auth)) {
        xfrm_algo_auth a;
        std::memcpy(&a, attrs.data(XFRMA_ALG_AUTH_TRUNC), sizeof a);
        Algorithm alg;
        alg.name = algorithm_name(a.alg_name);
        alg.key_bits = a.alg_key_len;
        alg.trunc_bits = a.alg_trunc_len;
        return alg;
    }
    return read_algorithm(attrs, XFRMA_ALG_AUTH);
}

Algorithm read_aead(const Attributes& attrs) {
    Algorithm alg;
    if (attrs.size(XFRMA_ALG_AEAD) < sizeof(xfrm_algo_aead))
        return alg;
    xfrm_algo_aead a;
    std::memcpy(&a, attrs.data(XFRMA_ALG_AEAD), sizeof a);
    alg.name = algorithm_name(a.alg_name);
    alg.key_bits = a.alg_key_len;
    alg.icv_bits = a.alg_icv_len;
    return alg;
}

template <class T> T get_or(const Attributes& attrs, std::uint16_t type, T fallback) {
    auto value = attrs.get<T>(type);
    return value ? *value : fallback;
}

} // namespace

std::size_t hash_value(const StateDetails& d) {
    std::size_t h = hash_bytes(&d.selector.daddr, sizeof d.selector.daddr);
    mix(h, hash_bytes(&d.selector.saddr, sizeof d.selector.saddr));
    mix(h, d.selector.family | d.selector.prefixlen_d << 16 | d.selector.prefixlen_s << 24);
    mix(h, d.selector.dport | std::size_t{d.selector.sport} << 16 |
               std::size_t{d.selector.proto} << 32);
    mix(h, d.lifetime.soft_byte_limit ^ d.lifetime.hard_add_expires_seconds ^
               d.lifetime.soft_add_expires_seconds);
    mix(h, hash_algorithm(d.auth));
    mix(h, hash_algorithm(d.crypt));
    mix(h, hash_algorithm(d.aead));
    mix(h, hash_algorithm(d.comp));
    mix(h, d.flags | std::size_t{d.replay_window} << 8);
    mix(h, d.encap ? d.encap->sport | std::size_t{d.encap->dport} << 16 : 1);
    mix(h, d.output_mark.value);
    return h;
}

std::shared_ptr<const StateDetails> DetailsInterner::intern(StateDetails&& details) {
    std::size_t h = hash_value(details);
    auto [first, last] = pool_.equal_range(h);
    for (auto it = first; it != last; ++it)
        if (*it->second == details)
            return it->second;
    auto shared = std::make_shared<const StateDetails>(std::move(details));
    pool_.emplace(h, shared);
    return shared;
}

void DetailsInterner::prune() {
    std::erase_if(pool_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

Address address_from(const xfrm_address_t& address) {
    Address a;
    std::memcpy(a.bytes.data(), &address, sizeof a.bytes);
    return a;
}

xfrm_address_t address_to(const Address& address) {
    xfrm_address_t a;
    std::memcpy(&a, address.bytes.data(), sizeof a);
    return a;
}

Selector selector_from(const xfrm_selector& s) {
    Selector sel;
    sel.daddr = address_from(s.daddr);
    sel.saddr = address_from(s.saddr);
    sel.dport = ntohs(s.dport);
    sel.dport_mask = ntohs(s.dport_mask);
    sel.sport = ntohs(s.sport);
    sel.sport_mask = ntohs(s.sport_mask);
    sel.family = s.family;
    sel.prefixlen_d = s.prefixlen_d;
    sel.prefixlen_s = s.prefixlen_s;
    sel.proto = s.proto;
    sel.ifindex = s.ifindex;
    sel.user = s.user;
    return sel;
}

xfrm_selector selector_to(const Selector& sel) {
    xfrm_selector s{};
    s.daddr = address_to(sel.daddr);
    s.saddr = address_to(sel.saddr);
    s.dport = htons(sel.dport);
    s.dport_mask = htons(sel.dport_mask);
    s.sport = htons(sel.sport);
    s.sport_mask = htons(sel.sport_mask);
    s.family = sel.family;
    s.prefixlen_d = sel.prefixlen_d;
    s.prefixlen_s = sel.prefixlen_s;
    s.proto = sel.proto;
    s.ifindex = sel.ifindex;
    s.user = sel.user;
    return s;
}

LifetimeConfig lifetime_from(const xfrm_lifetime_cfg& c) {
    return {c.soft_byte_limit,          c.hard_byte_limit,          c.soft_packet_limit,
            c.hard_packet_limit,        c.soft_add_expires_seconds, c.hard_add_expires_seconds,
            c.soft_use_expires_seconds, c.hard_use_expires_seconds};
}

xfrm_lifetime_cfg lifetime_to(const LifetimeConfig& l) {
    xfrm_lifetime_cfg c{};
    c.soft_byte_limit = l.soft_byte_limit;
    c.hard_byte_limit = l.hard_byte_limit;
    c.soft_packet_limit = l.soft_packet_limit;
    c.hard_packet_limit = l.hard_packet_limit;
    c.soft_add_expires_seconds = l.soft_add_expires_seconds;
    c.hard_add_expires_seconds = l.hard_add_expires_seconds;
    c.soft_use_expires_seconds = l.soft_use_expires_seconds;
    c.hard_use_expires_seconds = l.hard_use_expires_seconds;
    return c;
}

LifetimeCurrent current_from(const xfrm_lifetime_cur& c) {
    return {c.bytes, c.packets, c.add_time, c.use_time};
}

// Moves the four time limits into `expires` when they all fit in 32 bits
// (as they do: seconds), so that the details of states that differ only in
// them are shared.
void split_time_limits(LifetimeConfig& lifetime, std::array<std::uint32_t, 4>& expires) {
    std::uint64_t* times[] = {
        &lifetime.soft_add_expires_seconds, &lifetime.hard_add_expires_seconds,
        &lifetime.soft_use_expires_seconds, &lifetime.hard_use_expires_seconds};
    for (const std::uint64_t* t : times)
        if (*t > UINT32_MAX)
            return;
    for (std::size_t i = 0; i < 4; ++i) {
        expires[i] = static_cast<std::uint32_t>(*times[i]);
        *times[i] = 0;
    }
}

XfrmState state_from(const xfrm_usersa_info& info, const Attributes& attrs,
                     DetailsInterner& interner) {
    XfrmState state;
    state.id.daddr = address_from(info.id.daddr);
    state.id.spi = ntohl(info.id.spi);
    state.id.proto = info.id.proto;
    state.id.family = static_cast<std::uint8_t>(info.family);
    state.saddr = address_from(info.saddr);
    state.reqid = info.reqid;
    state.mode = static_cast<Mode>(info.mode);
    if (auto mark = attrs.get<xfrm_mark>(XFRMA_MARK))
        state.mark = {mark->v, mark->m};
    state.if_id = get_or<std::uint32_t>(attrs, XFRMA_IF_ID, 0);
    state.counters.current = current_from(info.curlft);
    state.counters.last_used = get_or<std::uint64_t>(attrs, XFRMA_LASTUSED, 0);
    state.counters.replay_window_seen = info.stats.replay_window;
    state.counters.replay = info.stats.replay;
    state.counters.integrity_failed = info.stats.integrity_failed;

    StateDetails d;
    d.selector = selector_from(info.sel);
    d.lifetime = lifetime_from(info.lft);
    split_time_limits(d.lifetime, state.expires);
    d.auth = read_auth(attrs);
    d.crypt = read_algorithm(attrs, XFRMA_ALG_CRYPT);
    d.aead = read_aead(attrs);
    d.comp = read_algorithm(attrs, XFRMA_ALG_COMP);
    if (auto encap = attrs.get<xfrm_encap_tmpl>(XFRMA_ENCAP))
        d.encap = Encapsulation{encap->encap_type, ntohs(encap->encap_sport),
                                ntohs(encap->encap_dport), address_from(encap->encap_oa)};
    d.output_mark = {get_or<std::uint32_t>(attrs, XFRMA_SET_MARK, 0),
                     get_or<std::uint32_t>(attrs, XFRMA_SET_MARK_MASK, 0)};
    d.replay_window = info.replay_window;
    // xfrm_replay_state_esn ends in a flexible bitmap: read the one field.
    constexpr std::size_t esn_window = offsetof(xfrm_replay_state_esn, replay_window);
    if (attrs.size(XFRMA_REPLAY_ESN_VAL) >= esn_window + 4)
        std::memcpy(&d.replay_window,
                    static_cast<const std::uint8_t*>(attrs.data(XFRMA_REPLAY_ESN_VAL)) + esn_window,
                    4);
    d.extra_flags = get_or<std::uint32_t>(attrs, XFRMA_SA_EXTRA_FLAGS, 0);
    d.tfcpad = get_or<std::uint32_t>(attrs, XFRMA_TFCPAD, 0);
    d.flags = info.flags;
    d.direction = get_or<std::uint8_t>(attrs, xfrma_sa_dir, 0);
    if (attrs.size(XFRMA_SEC_CTX) > sizeof(xfrm_user_sec_ctx)) {
        auto ctx = *attrs.get<xfrm_user_sec_ctx>(XFRMA_SEC_CTX);
        std::size_t room = attrs.size(XFRMA_SEC_CTX) - sizeof(xfrm_user_sec_ctx);
        d.security_context.assign(static_cast<const char*>(attrs.data(XFRMA_SEC_CTX)) +
                                      sizeof(xfrm_user_sec_ctx),
                                  std::min<std::size_t>(ctx.ctx_len, room));
    }
    state.details = interner.intern(std::move(d));
    return state;
}

std::optional<XfrmState> parse_state_message(const nlmsghdr* nlh, DetailsInterner& interner) {
    if (nlh->nlmsg_type != XFRM_MSG_NEWSA && nlh->nlmsg_type != XFRM_MSG_UPDSA)
        return std::nullopt;
    auto info = fixed_header<xfrm_usersa_info>(nlh);
    if (!info)
        return std::nullopt;
    XfrmState state = state_from(*info, Attributes(nlh, sizeof *info), interner);
    return state;
}

namespace {

xfrm_usersa_id usersa_id(const StateId& id) {
    xfrm_usersa_id sa{};
    sa.daddr = address_to(id.daddr);
    sa.spi = htonl(id.spi);
    sa.family = id.family;
    sa.proto = id.proto;
    return sa;
}

void put_mark(Request& request, const Mark& mark) {
    if (mark.value || mark.mask) {
        xfrm_mark m{mark.value, mark.mask};
        request.put_attribute(XFRMA_MARK, m);
    }
}

} // namespace

void build_get_state(Request& request, const StateId& id, const Mark& mark,
                     const std::optional<Address>& saddr) {
    request.put_header(usersa_id(id));
    put_mark(request, mark);
    if (saddr)
        request.put_attribute(XFRMA_SRCADDR, address_to(*saddr));
}

void build_get_state_events(Request& request, const StateId& id, const Mark& mark) {
    xfrm_aevent_id ae{};
    ae.sa_id = usersa_id(id);
    request.put_header(ae);
    put_mark(request, mark);
}

} // namespace netlink
