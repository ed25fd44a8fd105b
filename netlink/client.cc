// netlink::Client: XFRM requests over a socket of its own (see client.h).
#include "netlink/client.h"

#include "netlink/error.h"
#include "netlink/message.h"
#include "netlink/policy.h"
#include "netlink/socket.h"
#include "netlink/state.h"

#include <cerrno>
#include <linux/xfrm.h>
#include <netinet/in.h>

namespace netlink {

Client::Client(const ClientOptions& options)
    : socket_(std::make_unique<Socket>(options.netns_fd)),
      interner_(std::make_unique<DetailsInterner>()) {}

Client::~Client() = default;

int Client::fd() const {
    return socket_->fd();
}

void Client::dump_states(const std::function<void(XfrmState&&)>& each) {
    Request request(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP);
    socket_->transact(request.bytes(), "dump states", [&](const nlmsghdr* nlh) {
        if (auto state = parse_state_message(nlh, *interner_))
            each(std::move(*state));
    });
    interner_->prune();
}

void Client::dump_policies(const std::function<void(XfrmPolicy&&)>& each) {
    Request request(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP);
    socket_->transact(request.bytes(), "dump policies", [&](const nlmsghdr* nlh) {
        if (auto policy = parse_policy_message(nlh))
            each(std::move(*policy));
    });
}

std::vector<XfrmState> Client::states() {
    std::vector<XfrmState> all;
    dump_states([&](XfrmState&& s) { all.push_back(std::move(s)); });
    return all;
}

std::vector<XfrmPolicy> Client::policies() {
    std::vector<XfrmPolicy> all;
    dump_policies([&](XfrmPolicy&& p) { all.push_back(std::move(p)); });
    return all;
}

namespace {

bool is_ipsec(std::uint8_t proto) {
    return proto == IPPROTO_ESP || proto == IPPROTO_AH || proto == IPPROTO_COMP;
}

} // namespace

std::optional<XfrmState> Client::get_state(const StateId& id, const StateLookup& lookup) {
    if (!is_ipsec(id.proto) && !lookup.saddr)
        throw Error(EINVAL, "get " + describe(id) +
                                ": the kernel needs a source address to "
                                "find a state of this protocol");
    Request request(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK);
    build_get_state(request, id, lookup.mark, lookup.saddr);
    std::optional<XfrmState> found;
    try {
        socket_->transact(request.bytes(), "get " + describe(id), [&](const nlmsghdr* nlh) {
            found = parse_state_message(nlh, *interner_);
        });
    } catch (const Error& e) {
        if (e.code() == ESRCH || e.code() == ENOENT)
            return std::nullopt;
        throw;
    }
    return found;
}

bool Client::state_exists(const StateId& id, const StateLookup& lookup) {
    if (!is_ipsec(id.proto))
        return get_state(id, lookup).has_value();
    Request request(XFRM_MSG_GETAE, NLM_F_REQUEST | NLM_F_ACK);
    build_get_state_events(request, id, lookup.mark);
    bool answered = false;
    try {
        socket_->transact(request.bytes(), "look up " + describe(id), [&](const nlmsghdr* nlh) {
            answered |= nlh->nlmsg_type == XFRM_MSG_NEWAE;
        });
    } catch (const Error& e) {
        if (e.code() == ESRCH || e.code() == ENOENT)
            return false;
        throw;
    }
    return answered;
}

void Client::add_policy(const XfrmPolicy& policy) {
    Request request(XFRM_MSG_NEWPOLICY, NLM_F_REQUEST | NLM_F_ACK);
    build_policy(request, policy);
    socket_->transact(request.bytes(), "add " + describe(policy));
}

void Client::update_policy(const XfrmPolicy& policy) {
    Request request(XFRM_MSG_UPDPOLICY, NLM_F_REQUEST | NLM_F_ACK);
    build_policy(request, policy);
    socket_->transact(request.bytes(), "update " + describe(policy));
}

void Client::delete_policy(const PolicyId& id) {
    Request request(XFRM_MSG_DELPOLICY, NLM_F_REQUEST | NLM_F_ACK);
    build_policy_id(request, id);
    socket_->transact(request.bytes(), "delete " + describe(id));
}

void Client::delete_policy(Direction dir, std::uint32_t index) {
    PolicyId id;
    id.dir = dir;
    id.index = index;
    delete_policy(id);
}

std::optional<XfrmPolicy> Client::get_policy(const PolicyId& id) {
    Request request(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_ACK);
    build_policy_id(request, id);
    std::optional<XfrmPolicy> found;
    try {
        socket_->transact(request.bytes(), "get " + describe(id),
                          [&](const nlmsghdr* nlh) { found = parse_policy_message(nlh); });
    } catch (const Error& e) {
        if (e.code() == ENOENT)
            return std::nullopt;
        throw;
    }
    return found;
}

void Client::flush_policies() {
    Request request(XFRM_MSG_FLUSHPOLICY, NLM_F_REQUEST | NLM_F_ACK);
    socket_->transact(request.bytes(), "flush policies");
}

} // namespace netlink
