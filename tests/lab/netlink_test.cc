// netlink::Mirror and netlink::Client on the lab kernel, which has ESP, AH,
// IPComp and IP-in-IP.  Changes are made with `ip xfrm`, and after each
// step the mirror must list what `ip -o xfrm state/policy` lists.  Each test
// works in a network namespace of its own.
#include "netlink/client.h"
#include "netlink/error.h"
#include "netlink/mirror.h"
#include "tests/netlink/ip_xfrm.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using netlink_test::ip;
using netlink_test::MirrorThreadHold;
using netlink_test::Netns;
using netlink_test::run;

const std::string K16 = "0x00112233445566778899aabbccddeeff";
const std::string K20 = "0x0102030405060708090a0b0c0d0e0f1011121314";

// What differs between ip's listing and the mirror's, entry by entry.
::testing::AssertionResult differences(const std::multiset<std::string>& ks,
                                       const std::multiset<std::string>& ms,
                                       const std::multiset<std::string>& kp,
                                       const std::multiset<std::string>& mp) {
    auto r = ::testing::AssertionFailure() << "mirror differs from ip xfrm\n";
    auto only = [&](const char* what, const std::multiset<std::string>& in,
                    const std::multiset<std::string>& not_in) {
        std::vector<std::string> extra;
        std::set_difference(in.begin(), in.end(), not_in.begin(), not_in.end(),
                            std::back_inserter(extra));
        r << what << " (" << extra.size() << " of " << in.size() << "):\n";
        for (std::size_t n = 0; n < extra.size() && n < 20; ++n)
            r << "  " << extra[n] << "\n";
    };
    only("states only ip lists", ks, ms);
    only("states only the mirror lists", ms, ks);
    only("policies only ip lists", kp, mp);
    only("policies only the mirror lists", mp, kp);
    return r;
}

// Polls until the mirror lists what ip lists, states and policies.
::testing::AssertionResult mirror_equals_ip(const netlink::Mirror& mirror, const Netns& ns,
                                            std::chrono::seconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::multiset<std::string> ks, ms, kp, mp;
    for (;;) {
        auto snap = mirror.snapshot();
        ks = netlink_test::ip_states(ns.name());
        kp = netlink_test::ip_policies(ns.name());
        ms = netlink_test::mirror_states(*snap, ns.name());
        mp = netlink_test::mirror_policies(*snap);
        if (ks == ms && kp == mp)
            return ::testing::AssertionSuccess();
        if (std::chrono::steady_clock::now() >= deadline)
            break;
        mirror.wait_for_change(snap->generation(), std::chrono::steady_clock::now() + 200ms);
    }
    return differences(ks, ms, kp, mp);
}

// No polling: once catch_up() returns, a change ip made before is in the
// snapshot (states: `expected`, ip's listing taken after the change).
::testing::AssertionResult mirror_equals_now(const netlink::Mirror& mirror, const Netns& ns,
                                             const std::multiset<std::string>& expected) {
    if (!mirror.catch_up(std::chrono::steady_clock::now() + 10s))
        return ::testing::AssertionFailure() << "catch_up() timed out";
    auto snap = mirror.snapshot();
    auto ms = netlink_test::mirror_states(*snap, ns.name());
    if (ms == expected)
        return ::testing::AssertionSuccess();
    return differences(expected, ms, {}, {});
}

netlink::MirrorOptions quiet(const Netns& ns) {
    netlink::MirrorOptions options;
    options.netns_fd = ns.fd();
    options.resync_interval = 0ms; // prove that events (and targeted checks) suffice
    return options;
}

std::string esp(const std::string& src, const std::string& dst, const std::string& spi,
                const std::string& rest = "mode transport reqid 2") {
    return " xfrm state add src " + src + " dst " + dst + " proto esp spi " + spi + " " + rest +
           " enc 'cbc(aes)' " + K16 + " auth-trunc 'hmac(sha1)' " + K20 + " 96";
}

TEST(NetlinkLab, MirrorFollowsEspAhIpcompAndTheKernelsIpipStates) {
    Netns ns;
    const std::string ipn = ip(ns.name());
    netlink::Mirror mirror(quiet(ns));
    mirror.start();

    // The man page's group: tun+comp+esp+ah towards 192.168.2.110.
    run(ipn + " xfrm state add src 192.168.2.100 dst 192.168.2.110 proto comp spi 0x3d0 "
              "reqid 3 mode tunnel comp deflate");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns)); // incl. proto 4, made without an event
    run(ipn + esp("192.168.2.100", "192.168.2.110", "0x187a101b"));
    run(ipn +
        " xfrm state add src 192.168.2.100 dst 192.168.2.110 proto ah spi 0x187a101a "
        "reqid 1 mode transport auth 'hmac(sha1)' " +
        K20);
    run(ipn + " xfrm policy add src 192.168.2.100/32 dst 192.168.2.110/32 dir out "
              "tmpl src 192.168.2.100 dst 192.168.2.110 proto comp spi 0x3d0 reqid 3 mode tunnel "
              "tmpl proto esp spi 0x187a101b reqid 2 mode transport "
              "tmpl proto ah spi 0x187a101a reqid 1 mode transport");
    // IPv6: IPComp brings a proto 41 state.
    run(ipn + " xfrm state add src 3049:1::1 dst 3049:1::2 proto comp spi 0x3d0 reqid 3 "
              "mode tunnel comp deflate");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));

    auto snap = mirror.snapshot();
    std::size_t tunnels = 0;
    for (const auto& s : snap->states())
        tunnels += s.is_kernel_tunnel();
    EXPECT_EQ(tunnels, 2u);
    const auto* ipip =
        snap->find({netlink::parse_address("192.168.2.110"), 0xc0a80264, IPPROTO_IPIP, AF_INET});
    ASSERT_TRUE(ipip);
    EXPECT_EQ(ipip->reqid, 0u);

    // Deleting the IPComp state makes the kernel drop its IPIP state later,
    // silently.
    run(ipn + " xfrm state delete src 192.168.2.100 dst 192.168.2.110 proto comp spi 0x3d0");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    EXPECT_FALSE(mirror.snapshot()->find(ipip->id));

    // Flush ESP only, then everything (the v6 IPIP state goes with its comp).
    run(ipn + " xfrm state flush proto esp");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    run(ipn + " xfrm state flush");
    run(ipn + " xfrm policy flush");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    EXPECT_EQ(mirror.snapshot()->states().size(), 0u);
    EXPECT_EQ(mirror.counters().resyncs, 1u);
    EXPECT_EQ(mirror.counters().errors, 0u) << mirror.counters().last_error;
}

TEST(NetlinkLab, HardExpiryRemovesTheStateWithoutADelete) {
    Netns ns;
    netlink::Mirror mirror(quiet(ns));
    mirror.start();
    run(ip(ns.name()) + esp("10.0.0.1", "10.0.0.2", "0x2000", "mode tunnel reqid 5") +
        " limit time-hard 2");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    ASSERT_EQ(mirror.snapshot()->states().size(), 1u);

    // The kernel sends only EXPIRE(hard); poll the mirror with a deadline.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!mirror.snapshot()->states().empty() && std::chrono::steady_clock::now() < deadline)
        mirror.wait_for_change(mirror.generation(), std::chrono::steady_clock::now() + 500ms);
    EXPECT_TRUE(mirror.snapshot()->states().empty());
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    EXPECT_EQ(mirror.counters().resyncs, 1u); // the event did it, not a resync
}

TEST(NetlinkLab, UpdateOfAStateNeverSeenTriggersAResync) {
    Netns ns;
    const std::string ipn = ip(ns.name());
    netlink::Mirror mirror(quiet(ns));
    mirror.start();
    // ALLOCSPI makes a larval state without any event...
    std::string out = run(ipn + " xfrm state allocspi src 10.0.0.1 dst 10.0.0.2 proto esp "
                                "mode tunnel reqid 9 min 0x300 max 0x300");
    ASSERT_NE(out.find("0x00000300"), std::string::npos) << out;
    // ... and keying it is an UPDSA of a state the mirror never saw.
    run(ipn +
        " xfrm state update src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x300 mode tunnel "
        "reqid 9 enc 'cbc(aes)' " +
        K16 + " auth 'hmac(sha1)' " + K20);
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (mirror.counters().unknown_object_resyncs == 0 &&
           std::chrono::steady_clock::now() < deadline)
        mirror.wait_for_change(mirror.generation(), std::chrono::steady_clock::now() + 200ms);
    EXPECT_EQ(mirror.counters().unknown_object_resyncs, 1u);
}

TEST(NetlinkLab, PeriodicResyncFindsLarvalStates) {
    Netns ns;
    auto options = quiet(ns);
    options.resync_interval = 300ms;
    netlink::Mirror mirror(options);
    mirror.start();
    run(ip(ns.name()) + " xfrm state allocspi src 10.0.0.1 dst 10.0.0.3 proto esp "
                        "mode tunnel reqid 4 min 0x400 max 0x400");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    const auto* larval =
        mirror.snapshot()->find({netlink::parse_address("10.0.0.3"), 0x400, IPPROTO_ESP, AF_INET});
    ASSERT_TRUE(larval);
    EXPECT_TRUE(larval->is_larval());
    EXPECT_GE(mirror.counters().periodic_resyncs, 1u);
}

TEST(NetlinkLab, ClientFindsRealStates) {
    Netns ns;
    const std::string ipn = ip(ns.name());
    run(ipn + esp("10.0.0.1", "10.0.0.2", "0x5000", "mode transport reqid 5 mark 9 mask 0xf"));
    run(ipn + " xfrm state add src 10.0.0.1 dst 10.0.0.2 proto comp spi 0x3d1 reqid 6 "
              "mode tunnel comp deflate");
    netlink::Client client({ns.fd()});
    netlink::StateId id{netlink::parse_address("10.0.0.2"), 0x5000, IPPROTO_ESP, AF_INET};

    EXPECT_TRUE(client.state_exists(id, {{9, 0xf}, 0, {}}));
    EXPECT_FALSE(client.state_exists(id)); // another mark: another state
    auto state = client.get_state(id, {{9, 0xf}, 0, {}});
    ASSERT_TRUE(state);
    EXPECT_EQ(state->details->crypt.name, "cbc(aes)");
    EXPECT_EQ(state->details->auth.trunc_bits, 96u);
    EXPECT_EQ(state->reqid, 5u);

    netlink::StateId ipip{netlink::parse_address("10.0.0.2"), 0, IPPROTO_IPIP, AF_INET};
    netlink::StateLookup from{{}, 0, netlink::parse_address("10.0.0.1")};
    EXPECT_TRUE(client.state_exists(ipip, from));
    auto tunnel = client.get_state(ipip, from);
    ASSERT_TRUE(tunnel);
    EXPECT_EQ(tunnel->id.spi, 0x0a000001u);
    EXPECT_EQ(client.states().size(), 3u);

    id.spi = 0x5001;
    EXPECT_FALSE(client.state_exists(id, {{9, 0xf}, 0, {}}));
    EXPECT_FALSE(client.get_state(id, {{9, 0xf}, 0, {}}));
}

TEST(NetlinkLab, BurstThatOverflowsTheEventSocketEndsInAnEqualResync) {
    Netns ns;
    auto options = quiet(ns);
    options.event_receive_buffer = 8192;
    netlink::Mirror mirror(options);

    // Hold the mirror thread while the burst runs, so that its small
    // socket surely overflows.
    MirrorThreadHold hold(mirror);
    mirror.start();
    run(ip(ns.name()) + esp("10.1.0.1", "10.1.0.2", "0x10"));
    ASSERT_TRUE(hold.wait_until_held(20s));

    // 10,000 changes: 6,000 adds, 4,000 deletes.
    std::string batch = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                        "/netlink-burst-" + ns.name();
    {
        std::ofstream out(batch);
        for (int i = 0; i < 6000; ++i)
            out << esp("10.1.0.1",
                       "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                       std::to_string(0x1000 + i))
                       .substr(1)
                << "\n";
        for (int i = 0; i < 4000; ++i)
            out << "xfrm state delete src 10.1.0.1 dst 10.2." << i / 250 << "." << i % 250 + 1
                << " proto esp spi " << 0x1000 + i << "\n";
    }
    run(ip(ns.name()) + " -batch " + batch);
    std::remove(batch.c_str());
    hold.release();
    EXPECT_TRUE(mirror_equals_ip(mirror, ns, 120s));
    EXPECT_EQ(mirror.snapshot()->states().size(), 2001u);
    auto c = mirror.counters();
    EXPECT_GE(c.lost_event_resyncs, 1u);
    EXPECT_EQ(c.errors, 0u) << c.last_error;
}

// Every field `ip -o -s xfrm state` prints and the mirror keeps (see
// netlink_test::state_text) on states that use them: lifetimes, flags,
// extra flags, mark, output mark, if_id, NAT-T encapsulation, replay
// windows (ESN too), selectors with ports, ICMP type/code, a GRE key and a
// device, AEAD, IPComp, a larval state.
TEST(NetlinkLab, MirrorHoldsEveryDetailIpPrints) {
    Netns ns;
    const std::string ipn = ip(ns.name());
    // ALLOCSPI sends no event: the larval state is there before the dump.
    run(ipn + " xfrm state allocspi src 10.0.0.1 dst 10.0.0.6 proto esp mode tunnel reqid 9 "
              "min 0x300 max 0x300");
    netlink::Mirror mirror(quiet(ns));
    mirror.start();
    run(ipn +
        esp("10.0.0.1", "10.0.0.2", "0x100",
            "mode tunnel reqid 2 replay-window 32 flag noecn flag af-unspec if_id 0x33 "
            "encap espinudp 4500 4501 0.0.0.0 mark 7 mask 0xff") +
        " limit time-soft 1000 limit time-hard 2000 limit byte-soft 1000 limit packet-hard 50 "
        "limit time-use-soft 500 limit time-use-hard 700");
    run(ipn +
        " xfrm state add src 10.0.0.1 dst 10.0.0.2 proto ah spi 0x101 mode transport "
        "reqid 1 auth 'hmac(sha1)' " +
        K20 + " sel src 10.0.0.1/32 dst 10.0.0.2/32 proto tcp sport 1000 dport 443");
    run(ipn + esp("10.0.0.1", "10.0.0.3", "0x102",
                  "mode tunnel reqid 3 extra-flag dont-encap-dscp tfcpad 16 output-mark 5 "
                  "flag decap-dscp flag wildrecv flag align4 "
                  "sel src 10.0.0.1 dst 10.0.0.3 proto icmp type 8 code 0 dev lo"));
    run(ipn + esp("10.0.0.1", "10.0.0.4", "0x103",
                  "mode transport reqid 4 output-mark 0x10 mask 0xff replay-window 64 "
                  "encap espinudp-nonike 4500 4500 10.9.9.9 "
                  "sel src 10.0.0.1 dst 10.0.0.4 proto gre key 5"));
    run(ipn +
        " xfrm state add src 3049:1::1 dst 3049:1::2 proto esp spi 0x1000 mode tunnel "
        "reqid 5 flag esn replay-window 128 aead 'rfc4106(gcm(aes))' " +
        K16 + "01020304 128");
    run(ipn + " xfrm state add src 10.0.0.1 dst 10.0.0.5 proto comp spi 0x3d0 mode tunnel "
              "reqid 6 comp deflate");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));

    // The comparison is only as good as what it reads from ip: the details
    // must be in it (a parser that dropped them would make both sides equal).
    auto listed = netlink_test::ip_states(ns.name());
    auto has = [&](const std::string& part) {
        return std::any_of(listed.begin(), listed.end(), [&](const std::string& text) {
            return text.find(part) != std::string::npos;
        });
    };
    EXPECT_EQ(listed.size(), 8u) << "with the IPComp state's IPIP helper";
    for (const char* part :
         {" replay-window 32 flags 21 if_id 33 auth hmac(sha1) 160/96 enc cbc(aes) 128 encap "
          "espinudp 4500 4501 0.0.0.0 lifetime 1000 INF INF 50 1000 2000 500 700 added 20",
          " mark 7/ff", " sel 10.0.0.1/32>10.0.0.2/32 proto 6 sport 1000 dport 443 uid 0",
          " flags 4a extra-flags 1 output-mark 5/ffffffff",
          " tfcpad 16 sel 10.0.0.1/32>10.0.0.3/32 proto 1 sport 8 dport 0 dev lo uid 0",
          " replay-window 64 flags 0 output-mark 10/ff",
          " encap espinudp-nonike 4500 4500 10.9.9.9", " proto 47 sport 0 dport 5",
          " replay-window 128 flags 80 aead rfc4106(gcm(aes)) 160/128", " comp deflate 0",
          " lifetime INF INF INF INF 0 30 0 0"})
        EXPECT_TRUE(has(part)) << "no state of ip's has \"" << part << "\"";
    for (const auto& text : listed)
        EXPECT_EQ(text.find(K16.substr(2, 8)), std::string::npos) << "key bytes in: " << text;
    EXPECT_EQ(mirror.counters().errors, 0u) << mirror.counters().last_error;
}

// `ip xfrm state update` changes what the kernel allows an update to change
// (lifetime limits, the encapsulation's ports and address, not its type) and
// keeps the rest.  The kernel's UPDSA event carries the request, though, not
// the state it kept: the mirror must show the kernel's state.
TEST(NetlinkLab, UpdatedStateEqualsIpInEveryDetail) {
    Netns ns;
    const std::string ipn = ip(ns.name());
    netlink::Mirror mirror(quiet(ns));
    mirror.start();
    const std::string id = " src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 mode tunnel";
    run(ipn + " xfrm state add" + id + " reqid 2 replay-window 32 flag noecn enc 'cbc(aes)' " +
        K16 + " auth-trunc 'hmac(sha1)' " + K20 + " 96 encap espinudp 4500 4500 0.0.0.0");
    auto added = netlink_test::ip_states(ns.name());
    EXPECT_TRUE(mirror_equals_now(mirror, ns, added));

    // A second on, an event that carried the request's time of adding
    // would show.
    std::this_thread::sleep_for(1100ms);
    run(ipn + " xfrm state update" + id + " reqid 2 replay-window 32 flag noecn enc 'cbc(aes)' " +
        K16 + " auth-trunc 'hmac(sha1)' " + K20 +
        " 96 encap espinudp 4501 4502 10.1.1.1 limit time-soft 100 limit time-hard 200");
    auto updated = netlink_test::ip_states(ns.name());
    ASSERT_NE(updated, added) << "the update changed nothing ip shows: this test proves nothing";
    EXPECT_TRUE(mirror_equals_now(mirror, ns, updated));
    const netlink::StateId sid{netlink::parse_address("10.0.0.2"), 0x100, IPPROTO_ESP, AF_INET};
    if (const auto* s = mirror.snapshot()->find(sid)) {
        EXPECT_EQ(s->lifetime().soft_add_expires_seconds, 100u);
        EXPECT_EQ(s->lifetime().hard_add_expires_seconds, 200u);
        ASSERT_TRUE(s->details->encap);
        EXPECT_EQ(s->details->encap->sport, 4501);
        EXPECT_EQ(s->details->encap->dport, 4502);
        EXPECT_EQ(netlink::to_string(s->details->encap->original_address, AF_INET), "10.1.1.1");
    } else {
        ADD_FAILURE() << "the mirror lost the state";
    }

    // The kernel keeps reqid, replay window, flags, algorithms and their
    // key lengths of a valid state; the request names others.
    run(ipn + " xfrm state update" + id + " reqid 7 replay-window 16 enc 'cbc(aes)' " + K16 +
        K16.substr(2) + " auth-trunc 'hmac(sha256)' " + K16 + K16.substr(2) +
        " 128 encap espinudp 4501 4502 10.1.1.1 limit time-soft 300 limit time-hard 400");
    auto kept = netlink_test::ip_states(ns.name());
    ASSERT_NE(kept, updated);
    EXPECT_TRUE(mirror_equals_now(mirror, ns, kept));
    if (const auto* s = mirror.snapshot()->find(sid)) {
        EXPECT_EQ(s->reqid, 2u);
        EXPECT_EQ(s->details->crypt.key_bits, 128u);
        EXPECT_EQ(s->lifetime().hard_add_expires_seconds, 400u);
    }
    auto c = mirror.counters();
    EXPECT_EQ(c.resyncs, 1u) << "events did it, not a resync";
    EXPECT_EQ(c.errors, 0u) << c.last_error;
}

} // namespace
