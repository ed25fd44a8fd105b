// Decoding XFRM events by message type (see event.h).
#include "netlink/event.h"

#include "netlink/policy.h"

#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

namespace netlink {

bool flush_matches(std::uint8_t flush_proto, std::uint8_t state_proto) {
    if (flush_proto == 0)
        return true;
    if (flush_proto == IPSEC_PROTO_ANY)
        return state_proto == IPPROTO_ESP || state_proto == IPPROTO_AH ||
               state_proto == IPPROTO_COMP;
    return flush_proto == state_proto;
}

namespace {

Event state_event(Event::Kind kind, const nlmsghdr* nlh, DetailsInterner& interner) {
    Event event;
    if (auto state = parse_state_message(nlh, interner)) {
        event.kind = kind;
        event.state = std::move(state);
    }
    return event;
}

Event deleted_state(const nlmsghdr* nlh, DetailsInterner& interner) {
    Event event;
    auto id = fixed_header<xfrm_usersa_id>(nlh);
    if (!id)
        return event;
    Attributes attrs(nlh, sizeof *id);
    event.kind = Event::Kind::state_erase;
    if (auto info = attrs.get<xfrm_usersa_info>(XFRMA_SA)) {
        event.state = state_from(*info, attrs, interner);
        return event;
    }
    // Without XFRMA_SA (never seen from Linux, but cheap to handle) the id
    // and mark still name the state; larval SPI-0 states need saddr too.
    XfrmState state;
    state.id = {address_from(id->daddr), ntohl(id->spi), id->proto,
                static_cast<std::uint8_t>(id->family)};
    if (auto mark = attrs.get<xfrm_mark>(XFRMA_MARK))
        state.mark = {mark->v, mark->m};
    if (auto saddr = attrs.get<xfrm_address_t>(XFRMA_SRCADDR))
        state.saddr = address_from(*saddr);
    event.state = std::move(state);
    return event;
}

Event expired_state(const nlmsghdr* nlh, DetailsInterner& interner) {
    Event event;
    auto expire = fixed_header<xfrm_user_expire>(nlh);
    // A soft expiry is a warning; a hard one deletes the state without a
    // DELSA, so this is the only news of it.
    if (!expire || !expire->hard)
        return event;
    event.kind = Event::Kind::state_erase;
    event.state = state_from(expire->state, Attributes(nlh, sizeof *expire), interner);
    return event;
}

Event deleted_policy(const nlmsghdr* nlh) {
    Event event;
    auto id = fixed_header<xfrm_userpolicy_id>(nlh);
    if (!id)
        return event;
    Attributes attrs(nlh, sizeof *id);
    auto info = attrs.get<xfrm_userpolicy_info>(XFRMA_POLICY);
    if (!info) {
        // Linux always sends XFRMA_POLICY; without it only the index (when
        // the deletion was by index) names the policy.
        event.kind = Event::Kind::policy_erase;
        XfrmPolicy policy;
        policy.index = id->index;
        policy.dir = static_cast<Direction>(id->dir);
        event.policy = std::move(policy);
        return event;
    }
    event.kind = Event::Kind::policy_erase;
    event.policy = policy_from(*info, attrs);
    return event;
}

Event expired_policy(const nlmsghdr* nlh) {
    Event event;
    auto expire = fixed_header<xfrm_user_polexpire>(nlh);
    if (!expire || !expire->hard)
        return event;
    event.kind = Event::Kind::policy_erase;
    event.policy = policy_from(expire->pol, Attributes(nlh, sizeof *expire));
    return event;
}

} // namespace

Event decode_event(const nlmsghdr* nlh, DetailsInterner& interner) {
    switch (nlh->nlmsg_type) {
    case XFRM_MSG_NEWSA:
        return state_event(Event::Kind::state_upsert, nlh, interner);
    case XFRM_MSG_UPDSA:
        return state_event(Event::Kind::state_update, nlh, interner);
    case XFRM_MSG_DELSA:
        return deleted_state(nlh, interner);
    case XFRM_MSG_EXPIRE:
        return expired_state(nlh, interner);
    case XFRM_MSG_FLUSHSA: {
        Event event;
        if (auto flush = fixed_header<xfrm_usersa_flush>(nlh)) {
            event.kind = Event::Kind::state_flush;
            event.flush_proto = flush->proto;
        }
        return event;
    }
    case XFRM_MSG_NEWPOLICY:
    case XFRM_MSG_UPDPOLICY: {
        Event event;
        if (auto policy = parse_policy_message(nlh)) {
            event.kind = Event::Kind::policy_upsert;
            event.policy = std::move(policy);
        }
        return event;
    }
    case XFRM_MSG_DELPOLICY:
        return deleted_policy(nlh);
    case XFRM_MSG_POLEXPIRE:
        return expired_policy(nlh);
    case XFRM_MSG_FLUSHPOLICY: {
        // No fixed header; the type comes as an attribute when not main.
        Event event;
        event.kind = Event::Kind::policy_flush;
        Attributes attrs(nlh, 0);
        if (auto type = attrs.get<xfrm_userpolicy_type>(XFRMA_POLICY_TYPE))
            event.flush_type = static_cast<PolicyType>(type->type);
        return event;
    }
    default:
        return {};
    }
}

} // namespace netlink
