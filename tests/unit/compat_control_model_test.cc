// The group model behind the control node: KLIPS's pairwise linking rules,
// eroutes compiled into policies, apply(), and the state file.
#include "compat/control.h"
#include "compat/control_state.h"
#include "compat/error.h"

#include <algorithm>

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace compat {
namespace {

Said said(const char* text) {
    return parse_said(text);
}

KernelSa state(const char* text, Mode mode = Mode::transport, std::uint32_t reqid = 1) {
    KernelSa sa;
    sa.said = said(text);
    sa.src = parse_address(sa.said.dst.family == AF_INET ? "192.0.2.9" : "3049:1::9", 0);
    sa.mode = mode;
    sa.reqid = reqid;
    return sa;
}

std::vector<Said> saids(std::initializer_list<const char*> texts) {
    std::vector<Said> out;
    for (const char* text : texts)
        out.push_back(said(text));
    return out;
}

// A machine with SAs to 192.0.2.1: comp, esp and ah in transport mode, and a
// second esp in tunnel mode; one IPv6 esp.
struct Machine {
    std::vector<KernelSa> sas = {
        state("comp.3d0@192.0.2.1"), state("esp.100@192.0.2.1"),
        state("ah.101@192.0.2.1"),   state("esp.200@192.0.2.1", Mode::tunnel, 7),
        state("esp.300@192.0.2.2"),  state("esp:400@3049:1::1"),
    };
    std::vector<KernelPolicy> policies;

    KernelView view() const { return KernelView{sas, policies, {}}; }
};

template <typename F> void expect_error(F f, int code, const std::string& message) {
    try {
        f();
        ADD_FAILURE() << "no error; expected: " << message;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(GroupBook, LinksPairwiseInsideToOutside) {
    Machine m;
    GroupBook book;
    book.link(saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}), m.view());
    // KLIPS scripts build chains a pair at a time, outermost pair first.
    book.link(saids({"tun.1001@192.0.2.1", "comp.3d0@192.0.2.1"}), m.view());
    book.link(saids({"esp.100@192.0.2.1", "ah.101@192.0.2.1"}), m.view());
    ASSERT_EQ(book.groups().size(), 1u);
    EXPECT_EQ(book.groups()[0].sas, saids({"tun.1001@192.0.2.1", "comp.3d0@192.0.2.1",
                                           "esp.100@192.0.2.1", "ah.101@192.0.2.1"}));
}

TEST(GroupBook, RefusesWhatKlipsRefused) {
    Machine m;
    GroupBook book;
    book.link(saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}), m.view());
    const GroupBook before = book;
    struct Case {
        std::vector<Said> chain;
        int code;
        const char* message;
    };
    const Case cases[] = {
        {saids({"esp.999@192.0.2.1", "ah.101@192.0.2.1"}), ENOENT, "esp.999@192.0.2.1: no such SA"},
        {saids({"ah.101@192.0.2.1", "esp.300@192.0.2.2"}), EINVAL,
         "ah.101@192.0.2.1 and esp.300@192.0.2.2 have different destinations; a group has one"},
        {saids({"comp.3d0@192.0.2.1", "ah.101@192.0.2.1"}), EEXIST,
         "comp.3d0@192.0.2.1 already has esp.100@192.0.2.1 outside it"},
        {saids({"ah.101@192.0.2.1", "esp.100@192.0.2.1"}), EEXIST,
         "esp.100@192.0.2.1 already has comp.3d0@192.0.2.1 inside it"},
        {saids({"esp.100@192.0.2.1", "comp.3d0@192.0.2.1"}), EEXIST,
         "esp.100@192.0.2.1 and comp.3d0@192.0.2.1 are already in one group"},
        {saids({"ah.101@192.0.2.1", "ah.101@192.0.2.1"}), EEXIST,
         "ah.101@192.0.2.1 cannot be linked to itself"},
        {saids({"%hold", "ah.101@192.0.2.1"}), EINVAL,
         "%hold: KLIPS's magic SAs cannot be grouped"},
        // All or nothing: the first pair would link, the second cannot.
        {saids({"esp.100@192.0.2.1", "ah.101@192.0.2.1", "esp.999@192.0.2.1"}), ENOENT,
         "esp.999@192.0.2.1: no such SA"},
    };
    for (const Case& c : cases) {
        expect_error([&] { book.link(c.chain, m.view()); }, c.code, c.message);
        EXPECT_EQ(book.groups().size(), before.groups().size());
        EXPECT_EQ(book.groups()[0], before.groups()[0]);
    }
}

TEST(GroupBook, AMissingCompSaOnAKernelWithoutIpcompSaysWhy) {
    Machine m;
    GroupBook book;
    KernelView no_ipcomp4 = m.view();
    no_ipcomp4.caps.ipcomp4 = false;
    expect_error(
        [&] {
            book.link(saids({"comp.3d9@192.0.2.1", "esp.100@192.0.2.1"}), no_ipcomp4);
        },
        ENOENT,
        "comp.3d9@192.0.2.1: no such SA (this kernel has no IPComp for IPv4, so no comp "
        "SA can exist in it, and klipsfs does not yet compress in user space)");
    expect_error([&] { book.dissolve(said("comp:3d9@3049:1::2"), no_ipcomp4); }, ENOENT,
                 "comp:3d9@3049:1::2: no such SA"); // IPv6 has IPComp here
    expect_error(
        [&] {
            book.link(saids({"comp.3d9@192.0.2.1", "esp.100@192.0.2.1"}), m.view());
        },
        ENOENT, "comp.3d9@192.0.2.1: no such SA"); // with IPComp: just not there
    EXPECT_TRUE(book.groups().empty());
}

TEST(GroupBook, AChainHoldsAtMostSixSas) {
    Machine m;
    for (const char* text :
         {"esp.500@192.0.2.1", "esp.501@192.0.2.1", "esp.502@192.0.2.1", "esp.503@192.0.2.1",
          "esp.504@192.0.2.1", "esp.505@192.0.2.1", "esp.506@192.0.2.1"})
        m.sas.push_back(state(text));
    GroupBook book;
    book.link(
        saids({"esp.500@192.0.2.1", "esp.501@192.0.2.1", "esp.502@192.0.2.1", "esp.503@192.0.2.1"}),
        m.view());
    book.link(saids({"esp.503@192.0.2.1", "esp.504@192.0.2.1", "esp.505@192.0.2.1"}), m.view());
    expect_error(
        [&] {
            book.link(saids({"esp.505@192.0.2.1", "esp.506@192.0.2.1"}), m.view());
        },
        EINVAL,
        "linking esp.505@192.0.2.1 to esp.506@192.0.2.1 would make a group of 7 SAs; "
        "at most 6 (the kernel's template limit)");
}

TEST(GroupBook, DissolvingByAnyMemberDissolvesTheWholeGroup) {
    Machine m;
    GroupBook book;
    book.link(saids({"tun.1001@192.0.2.1", "comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}), m.view());
    const auto gone = book.dissolve(said("comp.3d0@192.0.2.1"), m.view());
    ASSERT_TRUE(gone.has_value());
    EXPECT_EQ(gone->sas.size(), 3u);
    EXPECT_TRUE(book.groups().empty());
    // An SA in no group: success, nothing changes; the user-space tun is gone.
    EXPECT_FALSE(book.dissolve(said("esp.100@192.0.2.1"), m.view()).has_value());
    expect_error([&] { book.dissolve(said("tun.1001@192.0.2.1"), m.view()); }, ENOENT,
                 "tun.1001@192.0.2.1: no such SA");
    expect_error([&] { book.dissolve(said("esp.999@192.0.2.1"), m.view()); }, ENOENT,
                 "esp.999@192.0.2.1: no such SA");
}

TEST(GroupBook, AMemberDeletedElsewhereDissolvesItsGroup) {
    Machine m;
    GroupBook book;
    book.link(saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}), m.view());
    book.link(saids({"tun.1@192.0.2.1", "esp.200@192.0.2.1"}), m.view());
    std::erase_if(m.sas, [](const KernelSa& sa) { return sa.said.spi == 0x100; });
    const auto dropped = book.drop_vanished(m.sas);
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].sas, saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}));
    ASSERT_EQ(book.groups().size(), 1u);
    EXPECT_EQ(book.groups()[0].sas.front(), said("tun.1@192.0.2.1"));
}

KernelPolicy foreign_policy(const char* spi_said, Mode mode) {
    KernelPolicy policy;
    policy.dir = Direction::out;
    policy.index = 42;
    policy.priority = 100;
    policy.src = parse_subnet("10.1.0.0/16");
    policy.dst = parse_subnet("10.2.0.0/16");
    KernelTemplate tmpl;
    tmpl.proto = said(spi_said).proto;
    tmpl.mode = mode;
    tmpl.dst = said(spi_said).dst;
    tmpl.src = parse_address("192.0.2.9", AF_INET);
    policy.templates.push_back(tmpl);
    return policy;
}

TEST(GroupBook, GroupsOfOtherSoftwareCannotBeChanged) {
    Machine m;
    m.policies.push_back(foreign_policy("esp.200@192.0.2.1", Mode::tunnel));
    GroupBook book;
    const char* busy = "esp.200@192.0.2.1 is used by policy out 10.1.0.0/16 -> 10.2.0.0/16 "
                       "(index 42), which klipsfs did not make; change it with the software "
                       "that did";
    expect_error(
        [&] {
            book.link(saids({"esp.200@192.0.2.1", "ah.101@192.0.2.1"}), m.view());
        },
        EBUSY, busy);
    expect_error([&] { book.dissolve(said("esp.200@192.0.2.1"), m.view()); }, EBUSY, busy);
    // The listing shows that chain as tun.200 esp.200: its tun is theirs too.
    expect_error([&] { book.dissolve(said("tun.200@192.0.2.1"), m.view()); }, EBUSY,
                 "tun.200@192.0.2.1 is used by policy out 10.1.0.0/16 -> 10.2.0.0/16 "
                 "(index 42), which klipsfs did not make; change it with the software that did");
    EXPECT_TRUE(book.groups().empty());
}

TEST(Eroute, CompilesAGroupIntoAnOutboundPolicy) {
    Machine m;
    m.sas.push_back(state("ah.201@192.0.2.1", Mode::transport, 8));
    const Subnet src = parse_subnet("10.1.0.0/16");
    const Subnet dst = parse_subnet("10.2.0.0/24");
    const auto chain = saids({"tun.1001@192.0.2.1", "esp.200@192.0.2.1", "ah.201@192.0.2.1"});
    const KernelPolicy policy = compile_eroute(src, dst, chain, m.view());
    EXPECT_EQ(policy.dir, Direction::out);
    EXPECT_EQ(policy.src, src);
    EXPECT_EQ(policy.dst, dst);
    EXPECT_EQ(policy.priority, klipsfs_priority_base + 256 - 16 - 24);
    ASSERT_EQ(policy.templates.size(), 2u);
    const KernelTemplate& t0 = policy.templates[0];
    EXPECT_EQ(t0.proto, Proto::esp);
    EXPECT_EQ(t0.spi, 0x200u);
    EXPECT_EQ(t0.mode, Mode::tunnel);
    EXPECT_EQ(t0.reqid, 7u);
    EXPECT_EQ(format_address(t0.dst), "192.0.2.1");
    EXPECT_EQ(format_address(t0.src), "192.0.2.9");
    const KernelTemplate& t1 = policy.templates[1];
    EXPECT_EQ(t1.proto, Proto::ah);
    EXPECT_EQ(t1.spi, 0x201u);
    EXPECT_EQ(t1.mode, Mode::transport);
    EXPECT_EQ(t1.reqid, 8u);
    EXPECT_EQ(t1.dst, Address{});
    EXPECT_TRUE(is_klipsfs_policy(policy));
    m.policies.push_back(policy);
    EXPECT_EQ(chain_of(policy, m.sas), saids({"esp.200@192.0.2.1", "ah.201@192.0.2.1"}));
}

TEST(Eroute, TheMarkerTellsKlipsfsPoliciesFromOthers) {
    KernelPolicy policy = foreign_policy("esp.200@192.0.2.1", Mode::tunnel);
    policy.templates[0].spi = 0x200;
    EXPECT_FALSE(is_klipsfs_policy(policy));
    policy.priority = eroute_priority(policy.src, policy.dst);
    EXPECT_TRUE(is_klipsfs_policy(policy));
    policy.priority += 1; // the right band, the wrong arithmetic
    EXPECT_FALSE(is_klipsfs_policy(policy));
    policy.priority -= 1;
    policy.dir = Direction::in;
    EXPECT_FALSE(is_klipsfs_policy(policy));
    policy.dir = Direction::out;
    policy.templates[0].spi = 0; // "any SPI": not a group's template
    EXPECT_FALSE(is_klipsfs_policy(policy));
}

TEST(Eroute, RefusesWhatNeedsTheUserSpaceDatapath) {
    Machine m;
    const Subnet src = parse_subnet("10.1.0.0/16");
    const Subnet dst = parse_subnet("192.0.2.0/24");
    expect_error(
        [&] {
            compile_eroute(src, dst, saids({"tun.1@192.0.2.1", "esp.100@192.0.2.1"}), m.view());
        },
        EOPNOTSUPP,
        "tun.1@192.0.2.1: a tun SA before the transport-mode esp.100@192.0.2.1 needs "
        "user-space IP-in-IP, which klipsfs does not have yet; use a tunnel-mode state instead");
    expect_error(
        [&] {
            compile_eroute(src, dst, saids({"esp.100@192.0.2.1", "tun.1@192.0.2.1"}), m.view());
        },
        EOPNOTSUPP,
        "tun.1@192.0.2.1: a tun SA after the first SA of a group needs user-space IP-in-IP, "
        "which klipsfs does not have yet");
    KernelView no_ipcomp = m.view();
    no_ipcomp.caps.ipcomp4 = false;
    expect_error(
        [&] {
            compile_eroute(src, dst, saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}), no_ipcomp);
        },
        EOPNOTSUPP,
        "comp.3d0@192.0.2.1: the kernel has no IPComp, and klipsfs does not yet compress in "
        "user space");
    expect_error(
        [&] {
            compile_eroute(src, parse_subnet("10.2.0.0/16"), saids({"esp.100@192.0.2.1"}),
                           m.view());
        },
        EINVAL,
        "esp.100@192.0.2.1 is a transport-mode SA: the eroute's destination subnet must "
        "contain 192.0.2.1");
}

// apply(): the whole decision for one command, nothing done yet.
StateFile sorted(StateFile state) {
    std::sort(state.unbound.begin(), state.unbound.end());
    std::sort(state.tuns.begin(), state.tuns.end());
    return state;
}

// Carries out what apply() decides, as fs/ does, keeping the state file's
// records from one command to the next; after each command they must be
// what state_of() works out from scratch (in any order).
struct Daemon {
    Machine m;
    GroupBook book;
    StateFile state;

    Outcome run(const char* line) {
        Outcome out = apply(*parse_command(line), m.view(), book, state);
        for (const KernelPolicy& gone : out.remove)
            std::erase_if(m.policies, [&](const KernelPolicy& p) {
                return p.src == gone.src && p.dst == gone.dst && p.dir == gone.dir;
            });
        m.policies.insert(m.policies.end(), out.install.begin(), out.install.end());
        book = out.book;
        EXPECT_EQ(out.state.has_value(), out.state_file.has_value()) << line;
        if (out.state) {
            EXPECT_EQ(serialise_state(*out.state), *out.state_file) << line;
            state = *out.state;
        }
        EXPECT_EQ(sorted(state), sorted(state_of(book, m.view()))) << "after " << line;
        return out;
    }
};

TEST(Apply, GroupBindUnbindUngroup) {
    Daemon d;
    Outcome out = d.run("group tun.1001@192.0.2.1 esp.200@192.0.2.1 ah.101@192.0.2.1");
    EXPECT_EQ(out.reply, "ok\n");
    EXPECT_TRUE(out.install.empty());
    EXPECT_EQ(out.log, std::vector<std::string>{
                           "grouped tun.1001@192.0.2.1 esp.200@192.0.2.1 ah.101@192.0.2.1"});
    ASSERT_TRUE(out.state_file.has_value());
    EXPECT_EQ(parse_state(*out.state_file).unbound.size(), 1u);

    out = d.run("bind 10.1.0.0/16 10.2.0.0/16 tun.1001@192.0.2.1");
    ASSERT_EQ(out.install.size(), 1u);
    EXPECT_EQ(out.install[0].templates.size(), 2u);
    // Bound: the kernel holds the chain; the file keeps only the tun SA.
    ASSERT_TRUE(out.state_file.has_value());
    const StateFile bound = parse_state(*out.state_file);
    EXPECT_TRUE(bound.unbound.empty());
    EXPECT_EQ(bound.tuns,
              (std::vector<TunRecord>{{said("tun.1001@192.0.2.1"), said("esp.200@192.0.2.1")}}));

    expect_error([&] { d.run("ungroup ah.101@192.0.2.1"); }, EBUSY,
                 "the group of tun.1001@192.0.2.1 is bound to the eroute 10.1.0.0/16 -> "
                 "10.2.0.0/16; unbind it first");
    expect_error([&] { d.run("group ah.101@192.0.2.1 comp.3d0@192.0.2.1"); }, EBUSY,
                 "the group of tun.1001@192.0.2.1 is bound to the eroute 10.1.0.0/16 -> "
                 "10.2.0.0/16; unbind it first");
    expect_error([&] { d.run("bind 10.1.0.0/16 10.2.0.0/16 esp.100@192.0.2.1"); }, EEXIST,
                 "the eroute 10.1.0.0/16 -> 10.2.0.0/16 already exists; unbind it first");
    expect_error([&] { d.run("bind 10.1.0.0/16 10.3.0.0/16 esp.200@192.0.2.1"); }, EINVAL,
                 "esp.200@192.0.2.1 is not the first SA of its group (tun.1001@192.0.2.1 "
                 "esp.200@192.0.2.1 ah.101@192.0.2.1)");

    out = d.run("unbind 10.1.0.0/16 10.2.0.0/16");
    EXPECT_EQ(out.remove.size(), 1u);
    EXPECT_TRUE(d.m.policies.empty());
    out = d.run("ungroup ah.101@192.0.2.1");
    EXPECT_TRUE(d.book.groups().empty());
    ASSERT_TRUE(out.state_file.has_value());
    EXPECT_EQ(parse_state(*out.state_file), StateFile{});
    expect_error([&] { d.run("unbind 10.1.0.0/16 10.2.0.0/16"); }, ENOENT,
                 "no eroute 10.1.0.0/16 -> 10.2.0.0/16");
}

TEST(Apply, EroutesOfOtherSoftwareAreLeftAlone) {
    Daemon d;
    d.m.policies.push_back(foreign_policy("esp.300@192.0.2.2", Mode::tunnel));
    const char* theirs = "policy out 10.1.0.0/16 -> 10.2.0.0/16 (index 42), which klipsfs did "
                         "not make";
    expect_error([&] { d.run("unbind 10.1.0.0/16 10.2.0.0/16"); }, EBUSY,
                 std::string("the eroute 10.1.0.0/16 -> 10.2.0.0/16 is ") + theirs);
    expect_error([&] { d.run("bind 10.1.0.0/16 10.2.0.0/16 esp.200@192.0.2.1"); }, EBUSY,
                 std::string("the eroute 10.1.0.0/16 -> 10.2.0.0/16 would replace ") + theirs);
}

TEST(Apply, UngroupOfAnUngroupedSaChangesNothing) {
    Daemon d;
    const Outcome out = d.run("ungroup esp.100@192.0.2.1");
    EXPECT_EQ(out.reply, "ok\n");
    EXPECT_FALSE(out.state_file.has_value());
    EXPECT_TRUE(out.install.empty() && out.remove.empty());
}

TEST(Apply, StateRecordsFollowEveryKindOfCommand) {
    Daemon d;
    d.run("group comp.3d0@192.0.2.1 esp.100@192.0.2.1");
    d.run("group esp.100@192.0.2.1 ah.101@192.0.2.1"); // merges: one record, not two
    EXPECT_EQ(d.state.unbound.size(), 1u);
    d.run("bind 10.1.0.0/16 192.0.2.0/24 comp.3d0@192.0.2.1");
    EXPECT_TRUE(d.state.unbound.empty());
    d.run("bind 10.5.0.0/16 10.6.0.0/16 esp.200@192.0.2.1"); // an SA alone: no record
    d.run("group tun.1001@192.0.2.1 esp.200@192.0.2.1"); // bound, led by tun: a tun record
    EXPECT_EQ(d.state.tuns.size(), 1u);
    d.run("unbind 10.5.0.0/16 10.6.0.0/16"); // the tun group is unbound again
    EXPECT_TRUE(d.state.tuns.empty());
    EXPECT_EQ(d.state.unbound.size(), 1u);
    d.run("ungroup esp.200@192.0.2.1");
    d.run("unbind 10.1.0.0/16 192.0.2.0/24");
    d.run("ungroup ah.101@192.0.2.1");
    EXPECT_EQ(d.state, StateFile{});
}

TEST(Apply, BindingASingleSa) {
    Daemon d;
    const Outcome out = d.run("bind 10.1.0.0/16 10.2.0.0/16 esp.200@192.0.2.1");
    ASSERT_EQ(out.install.size(), 1u);
    EXPECT_EQ(out.install[0].templates.size(), 1u);
    EXPECT_FALSE(out.state_file.has_value());
}

TEST(Reconcile, DissolvesGroupsThatLostAMember) {
    Daemon d;
    d.run("group comp.3d0@192.0.2.1 esp.100@192.0.2.1");
    std::erase_if(d.m.sas, [](const KernelSa& sa) { return sa.said.spi == 0x3d0; });
    const Outcome out = reconcile(d.m.view(), d.book);
    EXPECT_TRUE(out.book.groups().empty());
    EXPECT_EQ(out.log, std::vector<std::string>{
                           "dissolved comp.3d0@192.0.2.1 esp.100@192.0.2.1: a member SA was "
                           "deleted"});
    ASSERT_TRUE(out.state_file.has_value());
    EXPECT_EQ(parse_state(*out.state_file), StateFile{});
}

TEST(Reconcile, LeavesTheEroutesOfADissolvedGroupToDropTraffic) {
    Daemon d;
    d.run("group esp.200@192.0.2.1 ah.101@192.0.2.1");
    d.run("bind 10.1.0.0/16 10.2.0.0/16 esp.200@192.0.2.1");
    std::erase_if(d.m.sas, [](const KernelSa& sa) { return sa.said.spi == 0x101; });
    const Outcome out = reconcile(d.m.view(), d.book);
    EXPECT_TRUE(out.book.groups().empty());
    EXPECT_TRUE(out.install.empty());
    EXPECT_TRUE(out.remove.empty()); // removing it would let the traffic out in clear
}

TEST(StateFile, RoundTrips) {
    StateFile state;
    state.unbound.push_back(SaGroup{saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"})});
    state.unbound.push_back(SaGroup{saids({"tun:1@3049:1::1", "esp:400@3049:1::1"})});
    state.tuns.push_back({said("tun.1001@192.0.2.1"), said("esp.200@192.0.2.1")});
    const std::string text = serialise_state(state);
    EXPECT_EQ(text, "klipsfs-control-state 1\n"
                    "# written by klipsfs: the SA groups of ipsec/control that the kernel "
                    "cannot hold\n"
                    "group comp.3d0@192.0.2.1 esp.100@192.0.2.1\n"
                    "group tun:1@3049:1::1 esp:400@3049:1::1\n"
                    "tun tun.1001@192.0.2.1 esp.200@192.0.2.1\n");
    EXPECT_EQ(parse_state(text), state);
    EXPECT_EQ(parse_state("klipsfs-control-state 1\n"), StateFile{});
}

TEST(StateFile, CorruptFilesAreRefusedWithTheLine) {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"", "state file is empty: expected \"klipsfs-control-state 1\""},
        {"# only a comment\n", "state file is empty: expected \"klipsfs-control-state 1\""},
        {"group esp.1@1.2.3.4 ah.2@1.2.3.4\n",
         "state file line 1: expected \"klipsfs-control-state 1\""},
        {"klipsfs-control-state 2\n",
         "state file line 1: version 2 is not supported (this klipsfs reads version 1)"},
        {"klipsfs-control-state 1\n\ngroup esp.1@1.2.3.4\n",
         "state file line 3: a group record holds 2 to 6 SAIDs"},
        {"klipsfs-control-state 1\ngroup esp.1@1.2.3.4 AH.2@1.2.3.4\n",
         "state file line 2: bad SAID \"AH.2@1.2.3.4\": SA specifier lacks valid protocol "
         "prefix"},
        {"klipsfs-control-state 1\ntun esp.1@1.2.3.4 ah.2@1.2.3.4\n",
         "state file line 2: \"esp.1@1.2.3.4\" is not a tun SA"},
        {"klipsfs-control-state 1\ntun tun.1@1.2.3.4\n",
         "state file line 2: a tun record holds a tun SAID and the SAID after it"},
        {"klipsfs-control-state 1\nbound esp.1@1.2.3.4\n",
         "state file line 2: unknown record \"bound\""},
    };
    for (const Case& c : cases) {
        try {
            parse_state(c.text);
            ADD_FAILURE() << "accepted: " << c.text;
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()), c.message);
        }
    }
}

TEST(StateFile, StartUpKeepsWhatStillHolds) {
    Daemon d;
    d.run("group tun.1001@192.0.2.1 esp.200@192.0.2.1 ah.101@192.0.2.1");
    d.run("bind 10.1.0.0/16 10.2.0.0/16 tun.1001@192.0.2.1");
    const Outcome last = d.run("group comp.3d0@192.0.2.1 esp.100@192.0.2.1");
    StateFile file = parse_state(*last.state_file);
    file.unbound.push_back(SaGroup{saids({"esp.300@192.0.2.2", "esp.999@192.0.2.2"})});
    file.tuns.push_back({said("tun.7@192.0.2.2"), said("esp.300@192.0.2.2")});

    // A fresh daemon: the bound group comes back from the kernel's policy,
    // with its tun from the file; the rest from the file, checked.
    const Restored restored = restore_groups(file, d.m.view());
    ASSERT_EQ(restored.book.groups().size(), 2u);
    EXPECT_EQ(restored.book.groups()[0].sas,
              saids({"tun.1001@192.0.2.1", "esp.200@192.0.2.1", "ah.101@192.0.2.1"}));
    EXPECT_EQ(restored.book.groups()[1].sas, saids({"comp.3d0@192.0.2.1", "esp.100@192.0.2.1"}));
    EXPECT_EQ(restored.log,
              (std::vector<std::string>{
                  "state file: forgot tun.7@192.0.2.2: no eroute is bound to the group of "
                  "esp.300@192.0.2.2 any more",
                  "state file: dropped group esp.300@192.0.2.2 esp.999@192.0.2.2: "
                  "esp.999@192.0.2.2: no such SA"}));
}

TEST(StateFile, StartUpReportsEroutesWhoseSaWentAway) {
    Daemon d;
    d.run("bind 10.1.0.0/16 10.2.0.0/16 esp.200@192.0.2.1");
    std::erase_if(d.m.sas, [](const KernelSa& sa) { return sa.said.spi == 0x200; });
    const Restored restored = restore_groups(StateFile{}, d.m.view());
    EXPECT_TRUE(restored.book.groups().empty());
    EXPECT_EQ(restored.log, std::vector<std::string>{
                                "klipsfs policy out 10.1.0.0/16 -> 10.2.0.0/16 names an SA "
                                "that no longer exists; it drops the traffic it matches until "
                                "it is unbound"});
}

} // namespace
} // namespace compat
