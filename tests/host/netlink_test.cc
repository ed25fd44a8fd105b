// netlink::Client and netlink::Mirror on this host's kernel, which has XFRM
// policies but no ESP/AH/IPComp states.  Each test makes its own network
// namespace and compares with `ip -n NS xfrm policy`, an independent tool.
#include "netlink/client.h"
#include "netlink/error.h"
#include "netlink/mirror.h"
#include "tests/netlink/ip_xfrm.h"

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>

namespace {

using namespace std::chrono_literals;
using netlink_test::ip;
using netlink_test::ip_policies;
using netlink_test::mirror_policies;
using netlink_test::MirrorThreadHold;
using netlink_test::Netns;
using netlink_test::run;

netlink::Selector subnets(const char* src, int src_len, const char* dst, int dst_len) {
    netlink::Selector sel;
    int family = 0;
    sel.saddr = netlink::parse_address(src, &family);
    sel.daddr = netlink::parse_address(dst);
    sel.prefixlen_s = static_cast<std::uint8_t>(src_len);
    sel.prefixlen_d = static_cast<std::uint8_t>(dst_len);
    sel.family = static_cast<std::uint16_t>(family);
    return sel;
}

netlink::Template tmpl(std::uint8_t proto, netlink::Mode mode, std::uint32_t reqid,
                       const char* src = nullptr, const char* dst = nullptr) {
    netlink::Template t;
    t.proto = proto;
    t.mode = mode;
    t.reqid = reqid;
    if (src)
        t.saddr = netlink::parse_address(src);
    if (dst)
        t.daddr = netlink::parse_address(dst);
    return t;
}

// A KLIPS-like group tun+comp+esp+ah, as the control node will install it.
netlink::XfrmPolicy group_policy(netlink::Direction dir) {
    netlink::XfrmPolicy p;
    p.selector = subnets("10.1.0.0", 24, "10.2.0.0", 24);
    p.dir = dir;
    p.priority = 1000;
    auto comp = tmpl(IPPROTO_COMP, netlink::Mode::tunnel, 3, "192.0.2.1", "192.0.2.2");
    comp.spi = 0x3d0;
    comp.optional = dir != netlink::Direction::out;
    p.templates = {comp, tmpl(IPPROTO_ESP, netlink::Mode::transport, 2),
                   tmpl(IPPROTO_AH, netlink::Mode::transport, 1)};
    return p;
}

// Polls until the mirror lists what ip lists (or the deadline passes).
::testing::AssertionResult mirror_equals_ip(const netlink::Mirror& mirror, const Netns& ns,
                                            std::chrono::seconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::multiset<std::string> kernel, mirrored;
    for (;;) {
        auto snap = mirror.snapshot();
        kernel = ip_policies(ns.name());
        mirrored = mirror_policies(*snap);
        if (kernel == mirrored)
            return ::testing::AssertionSuccess();
        if (std::chrono::steady_clock::now() >= deadline)
            break;
        mirror.wait_for_change(snap->generation(), std::chrono::steady_clock::now() + 100ms);
    }
    auto result = ::testing::AssertionFailure() << "mirror differs from ip xfrm policy\nip:\n";
    for (const auto& k : kernel)
        result << "  " << k << "\n";
    result << "mirror:\n";
    for (const auto& k : mirrored)
        result << "  " << k << "\n";
    return result;
}

std::multiset<std::string> client_policies(netlink::Client& client) {
    std::multiset<std::string> keys;
    for (const auto& p : client.policies())
        keys.insert(netlink_test::policy_key(p));
    return keys;
}

netlink::MirrorOptions options_for(const Netns& ns) {
    netlink::MirrorOptions options;
    options.netns_fd = ns.fd();
    options.resync_interval = 0ms;
    return options;
}

TEST(NetlinkClient, AddsUpdatesGetsAndDeletesPoliciesLikeIpSees) {
    Netns ns;
    netlink::Client client({ns.fd()});
    EXPECT_TRUE(client.policies().empty());

    auto out = group_policy(netlink::Direction::out);
    client.add_policy(out);
    client.add_policy(group_policy(netlink::Direction::in));
    EXPECT_EQ(client_policies(client), ip_policies(ns.name()));
    ASSERT_EQ(client.policies().size(), 2u);

    // The same policy again: the kernel says EEXIST; update replaces it.
    try {
        client.add_policy(out);
        FAIL() << "a second identical NEWPOLICY must fail";
    } catch (const netlink::Error& e) {
        EXPECT_EQ(e.code(), EEXIST);
        EXPECT_NE(std::string(e.what()).find("add policy out"), std::string::npos) << e.what();
    }
    out.priority = 500;
    client.update_policy(out);
    auto found = client.get_policy(netlink::PolicyId::of(out));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->priority, 500u);
    ASSERT_EQ(found->templates.size(), 3u);
    EXPECT_EQ(found->templates[0].spi, 0x3d0u);
    EXPECT_EQ(found->templates[0].mode, netlink::Mode::tunnel);
    EXPECT_EQ(client_policies(client), ip_policies(ns.name()));

    // Delete by selector, then by index.
    client.delete_policy(netlink::PolicyId::of(out));
    EXPECT_FALSE(client.get_policy(netlink::PolicyId::of(out)));
    auto in = client.policies().at(0);
    client.delete_policy(in.dir, in.index);
    EXPECT_TRUE(client.policies().empty());
    EXPECT_TRUE(ip_policies(ns.name()).empty());

    try {
        client.delete_policy(netlink::PolicyId::of(out));
        FAIL() << "deleting a missing policy must fail";
    } catch (const netlink::Error& e) {
        EXPECT_EQ(e.code(), ENOENT);
    }
}

TEST(NetlinkClient, TakesSixTemplatesAndRefusesSeven) {
    Netns ns;
    netlink::Client client({ns.fd()});
    netlink::XfrmPolicy p;
    p.selector = subnets("10.0.0.1", 32, "10.0.0.2", 32);
    for (std::uint32_t i = 0; i < 6; ++i)
        p.templates.push_back(tmpl(IPPROTO_ESP, netlink::Mode::transport, i + 1));
    client.add_policy(p);
    EXPECT_EQ(client.policies().at(0).templates.size(), 6u);
    EXPECT_EQ(client_policies(client), ip_policies(ns.name()));

    p.templates.push_back(tmpl(IPPROTO_AH, netlink::Mode::transport, 7));
    try {
        client.update_policy(p);
        FAIL() << "seven templates must be refused";
    } catch (const netlink::Error& e) {
        EXPECT_EQ(e.code(), EINVAL);
    }
}

TEST(NetlinkClient, KernelExtendedAckTextReachesTheError) {
    Netns ns;
    netlink::Client client({ns.fd()});
    // An optional template with tunnel mode in an outbound policy: the
    // kernel rejects it with an extended-ACK message.
    auto p = group_policy(netlink::Direction::out);
    p.templates[0].optional = true;
    try {
        client.add_policy(p);
        FAIL() << "the kernel should refuse this policy";
    } catch (const netlink::Error& e) {
        EXPECT_EQ(e.code(), EINVAL);
        EXPECT_NE(std::string(e.what()).find("optional template"), std::string::npos) << e.what();
    }
}

TEST(NetlinkClient, StateQueriesAnswerNoSuchState) {
    Netns ns;
    netlink::Client client({ns.fd()});
    netlink::StateId id{netlink::parse_address("192.0.2.2"), 0x1234, IPPROTO_ESP, AF_INET};
    EXPECT_FALSE(client.get_state(id));
    EXPECT_FALSE(client.state_exists(id));
    EXPECT_TRUE(client.states().empty());
    netlink::StateId ipip{netlink::parse_address("192.0.2.2"), 0, IPPROTO_IPIP, AF_INET};
    EXPECT_THROW(client.get_state(ipip), netlink::Error); // needs a source address
    EXPECT_FALSE(client.get_state(ipip, {{}, 0, netlink::parse_address("192.0.2.1")}));
}

TEST(NetlinkMirror, StartsWithWhatIsThereAndFollowsIpXfrm) {
    Netns ns;
    std::string ipx = ip(ns.name()) + " xfrm policy ";
    run(ipx + "add src 10.0.0.0/24 dst 10.0.1.0/24 dir out priority 10 "
              "tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode tunnel");

    netlink::Mirror mirror(options_for(ns));
    mirror.start();
    EXPECT_EQ(mirror.snapshot()->policies().size(), 1u);
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));

    // Add with marks, ports, IPv6, if_id, a block action.
    run(ipx + "add src 10.0.0.0/24 dst 10.0.1.0/24 proto tcp dport 443 dir in mark 0x5 mask 0xff "
              "tmpl src 192.0.2.2 dst 192.0.2.1 proto comp reqid 3 mode tunnel level use "
              "tmpl proto esp reqid 2 mode transport");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    run(ipx + "add src fd00::/64 dst fd01::/64 dir fwd action block if_id 9");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));

    // Update in place (UPDPOLICY keeps the index).
    run(ipx + "update src 10.0.0.0/24 dst 10.0.1.0/24 dir out priority 20 "
              "tmpl src 192.0.2.1 dst 192.0.2.2 proto ah reqid 9 mode tunnel");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));

    // Delete by selector.
    run(ipx + "delete src fd00::/64 dst fd01::/64 dir fwd if_id 9");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    EXPECT_EQ(mirror.snapshot()->policies().size(), 2u);

    // Flush: one FLUSHPOLICY event for all.
    run(ipx + "flush");
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    EXPECT_TRUE(mirror.snapshot()->policies().empty());

    auto c = mirror.counters();
    EXPECT_GE(c.events_applied, 5u);
    EXPECT_EQ(c.resyncs, 1u); // the initial one only
    EXPECT_EQ(c.errors, 0u) << c.last_error;
}

TEST(NetlinkMirror, FollowsChangesMadeThroughTheClient) {
    Netns ns;
    netlink::Mirror mirror(options_for(ns));
    mirror.start();
    netlink::Client client({ns.fd()});

    client.add_policy(group_policy(netlink::Direction::out));
    client.add_policy(group_policy(netlink::Direction::in));
    client.add_policy(group_policy(netlink::Direction::fwd));
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));

    auto snap = mirror.snapshot();
    auto out = std::find_if(snap->policies().begin(), snap->policies().end(),
                            [](const auto& p) { return p.dir == netlink::Direction::out; });
    ASSERT_NE(out, snap->policies().end());
    EXPECT_EQ(snap->find_policy(out->index), &*out);
    client.delete_policy(out->dir, out->index);
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    // The old snapshot is unchanged.
    EXPECT_EQ(snap->policies().size(), 3u);
    EXPECT_EQ(mirror.snapshot()->policies().size(), 2u);

    client.flush_policies();
    EXPECT_TRUE(mirror_equals_ip(mirror, ns));
    EXPECT_TRUE(mirror.snapshot()->policies().empty());
}

TEST(NetlinkMirror, FollowsItsOwnNamespaceOnly) {
    Netns watched;
    Netns other;
    netlink::Mirror mirror(options_for(watched));
    mirror.start();
    run(ip(other.name()) + " xfrm policy add src 10.9.0.0/16 dst 10.8.0.0/16 dir out");
    run(ip(watched.name()) + " xfrm policy add src 10.7.0.0/16 dst 10.6.0.0/16 dir in");
    EXPECT_TRUE(mirror_equals_ip(mirror, watched));
    auto snap = mirror.snapshot();
    ASSERT_EQ(snap->policies().size(), 1u);
    EXPECT_EQ(snap->policies().begin()->selector.prefixlen_s, 16);
    EXPECT_EQ(netlink::to_string(snap->policies().begin()->selector.saddr, AF_INET), "10.7.0.0");
}

TEST(NetlinkMirror, ResyncsWhenAskedAndTellsListeners) {
    Netns ns;
    netlink::Mirror mirror(options_for(ns));
    std::mutex m;
    std::condition_variable cv;
    std::vector<netlink::MirrorChange> seen;
    mirror.add_listener([&](const netlink::MirrorChange& change) {
        std::lock_guard lock(m);
        seen.push_back(change);
        cv.notify_all();
    });
    mirror.start();
    mirror.request_resync();
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !seen.empty(); }));
    ASSERT_TRUE(seen.back().resync);
    EXPECT_EQ(*seen.back().resync, netlink::ResyncReason::requested);
    EXPECT_EQ(mirror.counters().requested_resyncs, 1u);
}

TEST(NetlinkMirror, ResyncsAfterLostEventsAndEndsEqualToTheKernel) {
    Netns ns;
    auto options = options_for(ns);
    options.event_receive_buffer = 4096; // overflows after a few events
    netlink::Mirror mirror(options);

    // Hold the mirror thread while the burst runs, so that its small
    // socket surely overflows.
    MirrorThreadHold hold(mirror);
    mirror.start();
    run(ip(ns.name()) + " xfrm policy add src 10.255.0.0/16 dst 10.254.0.0/16 dir out");
    ASSERT_TRUE(hold.wait_until_held(10s));

    std::string batch = "/tmp/klipsfs-nl-batch-" + ns.name();
    {
        std::ofstream out(batch);
        for (int i = 0; i < 2000; ++i)
            out << "xfrm policy add src 10." << i / 250 << "." << i % 250
                << ".0/24 dst 10.200.0.0/16 "
                << "dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid " << i + 1
                << " mode tunnel\n";
        for (int i = 0; i < 500; ++i)
            out << "xfrm policy delete src 10." << i / 250 << "." << i % 250
                << ".0/24 dst 10.200.0.0/16 dir out\n";
    }
    run(ip(ns.name()) + " -batch " + batch);
    std::remove(batch.c_str());
    hold.release();
    EXPECT_TRUE(mirror_equals_ip(mirror, ns, 30s));
    EXPECT_EQ(mirror.snapshot()->policies().size(), 1501u);
    auto c = mirror.counters();
    EXPECT_GE(c.lost_event_resyncs, 1u);
    EXPECT_EQ(c.errors, 0u) << c.last_error;
}

// catch_up() is what makes "a change shows at the next open" true: with a
// burst window far longer than the test, the second of two quick changes
// waits in the mirror, and only catch_up() brings it in at once.
TEST(NetlinkMirror, CatchUpAppliesWhatTheKernelSentBeforeTheCall) {
    Netns ns;
    auto options = options_for(ns);
    options.burst_window = 30s;
    netlink::Mirror mirror(options);
    mirror.start();
    const auto soon = [] { return std::chrono::steady_clock::now() + 10s; };
    EXPECT_TRUE(mirror.catch_up(soon())) << "nothing pending: at once";

    netlink::Client client({ns.fd()});
    auto first = group_policy(netlink::Direction::out);
    client.add_policy(first);
    ASSERT_TRUE(mirror.wait_for_change(0, soon())) << "an isolated change is applied at once";
    ASSERT_EQ(mirror.snapshot()->policies().size(), 1u);

    auto second = group_policy(netlink::Direction::out);
    second.selector = subnets("10.3.0.0", 24, "10.4.0.0", 24);
    client.add_policy(second);
    ASSERT_EQ(mirror.snapshot()->policies().size(), 1u)
        << "the second change should wait in the burst window, or this test proves nothing";

    const auto asked = std::chrono::steady_clock::now();
    ASSERT_TRUE(mirror.catch_up(asked + 10s));
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 5s) << "catch_up skips the window";
    EXPECT_EQ(mirror_policies(*mirror.snapshot()), ip_policies(ns.name()))
        << "the snapshot right after catch_up() equals the kernel, with no polling";

    mirror.stop();
    EXPECT_TRUE(mirror.catch_up(soon())) << "a stopped mirror has nothing to catch up";
}

} // namespace
