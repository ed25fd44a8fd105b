// netlink::Mirror: a live copy of the kernel's XFRM states and policies.
//
// start() joins the SA, POLICY and EXPIRE multicast groups, dumps states
// and policies, applies what happened meanwhile, and returns once the copy
// equals the kernel; a thread of its own then follows the events.  It
// re-dumps and reconciles when events were lost (ENOBUFS), when an event
// names something it never saw, when asked, and periodically, because the
// kernel changes some things silently (IPComp's IPIP state, larval states,
// counters).
//
// Thread-safety: every const member and add/remove_listener may be called
// from any thread.  start() and stop() from one owning thread.
#pragma once

#include "netlink/snapshot.h"
#include "netlink/xfrm_types.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace netlink {

struct MirrorOptions {
    // A network namespace to follow (an fd of /var/run/netns/NAME or
    // /proc/PID/ns/net); -1: the caller's.  Used by start() only; the fd
    // may be closed afterwards.
    int netns_fd = -1;
    // Receive buffer of the event socket in bytes (SO_RCVBUFFORCE, falling
    // back to SO_RCVBUF, which the kernel caps at net.core.rmem_max).
    int event_receive_buffer = 8 << 20;
    // Re-dump this often to pick up what the kernel changes without events;
    // zero: never.
    std::chrono::milliseconds resync_interval{std::chrono::seconds(60)};
    // During a burst of events (the previous batch ended less than this
    // long ago), wait this long for more before applying them: one wake-up
    // per window instead of one per event, which is most of the cost of
    // following.  An isolated change is applied at once.  Zero: never wait.
    std::chrono::microseconds burst_window{std::chrono::milliseconds(10)};
};

enum class ResyncReason {
    initial,        // start()
    lost_events,    // the event socket overflowed (ENOBUFS)
    unknown_object, // an event named a state or policy the mirror never saw
    periodic,       // resync_interval elapsed
    requested,      // request_resync()
};

const char* to_string(ResyncReason reason);

struct MirrorCounters {
    std::uint64_t events_applied = 0; // event messages applied after start()
    std::uint64_t resyncs = 0;        // all, the initial one included
    std::uint64_t lost_event_resyncs = 0;
    std::uint64_t unknown_object_resyncs = 0;
    std::uint64_t periodic_resyncs = 0;
    std::uint64_t requested_resyncs = 0;
    ResyncReason last_resync_reason = ResyncReason::initial;
    std::chrono::system_clock::time_point last_resync_time{};
    std::chrono::steady_clock::duration last_resync_duration{};
    std::uint64_t errors = 0; // failed resyncs (retried on the next wake-up)
    std::string last_error;   // their message
    // CPU time the mirror thread has used so far (not start()'s initial
    // sync, which runs on the caller's thread); zero when it is not running.
    std::chrono::nanoseconds thread_cpu_time{};
};

// What a listener is told.  Called on the mirror's thread after events
// changed the contents, and after every resync except periodic ones that
// found nothing to change (generation is then unchanged).  The initial sync
// in start() calls no listener: read snapshot() after start() returns.
struct MirrorChange {
    std::uint64_t generation = 0;
    std::optional<ResyncReason> resync; // set when this reports a resync
};

class Mirror {
public:
    using Listener = std::function<void(const MirrorChange&)>;

    explicit Mirror(MirrorOptions options = {});
    ~Mirror(); // stop()s
    Mirror(const Mirror&) = delete;
    Mirror& operator=(const Mirror&) = delete;

    // Subscribes, dumps, reconciles, then starts the thread.  Throws
    // netlink::Error (EPERM without CAP_NET_ADMIN, ...).
    void start();
    // Stops and joins the thread; the last snapshot stays readable.
    void stop();

    // The current contents.  Cheap: copies chunk pointers once per change.
    std::shared_ptr<const Snapshot> snapshot() const;
    std::uint64_t generation() const;

    // Waits until generation() > after or the deadline; true when it did.
    bool wait_for_change(std::uint64_t after, std::chrono::steady_clock::time_point deadline) const;

    // Listeners run on the mirror thread after each applied batch of events
    // that changed something, after the new snapshot is ready and with no
    // mirror lock held: they may call snapshot() and generation(), but must
    // be quick and must not call stop() or add/remove_listener.
    int add_listener(Listener listener);
    void remove_listener(int id);

    // Waits until every event the kernel had sent the mirror when it was
    // called is applied (and its listeners ran), or the deadline; true when
    // it is.  A change that `ip xfrm` made before the call is then in
    // snapshot().  Cheap when nothing is pending: one poll() of the event
    // socket; otherwise one round trip to the mirror thread, which skips
    // its burst window for it.
    bool catch_up(std::chrono::steady_clock::time_point deadline) const;

    // Asks the mirror thread to re-dump soon; returns at once.
    void request_resync();

    MirrorCounters counters() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace netlink
