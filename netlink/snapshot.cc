// Snapshot lookups and the keys of the mirror's tables.
#include "netlink/snapshot.h"

#include <cstring>
#include <functional>
#include <string_view>

namespace netlink {

namespace {

std::size_t hash_id(const StateId& id) {
    std::size_t h = std::hash<std::string_view>{}(std::string_view(
        reinterpret_cast<const char*>(id.daddr.bytes.data()), id.daddr.bytes.size()));
    std::size_t rest = id.spi | std::size_t{id.proto} << 32 | std::size_t{id.family} << 40;
    return h ^ (rest * 0x9e3779b97f4a7c15ULL);
}

} // namespace

// The hash covers the id only, so that find(id) works whatever the mark.
std::size_t StateKeyTraits::hash(const XfrmState& state) {
    return hash_id(state.id);
}

bool StateKeyTraits::same_key(const XfrmState& a, const XfrmState& b) {
    if (!(a.id == b.id && a.mark == b.mark))
        return false;
    // Larval (acquire) states all have SPI 0 and may share a destination.
    return a.id.spi != 0 || (a.saddr == b.saddr && a.reqid == b.reqid);
}

std::size_t PolicyKeyTraits::hash(const XfrmPolicy& policy) {
    return std::size_t{policy.index} * 0x9e3779b97f4a7c15ULL;
}

bool PolicyKeyTraits::same_key(const XfrmPolicy& a, const XfrmPolicy& b) {
    return a.index == b.index;
}

bool operator==(const XfrmState& a, const XfrmState& b) {
    bool same_details =
        a.details == b.details || (a.details && b.details && *a.details == *b.details);
    return same_details && a.id == b.id && a.saddr == b.saddr && a.reqid == b.reqid &&
           a.mark == b.mark && a.if_id == b.if_id && a.mode == b.mode &&
           a.counters == b.counters && a.expires == b.expires;
}

const XfrmState* Snapshot::find(const StateId& id, const Mark& mark) const {
    XfrmState key;
    key.id = id;
    return states_.find(StateKeyTraits::hash(key),
                        [&](const XfrmState& s) { return s.id == id && s.mark == mark; });
}

const XfrmState* Snapshot::find(const StateId& id) const {
    XfrmState key;
    key.id = id;
    return states_.find(StateKeyTraits::hash(key), [&](const XfrmState& s) { return s.id == id; });
}

const XfrmPolicy* Snapshot::find_policy(std::uint32_t index) const {
    XfrmPolicy key;
    key.index = index;
    return policies_.find(key);
}

} // namespace netlink
