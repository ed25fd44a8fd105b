// XFRM multicast events, decoded into what they mean for a mirror.
//
// Each message type has its own fixed header (DEL events carry an id and
// the object in XFRMA_SA / XFRMA_POLICY; EXPIRE wraps the state), so the
// decoder picks the header by type.  Pure: tested on captured bytes.
#pragma once

#include "netlink/state.h"
#include "netlink/xfrm_types.h"

#include <cstdint>
#include <linux/netlink.h>
#include <optional>

namespace netlink {

struct Event {
    enum class Kind {
        ignore,        // nothing the mirror keeps (ACQUIRE, soft expire, ...)
        state_upsert,  // NEWSA
        state_update,  // UPDSA: the state should be known already
        state_erase,   // DELSA, hard EXPIRE
        state_flush,   // FLUSHSA{proto}
        policy_upsert, // NEWPOLICY, UPDPOLICY
        policy_erase,  // DELPOLICY, hard POLEXPIRE
        policy_flush,  // FLUSHPOLICY{type}
    };
    Kind kind = Kind::ignore;
    std::optional<XfrmState> state;
    std::optional<XfrmPolicy> policy;
    std::uint8_t flush_proto = 0;             // state_flush
    PolicyType flush_type = PolicyType::main; // policy_flush
};

Event decode_event(const nlmsghdr* nlh, DetailsInterner& interner);

// The kernel's xfrm_id_proto_match: which states a FLUSHSA{proto} removes.
// 0 matches every protocol, IPSEC_PROTO_ANY (255) only ESP, AH and IPComp.
bool flush_matches(std::uint8_t flush_proto, std::uint8_t state_proto);

} // namespace netlink
