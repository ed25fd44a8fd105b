// netlink_bench: how the mirror does at scale, on the lab kernel.
//
//   netlink_bench [--states N] [--policies M] [--changes C] [--rcvbuf BYTES]
//                 [--varied-lifetimes 0|1]
//
// Loads N ESP states and M policies (its own NEWSA/NEWPOLICY messages, in
// batches: `ip -batch` would take minutes in the lab), then prints
//   - the mirror's initial sync (dump of states and policies) against
//     `ip -o xfrm state list >/dev/null` (and + `ip -o xfrm policy list`),
//     as wall-clock and CPU time ratios (the lab kernel is slow; CPU time
//     shows klipsfs's own share);
//   - the mirror's heap bytes per state (mallinfo2 deltas, with a snapshot
//     held, policies counted apart);
//   - C changes (half adds, half deletes) followed per second of the mirror
//     thread's CPU time, including any resync after lost events, and that
//     the mirror then equals a fresh dump.
// --rcvbuf sets the mirror's event socket buffer (default: the mirror's
// default); a small one shows the cost of the resync after lost events.
// --varied-lifetimes 1 gives every state a soft time limit of its own (IKE
// daemons spread rekeys with random margins, so real states differ here): no
// two states then share their details, the mirror's worst case for memory.
// Exits 1 when the mirror does not end equal to the kernel.  Run as root in
// a namespace of its own (it flushes the XFRM state it finds).
#include "netlink/client.h"
#include "netlink/error.h"
#include "netlink/mirror.h"
#include "netlink/socket.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <linux/xfrm.h>
#include <malloc.h>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::size_t states = 100000;
    std::size_t policies = 10000;
    std::size_t changes = 20000;
    int rcvbuf = netlink::MirrorOptions{}.event_receive_buffer; // the default, 8 MiB
    bool varied_lifetimes = false;
};

bool varied_lifetimes = false; // Options::varied_lifetimes, for add_state

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

double cpu_of(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double children_cpu() {
    rusage ru{};
    getrusage(RUSAGE_CHILDREN, &ru);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

// Bytes allocated, from the heap and from mmap (large blocks: the mirror's
// tables and buffers).  Only the main arena and mmap are counted, so every
// allocation measured is made on this thread (start()'s initial sync).
std::size_t heap_in_use() {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

// User and system CPU seconds of this process's threads other than the
// calling one (here: the mirror's), from /proc: shows where its time goes.
std::pair<double, double> other_threads_cpu() {
    double user = 0, system = 0;
    double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::string self = std::to_string(gettid());
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        if (entry.path().filename() == self)
            continue;
        std::ifstream in(entry.path() / "stat");
        std::string text((std::istreambuf_iterator<char>(in)), {});
        std::istringstream fields(text.substr(text.rfind(')') + 2));
        std::string f;
        // Fields 14 and 15 of stat (utime, stime); the text after ')' starts at 3.
        for (int i = 3; fields >> f && i <= 15; ++i) {
            if (i == 14)
                user += std::stod(f) / tick;
            if (i == 15)
                system += std::stod(f) / tick;
        }
    }
    return {user, system};
}

// Appends one message to a batch buffer.
class Batch {
public:
    explicit Batch(netlink::Socket& socket) : socket_(socket) {}

    void add(std::uint16_t type, const void* body, std::size_t size,
             const std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>>& attrs) {
        std::size_t start = buffer_.size();
        std::size_t length = NLMSG_HDRLEN + NLMSG_ALIGN(size);
        for (const auto& a : attrs)
            length += NLA_ALIGN(NLA_HDRLEN + a.second.size());
        buffer_.resize(start + length, 0);
        auto* nlh = reinterpret_cast<nlmsghdr*>(buffer_.data() + start);
        nlh->nlmsg_len = static_cast<std::uint32_t>(length);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST; // errors still come back; ACKs do not
        nlh->nlmsg_seq = ++seq_;
        std::memcpy(buffer_.data() + start + NLMSG_HDRLEN, body, size);
        std::size_t pos = start + NLMSG_HDRLEN + NLMSG_ALIGN(size);
        for (const auto& [t, v] : attrs) {
            nlattr a{static_cast<std::uint16_t>(NLA_HDRLEN + v.size()), t};
            std::memcpy(buffer_.data() + pos, &a, sizeof a);
            std::memcpy(buffer_.data() + pos + NLA_HDRLEN, v.data(), v.size());
            pos += NLA_ALIGN(NLA_HDRLEN + v.size());
        }
        if (++count_ == 200)
            flush();
    }

    void flush() {
        if (buffer_.empty())
            return;
        if (send(socket_.fd(), buffer_.data(), buffer_.size(), 0) < 0) {
            std::perror("netlink send");
            std::exit(2);
        }
        buffer_.clear();
        count_ = 0;
        check_errors();
    }

    void check_errors() {
        netlink::Datagrams reply;
        while (socket_.receive(reply)) {
            int len = static_cast<int>(reply.size(0));
            for (auto* n = reinterpret_cast<const nlmsghdr*>(reply.data(0)); NLMSG_OK(n, len);
                 n = NLMSG_NEXT(n, len)) {
                auto e = netlink::parse_kernel_error(n);
                if (e.code) {
                    std::fprintf(stderr, "%s\n", netlink::error_text("load", e).c_str());
                    std::exit(2);
                }
            }
        }
    }

private:
    netlink::Socket& socket_;
    std::vector<std::uint8_t> buffer_;
    std::uint32_t seq_ = 0;
    int count_ = 0;
};

std::vector<std::uint8_t> algo(const char* name, unsigned key_bits, int trunc_bits) {
    std::size_t head = trunc_bits >= 0 ? sizeof(xfrm_algo_auth) : sizeof(xfrm_algo);
    std::vector<std::uint8_t> v(head + key_bits / 8, 0x5a);
    std::memset(v.data(), 0, head);
    std::strncpy(reinterpret_cast<char*>(v.data()), name, 63);
    std::memcpy(v.data() + 64, &key_bits, 4);
    if (trunc_bits >= 0)
        std::memcpy(v.data() + 68, &trunc_bits, 4);
    return v;
}

in_addr_t peer(std::size_t i) {
    return htonl(0x0a000000u + 0x10000u + static_cast<std::uint32_t>(i));
}

void add_state(Batch& batch, std::size_t i, std::uint32_t spi) {
    xfrm_usersa_info sa{};
    sa.family = AF_INET;
    std::uint32_t src = htonl(0xc0000201);
    std::uint32_t dst = peer(i);
    std::memcpy(&sa.saddr, &src, 4);
    std::memcpy(&sa.id.daddr, &dst, 4);
    sa.id.spi = htonl(spi);
    sa.id.proto = IPPROTO_ESP;
    sa.mode = XFRM_MODE_TUNNEL;
    sa.reqid = static_cast<std::uint32_t>(i % 16384) + 1;
    sa.lft.soft_byte_limit = sa.lft.hard_byte_limit = XFRM_INF;
    sa.lft.soft_packet_limit = sa.lft.hard_packet_limit = XFRM_INF;
    if (varied_lifetimes) {
        sa.lft.hard_add_expires_seconds = 86400;
        sa.lft.soft_add_expires_seconds = 10000 + i + spi; // unique: nothing to share
    }
    sa.flags = XFRM_STATE_AF_UNSPEC;
    batch.add(XFRM_MSG_NEWSA, &sa, sizeof sa,
              {{XFRMA_ALG_CRYPT, algo("cbc(aes)", 128, -1)},
               {XFRMA_ALG_AUTH_TRUNC, algo("hmac(sha256)", 256, 128)}});
}

void delete_state(Batch& batch, std::size_t i, std::uint32_t spi) {
    xfrm_usersa_id id{};
    std::uint32_t dst = peer(i);
    std::memcpy(&id.daddr, &dst, 4);
    id.spi = htonl(spi);
    id.family = AF_INET;
    id.proto = IPPROTO_ESP;
    batch.add(XFRM_MSG_DELSA, &id, sizeof id, {});
}

void add_policy(Batch& batch, std::size_t i) {
    xfrm_userpolicy_info p{};
    p.sel.family = AF_INET;
    std::uint32_t src = htonl(0x0a800000u + static_cast<std::uint32_t>(i) * 256);
    std::uint32_t dst = htonl(0x0ac00000u);
    std::memcpy(&p.sel.saddr, &src, 4);
    std::memcpy(&p.sel.daddr, &dst, 4);
    p.sel.prefixlen_s = 24;
    p.sel.prefixlen_d = 16;
    p.dir = XFRM_POLICY_OUT;
    p.lft.soft_byte_limit = p.lft.hard_byte_limit = XFRM_INF;
    p.lft.soft_packet_limit = p.lft.hard_packet_limit = XFRM_INF;
    xfrm_user_tmpl t{};
    std::uint32_t a = htonl(0xc0000201), b = peer(i);
    std::memcpy(&t.saddr, &a, 4);
    std::memcpy(&t.id.daddr, &b, 4);
    t.id.proto = IPPROTO_ESP;
    t.family = AF_INET;
    t.mode = XFRM_MODE_TUNNEL;
    t.reqid = static_cast<std::uint32_t>(i % 16384) + 1;
    t.aalgos = t.ealgos = t.calgos = ~0u;
    std::vector<std::uint8_t> tv(sizeof t);
    std::memcpy(tv.data(), &t, sizeof t);
    batch.add(XFRM_MSG_NEWPOLICY, &p, sizeof p, {{XFRMA_TMPL, tv}});
}

// (daddr, spi) of every state, from a fresh dump or from the mirror.
using Keys = std::set<std::tuple<netlink::Address, std::uint32_t, std::uint8_t>>;

Keys kernel_keys(netlink::Client& client) {
    Keys keys;
    client.dump_states(
        [&](netlink::XfrmState&& s) { keys.emplace(s.id.daddr, s.id.spi, s.id.proto); });
    return keys;
}

Keys mirror_keys(const netlink::Snapshot& snap) {
    Keys keys;
    for (const auto& s : snap.states())
        keys.emplace(s.id.daddr, s.id.spi, s.id.proto);
    return keys;
}

double timed_ip(const char* command, double* cpu) {
    double c0 = children_cpu();
    auto t0 = Clock::now();
    if (std::system(command) != 0) {
        std::fprintf(stderr, "failed: %s\n", command);
        std::exit(2);
    }
    double wall = seconds(Clock::now() - t0);
    *cpu = children_cpu() - c0;
    return wall;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        auto v = std::strtoull(argv[i + 1], nullptr, 0);
        if (a == "--states")
            o.states = v;
        else if (a == "--policies")
            o.policies = v;
        else if (a == "--changes")
            o.changes = v;
        else if (a == "--rcvbuf")
            o.rcvbuf = static_cast<int>(v);
        else if (a == "--varied-lifetimes")
            o.varied_lifetimes = v != 0;
        else {
            std::fprintf(stderr,
                         "usage: %s [--states N] [--policies M] [--changes C] "
                         "[--rcvbuf BYTES] [--varied-lifetimes 0|1]\n",
                         argv[0]);
            return 2;
        }
    }
    varied_lifetimes = o.varied_lifetimes;
    try {
        std::system("ip xfrm state flush; ip xfrm policy flush");
        netlink::Socket loader(-1);
        Batch batch(loader);
        auto t0 = Clock::now();
        for (std::size_t i = 0; i < o.states; ++i)
            add_state(batch, i, 0x1000);
        for (std::size_t i = 0; i < o.policies; ++i)
            add_policy(batch, i);
        batch.flush();
        netlink::Client client;
        std::printf("loaded %zu states, %zu policies in %.1f s\n", kernel_keys(client).size(),
                    client.policies().size(), seconds(Clock::now() - t0));

        // The reference: ip listing the same kernel, output discarded.
        double ip_state_cpu, ip_policy_cpu;
        double ip_state_wall = timed_ip("ip -o xfrm state list >/dev/null", &ip_state_cpu);
        double ip_policy_wall = timed_ip("ip -o xfrm policy list >/dev/null", &ip_policy_cpu);

        // Policies' share of the heap, measured apart.
        std::size_t heap0 = heap_in_use();
        std::size_t policy_bytes;
        {
            netlink::PolicyTable table;
            client.dump_policies([&](netlink::XfrmPolicy&& p) { table.upsert(std::move(p)); });
            policy_bytes = heap_in_use() - heap0;
        }

        netlink::MirrorOptions mo;
        mo.event_receive_buffer = o.rcvbuf;
        mo.resync_interval = std::chrono::milliseconds(0);
        heap0 = heap_in_use();
        netlink::Mirror mirror(mo);
        double cpu0 = cpu_of(CLOCK_THREAD_CPUTIME_ID);
        auto s0 = Clock::now();
        mirror.start(); // the initial sync runs on this thread
        double sync_wall = seconds(Clock::now() - s0);
        double sync_cpu = cpu_of(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        auto snap = mirror.snapshot();
        std::size_t mirror_bytes = heap_in_use() - heap0;
        std::size_t n = snap->states().size();

        std::printf("initial sync: %zu states + %zu policies: %.3f s wall, %.3f s CPU\n", n,
                    snap->policies().size(), sync_wall, sync_cpu);
        std::printf("ip -o xfrm state list: %.3f s wall, %.3f s CPU; "
                    "ip -o xfrm policy list: %.3f s wall, %.3f s CPU\n",
                    ip_state_wall, ip_state_cpu, ip_policy_wall, ip_policy_cpu);
        std::printf("RATIO sync/ip-state-list: wall %.2f, CPU %.2f (target <= 1.0)\n",
                    sync_wall / ip_state_wall, sync_cpu / ip_state_cpu);
        std::printf("RATIO sync/(ip state+policy lists): wall %.2f, CPU %.2f\n",
                    sync_wall / (ip_state_wall + ip_policy_wall),
                    sync_cpu / (ip_state_cpu + ip_policy_cpu));
        std::printf("MEMORY mirror heap %zu bytes = %.1f bytes/state all in; "
                    "policies %zu bytes; states alone %.1f bytes/state (target <= 200)\n",
                    mirror_bytes, double(mirror_bytes) / double(n ? n : 1), policy_bytes,
                    double(mirror_bytes - std::min(mirror_bytes, policy_bytes)) /
                        double(n ? n : 1));
        snap.reset();

        // Changes: half adds of new states, half deletes of loaded ones.
        auto c0 = mirror.counters();
        auto split0 = other_threads_cpu();
        std::size_t adds = o.changes / 2, dels = o.changes - adds;
        auto w0 = Clock::now();
        for (std::size_t i = 0; i < adds; ++i)
            add_state(batch, i % o.states, 0x2000 + static_cast<std::uint32_t>(i / o.states));
        for (std::size_t i = 0; i < dels && i < o.states; ++i)
            delete_state(batch, i, 0x1000);
        batch.flush();
        Keys want = kernel_keys(client);
        // Compare once the mirror has been quiet for a moment: a snapshot
        // per change would make the mirror copy a chunk per change, which
        // is the consumer's cost, not the following's.
        auto deadline = Clock::now() + std::chrono::seconds(600);
        Keys have;
        for (;;) {
            std::uint64_t g = mirror.generation();
            if (mirror.wait_for_change(g, Clock::now() + std::chrono::milliseconds(500)))
                continue;
            have = mirror_keys(*mirror.snapshot());
            if (have == want || Clock::now() > deadline)
                break;
        }
        auto c1 = mirror.counters();
        auto split1 = other_threads_cpu();
        double thread_cpu =
            std::chrono::duration<double>(c1.thread_cpu_time - c0.thread_cpu_time).count();
        bool equal = have == want;
        // The lab kernel's thread clocks tick in jiffies: a short run can
        // show no CPU at all, and then there is no rate to print.
        char rate[64] = "too little CPU to measure a rate";
        if (thread_cpu >= 0.05)
            std::snprintf(rate, sizeof rate, "%.0f changes per CPU second",
                          double(o.changes) / thread_cpu);
        std::printf("CHANGES %zu followed in %.3f s wall, mirror thread CPU %.3f s: "
                    "%s (target >= 20000); events applied %llu, "
                    "resyncs after lost events %llu; mirror %s the kernel (%zu states)\n",
                    o.changes, seconds(Clock::now() - w0), thread_cpu, rate,
                    static_cast<unsigned long long>(c1.events_applied - c0.events_applied),
                    static_cast<unsigned long long>(c1.lost_event_resyncs - c0.lost_event_resyncs),
                    equal ? "equals" : "DIFFERS FROM", want.size());
        std::printf("mirror thread: user %.2f s, system %.2f s\n", split1.first - split0.first,
                    split1.second - split0.second);
        mirror.stop();
        std::system("ip xfrm state flush; ip xfrm policy flush");
        return equal ? 0 : 1;
    } catch (const netlink::Error& e) {
        std::fprintf(stderr, "netlink_bench: %s\n", e.what());
        return 2;
    }
}
