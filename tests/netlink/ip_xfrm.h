// Test support for netlink/: what `ip xfrm` lists, reduced to comparable
// text, and the same reduction of the mirror's contents, so that tests can
// check that the mirror equals the kernel as an independent tool sees it.
// Also a throwaway network namespace.
#pragma once

#include "netlink/mirror.h"
#include "netlink/snapshot.h"
#include "netlink/xfrm_types.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace netlink_test {

// Runs a shell command; returns its standard output.  Throws
// std::runtime_error when it exits non-zero.
std::string run(const std::string& command);

// "ip" or "ip -n NAME".
std::string ip(const std::string& netns);

// Key fields: "src dst proto spi reqid mode [mark]" for a state;
// "selector dir index priority action [mark] [if_id] templates" for a policy.
std::string state_key(const netlink::XfrmState& state);
std::string policy_key(const netlink::XfrmPolicy& policy);

// The same from one line of `ip -o xfrm state` / `ip -o -s xfrm policy`.
std::string state_key_from_ip(const std::string& line);
std::string policy_key_from_ip(const std::string& line);

// Every field of a state that the mirror keeps and `ip -o -s xfrm state`
// prints: the key fields above, then replay window, flags, extra flags,
// output mark, if_id, each algorithm's name, key length in bits and
// truncation/ICV length, encapsulation, TFC padding, selector, the eight
// lifetime limits, the time of adding, security context, SA direction.
// Never key bytes (the mirror has none), nor what changes without events
// and so may be stale in a mirror by design (current bytes, packets, use
// time, last use, replay and integrity counters), nor the anti-replay
// sequence numbers, which the mirror does not keep.  `devices` names the
// selector's ifindex as ip does in the state's namespace (see devices());
// "if<N>" otherwise.
std::string state_text(const netlink::XfrmState& state,
                       const std::map<int, std::string>& devices = {});
std::string state_text_from_ip(const std::string& line);

// Interface index -> name in a network namespace ("" = this one).
std::map<int, std::string> devices(const std::string& netns);

// The states as state_text, the policies as policy_key.
std::multiset<std::string> ip_states(const std::string& netns);
std::multiset<std::string> ip_policies(const std::string& netns); // socket policies left out
// netns: where to look up the names of selector devices, if any.
std::multiset<std::string> mirror_states(const netlink::Snapshot& snapshot,
                                         const std::string& netns = "");
std::multiset<std::string> mirror_policies(const netlink::Snapshot& snapshot);

// A fresh network namespace with a unique name, deleted on destruction.
class Netns {
public:
    Netns();
    ~Netns();
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;

    const std::string& name() const { return name_; }
    int fd() const { return fd_; }

private:
    std::string name_;
    int fd_ = -1;
};

// Holds a mirror's thread inside a listener from the first change it reports
// until release(), so that a burst of kernel changes surely overflows the
// mirror's event socket.  Made before the mirror starts; released at the
// latest when destroyed, so that a failed assertion cannot leave the thread
// stuck and the mirror's stop() hanging (declare it after the mirror).
class MirrorThreadHold {
public:
    explicit MirrorThreadHold(netlink::Mirror& mirror);
    ~MirrorThreadHold() { release(); }
    MirrorThreadHold(const MirrorThreadHold&) = delete;
    MirrorThreadHold& operator=(const MirrorThreadHold&) = delete;

    // True once the mirror thread is held, false after `limit`.
    bool wait_until_held(std::chrono::seconds limit);
    void release();

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool hold_ = true;
    bool held_ = false;
};

} // namespace netlink_test
