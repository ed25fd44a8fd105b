// netlink::Client: requests to the kernel's XFRM over one netlink socket.
//
// Dumps of states and policies, one state by id, and the policy changes the
// control node needs (add, update, delete, by selector or by index).  Every
// call is synchronous: it sends one request and reads until the kernel's
// answer (ACK, error or the end of the dump) and throws netlink::Error with
// the kernel's extended-ACK message on failure.
//
// Not thread-safe: one Client per thread, or a mutex around it.  Receive
// buffers that held states are wiped after parsing; no key ever leaves this
// class.  A Client does not follow changes: that is the Mirror's job, on a
// socket of its own.
#pragma once

#include "netlink/xfrm_types.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace netlink {

class Socket;
class DetailsInterner;

struct ClientOptions {
    // A network namespace to work in (an fd of /var/run/netns/NAME or
    // /proc/PID/ns/net); -1: the caller's.  Only used while constructing.
    int netns_fd = -1;
};

// What the kernel needs besides StateId to find a state.
struct StateLookup {
    Mark mark;
    std::uint32_t if_id = 0;
    // Required for protocols other than ESP, AH and IPComp (the kernel's
    // IPIP helper states, proto 4/41), which it finds by (daddr, saddr).
    std::optional<Address> saddr;
};

class Client {
public:
    explicit Client(const ClientOptions& options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Every state / policy in the namespace, handed to `each` one by one.
    void dump_states(const std::function<void(XfrmState&&)>& each);
    void dump_policies(const std::function<void(XfrmPolicy&&)>& each);
    std::vector<XfrmState> states();
    std::vector<XfrmPolicy> policies();

    // One state; nullopt when the kernel has none (ESRCH).
    std::optional<XfrmState> get_state(const StateId& id, const StateLookup& lookup = {});
    // Cheaper than get_state: asks for the replay/lifetime record only (no
    // keys cross the socket) for ESP/AH/IPComp.
    bool state_exists(const StateId& id, const StateLookup& lookup = {});

    // NEWPOLICY: fails with EEXIST when the same policy (dir, selector,
    // mark, if_id, type, context) exists.  At most max_templates templates.
    void add_policy(const XfrmPolicy& policy);
    // UPDPOLICY: adds or atomically replaces (keeping the kernel's index).
    void update_policy(const XfrmPolicy& policy);
    // DELPOLICY; ENOENT when there is no such policy.
    void delete_policy(const PolicyId& id);
    void delete_policy(Direction dir, std::uint32_t index);
    std::optional<XfrmPolicy> get_policy(const PolicyId& id);
    // FLUSHPOLICY of the main policy type (socket policies stay).
    void flush_policies();

    // For poll() users that need it; the socket stays owned by the Client.
    int fd() const;

private:
    std::unique_ptr<Socket> socket_;
    std::unique_ptr<DetailsInterner> interner_;
};

} // namespace netlink
