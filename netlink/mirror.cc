// netlink::Mirror: dump, then follow events; resync when in doubt.
//
// The event socket is subscribed before any dump, because an XFRM dump is
// not a snapshot: it misses what is added behind its walker and still shows
// what is deleted after it passed.  Events that arrive during a dump are
// queued and applied afterwards; applying them is idempotent (upsert and
// erase by key), so replaying one the dump already reflects is harmless.
#include "netlink/mirror.h"

#include "netlink/error.h"
#include "netlink/event.h"
#include "netlink/message.h"
#include "netlink/policy.h"
#include "netlink/socket.h"
#include "netlink/state.h"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <linux/xfrm.h>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <set>
#include <sys/eventfd.h>
#include <thread>
#include <time.h>
#include <tuple>
#include <unistd.h>

namespace netlink {

const char* to_string(ResyncReason reason) {
    switch (reason) {
    case ResyncReason::initial:
        return "initial";
    case ResyncReason::lost_events:
        return "lost events";
    case ResyncReason::unknown_object:
        return "event about an unknown state";
    case ResyncReason::periodic:
        return "periodic";
    case ResyncReason::requested:
        return "requested";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

// A resync gives up after this many dumps that each lost events.
constexpr int resync_attempts = 5;

// The kernel removes IPComp's IPIP helper state from a deferred worker once
// its last IPComp user is gone, and says nothing.  After such a removal the
// mirror looks again at these delays; the periodic resync is the backstop.
constexpr std::chrono::milliseconds tunnel_check_delays[] = {
    std::chrono::milliseconds(20), std::chrono::milliseconds(200), std::chrono::seconds(1),
    std::chrono::seconds(3)};

bool is_comp_tunnel(const XfrmState& s) {
    return s.id.proto == IPPROTO_COMP && s.mode == Mode::tunnel;
}

template <class Table> bool same_contents(const Table& a, const Table& b) {
    if (a.size() != b.size())
        return false;
    for (const auto& item : b) {
        const auto* found = a.find(item);
        if (!found || !(*found == item))
            return false;
    }
    return true;
}

std::chrono::nanoseconds cpu_time_of(std::thread& thread) {
    clockid_t clock;
    timespec ts{};
    if (pthread_getcpuclockid(thread.native_handle(), &clock) != 0 ||
        clock_gettime(clock, &ts) != 0)
        return {};
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Datagrams held back during a dump; they may carry keys.
struct EventQueue {
    std::vector<std::vector<std::uint8_t>> datagrams;
    bool lost = false;

    void clear() {
        for (auto& d : datagrams)
            wipe(d.data(), d.size());
        datagrams.clear();
        lost = false;
    }
    ~EventQueue() { clear(); }
};

} // namespace

struct Mirror::State {
    MirrorOptions options;
    std::unique_ptr<Socket> events;
    std::unique_ptr<Socket> requests;
    int wake_fd = -1;
    DetailsInterner interner; // mirror thread only (start() before it)
    // Events come in batches of up to 64 datagrams per system call: the
    // lab kernel (and any busy host) makes each call costly.
    Datagrams incoming{64, 16 * 1024};
    EventQueue queue;
    // IPIP helpers to look up (id without SPI, source, mark), and when.
    std::set<std::tuple<StateId, Address, Mark>> tunnel_suspects;
    std::vector<Clock::time_point> tunnel_checks;
    // States named by UPDSA events, to read back from the kernel.  Such an
    // event carries the update request, not the state the kernel kept:
    // xfrm_state_update() changes only some fields of a valid state
    // (lifetime limits, the encapsulation's ports and address, output mark,
    // if_id), and the event echoes whatever else the request said (reqid,
    // algorithms, replay window, flags, selector) and the request's time
    // of adding.
    std::vector<XfrmState> updated;
    std::size_t events_since_prune = 0;

    mutable std::mutex mutex; // guards the members down to `counters`
    mutable std::condition_variable changed;
    StateTable states;
    PolicyTable policies;
    std::uint64_t generation = 0;
    mutable std::weak_ptr<const Snapshot> cached;
    MirrorCounters counters;

    std::mutex listeners_mutex;
    std::map<int, Listener> listeners;
    int next_listener = 1;

    std::atomic<bool> stopping{false};
    std::atomic<bool> resync_wanted{false};
    std::thread thread;

    // catch_up(): callers take a ticket (under `mutex`); the thread
    // serves every ticket taken before it drained the event socket, then
    // says so through `changed`.  `busy` is set from the moment poll()
    // finds events until their batch is published and its listeners ran.
    std::uint64_t catch_up_asked = 0;
    std::uint64_t catch_up_done = 0;
    std::atomic<bool> busy{false};

    void wake() {
        std::uint64_t one = 1;
        ssize_t n = write(wake_fd, &one, sizeof one);
        (void)n; // a full eventfd counter already means "awake"
    }

    // Applies one decoded event to the given tables; returns whether they
    // changed.  *unknown is set when an event names a state never seen.
    bool apply(Event& event, StateTable& st, PolicyTable& pt, bool* unknown) {
        using K = Event::Kind;
        switch (event.kind) {
        case K::ignore:
            return false;
        case K::state_update:
            if (unknown && !st.find(*event.state))
                *unknown = true;
            if (is_comp_tunnel(*event.state))
                suspect_tunnel(*event.state);
            updated.push_back(std::move(*event.state));
            return false; // read_back() brings the kernel's state
        case K::state_upsert:
            if (is_comp_tunnel(*event.state))
                suspect_tunnel(*event.state);
            return st.upsert(std::move(*event.state));
        case K::state_erase:
            if (is_comp_tunnel(*event.state))
                suspect_tunnel(*event.state);
            return st.erase(*event.state);
        case K::state_flush: {
            // The kernel's flush skips the states it owns (IPIP helpers);
            // they go later, silently.
            std::size_t gone = st.erase_if([&](const XfrmState& s) {
                bool doomed = !s.is_kernel_tunnel() && flush_matches(event.flush_proto, s.id.proto);
                if (doomed && is_comp_tunnel(s))
                    suspect_tunnel(s);
                return doomed;
            });
            return gone > 0;
        }
        case K::policy_upsert:
            return pt.upsert(std::move(*event.policy));
        case K::policy_erase:
            return pt.erase(*event.policy);
        case K::policy_flush:
            // Socket policies are not flushed by the kernel.
            return pt.erase_if([&](const XfrmPolicy& p) {
                return p.type == event.flush_type && !p.is_socket_policy();
            }) > 0;
        }
        return false;
    }

    // The IPIP helper of an IPComp tunnel state may have come or gone:
    // look at it again at the tunnel_check_delays.
    void suspect_tunnel(const XfrmState& comp) {
        auto proto =
            static_cast<std::uint8_t>(comp.id.family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP);
        tunnel_suspects.insert(
            {StateId{comp.id.daddr, 0, proto, comp.id.family}, comp.saddr, comp.mark});
        auto now = Clock::now();
        tunnel_checks.clear();
        for (auto delay : tunnel_check_delays)
            tunnel_checks.push_back(now + delay);
    }

    // Applies the messages of one datagram; returns whether anything changed.
    bool apply_datagram(const std::uint8_t* data, std::size_t size, StateTable& st, PolicyTable& pt,
                        bool* unknown, std::uint64_t* applied) {
        bool any = false;
        int len = static_cast<int>(size);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(nlh, len);
             nlh = NLMSG_NEXT(nlh, len)) {
            Event event = decode_event(nlh, interner);
            if (event.kind == Event::Kind::ignore)
                continue;
            ++*applied;
            any |= apply(event, st, pt, unknown);
        }
        return any;
    }

    // Reads everything queued on the event socket, applying it.  Returns the
    // reason for a resync when one is needed.
    std::optional<ResyncReason> follow_events(bool* changed_any) {
        std::optional<ResyncReason> need;
        for (;;) {
            std::size_t received;
            try {
                received = events->receive(incoming);
            } catch (const Error& e) {
                if (e.code() == ENOBUFS)
                    return ResyncReason::lost_events;
                throw;
            }
            if (received == 0)
                return need;
            bool unknown = false;
            bool truncated = false;
            std::uint64_t applied = 0;
            for (std::size_t i = 0; i < incoming.count(); ++i)
                truncated |= incoming.truncated(i);
            prune_now_and_then(incoming.count());
            {
                std::lock_guard lock(mutex);
                bool any = false;
                for (std::size_t i = 0; i < incoming.count(); ++i) {
                    // Only the kernel speaks on these groups; skip anything else.
                    if (incoming.sender(i) != 0 || incoming.truncated(i))
                        continue;
                    any |= apply_datagram(incoming.data(i), incoming.size(i), states, policies,
                                          &unknown, &applied);
                }
                if (any) {
                    ++generation;
                    *changed_any = true;
                }
                counters.events_applied += applied;
            }
            incoming.wipe();
            if (truncated)
                return ResyncReason::lost_events;
            if (unknown)
                need = ResyncReason::unknown_object;
            // A short batch means the queue is empty: spare a system call
            // (poll reports a later overflow as an error anyway).
            if (received < incoming.slots())
                return need;
        }
    }

    // Details no state uses any more pile up in the interner as states
    // come and go; forget them once there are as many events as entries.
    void prune_now_and_then(std::size_t received) {
        events_since_prune += received;
        if (events_since_prune > std::max<std::size_t>(4096, interner.size())) {
            interner.prune();
            events_since_prune = 0;
        }
    }

    // Moves what the event socket holds into the queue (during a dump).
    void queue_events() {
        for (;;) {
            try {
                if (events->receive(incoming) == 0)
                    return;
            } catch (const Error& e) {
                if (e.code() != ENOBUFS)
                    throw;
                queue.lost = true;
                continue;
            }
            for (std::size_t i = 0; i < incoming.count(); ++i) {
                if (incoming.truncated(i))
                    queue.lost = true;
                else if (incoming.sender(i) == 0)
                    queue.datagrams.emplace_back(incoming.data(i),
                                                 incoming.data(i) + incoming.size(i));
            }
            incoming.wipe();
        }
    }

    void discard_events() {
        queue_events();
        queue.clear();
    }

    // Dumps both tables and reconciles; true when the contents changed.
    bool resync(ResyncReason reason) {
        auto started = Clock::now();
        for (int attempt = 0; attempt < resync_attempts; ++attempt) {
            // Whatever is queued now happened before the dump starts, so
            // the dump shows its effect.
            discard_events();
            updated.clear();

            StateTable new_states;
            PolicyTable new_policies;
            auto between = [this] { queue_events(); };
            {
                Request request(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP);
                requests->transact(
                    request.bytes(), "dump states",
                    [&](const nlmsghdr* nlh) {
                        if (auto s = parse_state_message(nlh, interner))
                            new_states.upsert(std::move(*s));
                    },
                    between);
            }
            {
                Request request(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP);
                requests->transact(
                    request.bytes(), "dump policies",
                    [&](const nlmsghdr* nlh) {
                        if (auto p = parse_policy_message(nlh))
                            new_policies.upsert(std::move(*p));
                    },
                    between);
            }
            queue_events();
            if (queue.lost)
                continue;

            std::uint64_t applied = 0;
            for (const auto& d : queue.datagrams)
                apply_datagram(d.data(), d.size(), new_states, new_policies, nullptr, &applied);
            queue.clear();
            if (!updated.empty()) {
                auto read = read_back();
                apply_read_back(read, new_states);
            }

            bool differs;
            {
                std::lock_guard lock(mutex);
                differs =
                    !same_contents(states, new_states) || !same_contents(policies, new_policies);
                if (differs) {
                    states = std::move(new_states);
                    policies = std::move(new_policies);
                    ++generation;
                }
                counters.events_applied += applied;
                ++counters.resyncs;
                switch (reason) {
                case ResyncReason::initial:
                    break;
                case ResyncReason::lost_events:
                    ++counters.lost_event_resyncs;
                    break;
                case ResyncReason::unknown_object:
                    ++counters.unknown_object_resyncs;
                    break;
                case ResyncReason::periodic:
                    ++counters.periodic_resyncs;
                    break;
                case ResyncReason::requested:
                    ++counters.requested_resyncs;
                    break;
                }
                counters.last_resync_reason = reason;
                counters.last_resync_time = std::chrono::system_clock::now();
                counters.last_resync_duration = Clock::now() - started;
            }
            // Dropping the old tables (outside the lock) may free details.
            new_states = {};
            interner.prune();
            changed.notify_all();
            return differs;
        }
        throw Error(ENOBUFS, "resynchronising with the kernel: events were lost during each of " +
                                 std::to_string(resync_attempts) +
                                 " dumps; raise the event receive buffer");
    }

    // GETSA for each state in `updated`: found (the kernel's state) or
    // gone.  Without the mirror's lock; apply_read_back() applies.
    std::vector<std::pair<XfrmState, std::optional<XfrmState>>> read_back() {
        std::vector<std::pair<XfrmState, std::optional<XfrmState>>> results;
        std::set<std::tuple<StateId, Mark, Address>> asked;
        std::vector<XfrmState> named = std::move(updated);
        updated.clear();
        for (XfrmState& s : named) {
            if (!asked.emplace(s.id, s.mark, s.saddr).second)
                continue;
            Request request(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK);
            build_get_state(request, s.id, s.mark, s.saddr);
            std::optional<XfrmState> result;
            try {
                requests->transact(
                    request.bytes(), "get " + describe(s.id),
                    [&](const nlmsghdr* nlh) { result = parse_state_message(nlh, interner); });
            } catch (const Error& e) {
                if (e.code() != ESRCH && e.code() != ENOENT)
                    throw;
            }
            results.emplace_back(std::move(s), std::move(result));
        }
        return results;
    }

    static bool apply_read_back(std::vector<std::pair<XfrmState, std::optional<XfrmState>>>& read,
                                StateTable& st) {
        bool any = false;
        for (auto& [named, found] : read)
            any |= found ? st.upsert(std::move(*found)) : st.erase(named);
        return any;
    }

    // Looks up the suspected IPIP helpers and brings the mirror in line:
    // each is found (upsert) or not (erase whatever the mirror has for it).
    void check_tunnels() {
        std::vector<XfrmState> found;
        std::vector<std::tuple<StateId, Address, Mark>> gone;
        for (const auto& [id, saddr, mark] : tunnel_suspects) {
            Request request(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK);
            build_get_state(request, id, mark, saddr);
            std::optional<XfrmState> result;
            try {
                requests->transact(
                    request.bytes(), "get " + describe(id),
                    [&](const nlmsghdr* nlh) { result = parse_state_message(nlh, interner); });
            } catch (const Error& e) {
                if (e.code() != ESRCH && e.code() != ENOENT)
                    throw;
            }
            if (result)
                found.push_back(std::move(*result));
            else
                gone.emplace_back(id, saddr, mark);
        }
        if (tunnel_checks.empty())
            tunnel_suspects.clear();

        std::lock_guard lock(mutex);
        // What the mirror holds for the helpers that are gone; a scan, since
        // an IPv6 helper's SPI is a kernel counter the mirror cannot compute.
        std::vector<XfrmState> stale;
        if (!gone.empty()) {
            for (const XfrmState& s : states) {
                if (!s.is_kernel_tunnel())
                    continue;
                for (const auto& [id, saddr, mark] : gone)
                    if (s.id.daddr == id.daddr && s.id.proto == id.proto && s.saddr == saddr &&
                        s.mark == mark)
                        stale.push_back(s);
            }
        }
        bool any = false;
        for (const XfrmState& s : stale)
            any |= states.erase(s);
        for (XfrmState& s : found)
            any |= states.upsert(std::move(s));
        if (any)
            ++generation;
    }

    void notify(const MirrorChange& change) {
        changed.notify_all();
        std::lock_guard lock(listeners_mutex);
        for (auto& [id, listener] : listeners) {
            // A failing listener must not stop the others, nor the mirror.
            try {
                listener(change);
            } catch (const std::exception& e) {
                record_error(e);
            }
        }
    }

    // In a burst, waits (for a stop request at most) until the window
    // since the last batch has passed, so that the events queue up.
    void let_burst_gather(Clock::time_point last_batch) {
        auto until = last_batch + options.burst_window;
        auto now = Clock::now();
        if (options.burst_window.count() <= 0 || now >= until)
            return;
        auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now);
        timespec ts{static_cast<time_t>(left.count() / 1000000000),
                    static_cast<long>(left.count() % 1000000000)};
        pollfd wake{wake_fd, POLLIN, 0};
        ppoll(&wake, 1, &ts, nullptr);
    }

    void record_error(const std::exception& e) {
        std::lock_guard lock(mutex);
        ++counters.errors;
        counters.last_error = e.what();
    }

    void run() {
        auto interval = options.resync_interval;
        auto next_periodic = Clock::now() + interval;
        std::optional<ResyncReason> retry;
        Clock::time_point last_batch{};

        while (!stopping) {
            auto deadline = Clock::time_point::max();
            if (interval.count() > 0)
                deadline = next_periodic;
            if (!tunnel_checks.empty())
                deadline = std::min(deadline, tunnel_checks.front());
            if (retry)
                deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(500));
            int timeout = -1;
            if (deadline != Clock::time_point::max()) {
                auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
                timeout = static_cast<int>(std::max<std::int64_t>(0, left.count()));
            }

            pollfd fds[2] = {{events->fd(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
            poll(fds, 2, timeout);
            busy = true;
            if ((fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN) && !catch_up_pending())
                let_burst_gather(last_batch);
            if (fds[1].revents & POLLIN) {
                std::uint64_t count;
                ssize_t n = read(wake_fd, &count, sizeof count);
                (void)n;
            }
            if (stopping)
                break;

            // Taken before the socket is drained: every event queued before
            // these tickets is applied in this round.
            std::uint64_t before, asked;
            {
                std::lock_guard lock(mutex);
                before = generation;
                asked = catch_up_asked;
            }
            std::optional<ResyncReason> need = retry;
            retry.reset();
            if (resync_wanted.exchange(false))
                need = ResyncReason::requested;
            bool changed_any = false;
            try {
                if (auto why = follow_events(&changed_any); why && !need)
                    need = why;
                if (need) {
                    updated.clear(); // the resync reads them anyway
                } else if (!updated.empty()) {
                    auto read = read_back();
                    std::lock_guard lock(mutex);
                    if (apply_read_back(read, states))
                        ++generation;
                }
                if (!need && interval.count() > 0 && Clock::now() >= next_periodic)
                    need = ResyncReason::periodic;
                if (!tunnel_checks.empty() && Clock::now() >= tunnel_checks.front()) {
                    tunnel_checks.erase(tunnel_checks.begin());
                    check_tunnels();
                }
                if (need) {
                    bool differs = resync(*need);
                    next_periodic = Clock::now() + interval;
                    if (differs || *need != ResyncReason::periodic) {
                        std::uint64_t gen;
                        {
                            std::lock_guard lock(mutex);
                            gen = generation;
                        }
                        notify({gen, need});
                        need.reset();
                        caught_up(asked);
                        continue;
                    }
                }
            } catch (const std::exception& e) {
                record_error(e);
                retry = need ? need : std::optional(ResyncReason::lost_events);
            }
            std::uint64_t after;
            {
                std::lock_guard lock(mutex);
                after = generation;
            }
            if (after != before)
                notify({after, std::nullopt});
            caught_up(asked);
            last_batch = Clock::now();
        }
        busy = false;
        std::lock_guard lock(mutex);
        changed.notify_all(); // catch_up() callers see `stopping`
    }

    bool catch_up_pending() {
        std::lock_guard lock(mutex);
        return catch_up_asked != catch_up_done;
    }

    void caught_up(std::uint64_t asked) {
        {
            std::lock_guard lock(mutex);
            catch_up_done = std::max(catch_up_done, asked);
        }
        busy = false;
        changed.notify_all();
    }
};

Mirror::Mirror(MirrorOptions options) : state_(std::make_unique<State>()) {
    state_->options = options;
}

Mirror::~Mirror() {
    stop();
    if (state_->wake_fd >= 0)
        close(state_->wake_fd);
}

void Mirror::start() {
    State& s = *state_;
    if (s.thread.joinable())
        return;
    s.events = std::make_unique<Socket>(
        s.options.netns_fd,
        std::initializer_list<unsigned>{XFRMNLGRP_SA, XFRMNLGRP_POLICY, XFRMNLGRP_EXPIRE},
        s.options.event_receive_buffer);
    s.requests = std::make_unique<Socket>(s.options.netns_fd);
    if (s.wake_fd < 0)
        s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s.wake_fd < 0)
        throw Error(errno, std::string("eventfd: ") + std::strerror(errno));
    s.stopping = false;
    s.resync(ResyncReason::initial);
    s.thread = std::thread([&s] { s.run(); });
}

void Mirror::stop() {
    State& s = *state_;
    if (!s.thread.joinable())
        return;
    s.stopping = true;
    s.wake();
    s.thread.join();
}

std::shared_ptr<const Snapshot> Mirror::snapshot() const {
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    auto cached = s.cached.lock();
    if (cached && cached->generation() == s.generation)
        return cached;
    cached = std::make_shared<const Snapshot>(s.generation, s.states, s.policies);
    s.cached = cached;
    return cached;
}

std::uint64_t Mirror::generation() const {
    std::lock_guard lock(state_->mutex);
    return state_->generation;
}

bool Mirror::wait_for_change(std::uint64_t after, Clock::time_point deadline) const {
    State& s = *state_;
    std::unique_lock lock(s.mutex);
    return s.changed.wait_until(lock, deadline, [&] { return s.generation > after; });
}

int Mirror::add_listener(Listener listener) {
    std::lock_guard lock(state_->listeners_mutex);
    int id = state_->next_listener++;
    state_->listeners.emplace(id, std::move(listener));
    return id;
}

void Mirror::remove_listener(int id) {
    std::lock_guard lock(state_->listeners_mutex);
    state_->listeners.erase(id);
}

bool Mirror::catch_up(Clock::time_point deadline) const {
    State& s = *state_;
    if (!s.thread.joinable())
        return true;
    // Nothing queued and nothing being applied: already caught up.  The
    // thread sets `busy` before it reads the socket, so a socket found
    // empty with `busy` clear means every event read so far is published.
    pollfd queued{s.events->fd(), POLLIN, 0};
    if (poll(&queued, 1, 0) == 0 && !s.busy)
        return true;

    std::unique_lock lock(s.mutex);
    const std::uint64_t ticket = ++s.catch_up_asked;
    s.wake();
    return s.changed.wait_until(lock, deadline,
                                [&] { return s.catch_up_done >= ticket || s.stopping; }) &&
           !s.stopping;
}

void Mirror::request_resync() {
    state_->resync_wanted = true;
    if (state_->wake_fd >= 0)
        state_->wake();
}

MirrorCounters Mirror::counters() const {
    MirrorCounters c;
    {
        std::lock_guard lock(state_->mutex);
        c = state_->counters;
    }
    if (state_->thread.joinable())
        c.thread_cpu_time = cpu_time_of(state_->thread);
    return c;
}

} // namespace netlink
