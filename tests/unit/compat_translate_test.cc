// groups_from as a specification: kernel states and policies in, the
// ipsec_spigrp lines they must give out.  Each test names one rule of
// design.md "From XFRM to groups" (as compat/translate.h reads it).
//
// Expected lines are written in the ipsec_spigrp(5) form by a small printer
// of this file's own, so these tests do not depend on compat/said.cc.
#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "compat/translate.h"

namespace compat {
namespace {

Address ip(const char* text) {
    Address address;
    address.family = std::string(text).find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (inet_pton(address.family, text, address.bytes.data()) != 1)
        ADD_FAILURE() << "bad address in test: " << text;
    return address;
}

std::string text_of(const Said& said) {
    const char* name = "unk";
    switch (said.proto) {
    case Proto::tun: name = "tun"; break;
    case Proto::esp: name = "esp"; break;
    case Proto::ah: name = "ah"; break;
    case Proto::comp: name = "comp"; break;
    default: break;
    }
    char spi[16];
    std::snprintf(spi, sizeof spi, "%x", said.spi);
    char address[INET6_ADDRSTRLEN];
    inet_ntop(said.dst.family, said.dst.bytes.data(), address, sizeof address);
    return std::string(name) + (said.dst.family == AF_INET ? "." : ":") + spi + "@" + address;
}

std::vector<std::string> lines_of(const std::vector<SaGroup>& groups) {
    std::vector<std::string> lines;
    for (const SaGroup& group : groups) {
        std::string line;
        for (const Said& said : group.sas)
            line += text_of(said) + " ";
        lines.push_back(line);
    }
    return lines;
}

KernelSa sa(Proto proto, std::uint32_t spi, const char* dst, const char* src, Mode mode,
            std::uint32_t reqid = 1) {
    KernelSa state;
    state.said = Said{proto, spi, ip(dst)};
    state.src = ip(src);
    state.mode = mode;
    state.reqid = reqid;
    return state;
}

KernelTemplate tmpl(Proto proto, Mode mode, std::uint32_t reqid = 1, const char* dst = nullptr,
                    const char* src = nullptr) {
    KernelTemplate t;
    t.proto = proto;
    t.mode = mode;
    t.reqid = reqid;
    if (dst)
        t.dst = ip(dst);
    if (src)
        t.src = ip(src);
    return t;
}

KernelPolicy policy(Direction dir, const char* src, int src_len, const char* dst, int dst_len,
                    std::vector<KernelTemplate> templates) {
    KernelPolicy p;
    p.dir = dir;
    p.src = Subnet{ip(src), static_cast<std::uint8_t>(src_len)};
    p.dst = Subnet{ip(dst), static_cast<std::uint8_t>(dst_len)};
    p.templates = std::move(templates);
    return p;
}

std::vector<std::string> listing(const std::vector<KernelSa>& states,
                                 const std::vector<KernelPolicy>& policies,
                                 const std::vector<SaGroup>& recorded = {}) {
    return lines_of(groups_from(states, policies, recorded));
}

constexpr const char* peer = "192.168.2.110";
constexpr const char* me = "192.168.2.1";

// The four states of ipsec_spigrp(5)'s example, as `ip xfrm` makes them:
// comp in tunnel mode (which brings the kernel's IPIP helper), esp and ah in
// transport mode on the same gateway pair.
std::vector<KernelSa> man_page_states() {
    KernelSa ipip = sa(Proto::tun, 0xc0a80201, peer, me, Mode::tunnel, 0);
    ipip.kernel_owned = true;
    return {sa(Proto::comp, 0x3d0, peer, me, Mode::tunnel),
            sa(Proto::esp, 0x187a101b, peer, me, Mode::transport),
            sa(Proto::ah, 0x187a101a, peer, me, Mode::transport), ipip};
}

std::vector<KernelTemplate> man_page_templates() {
    return {tmpl(Proto::comp, Mode::tunnel, 1, peer, me), tmpl(Proto::esp, Mode::transport),
            tmpl(Proto::ah, Mode::transport)};
}

TEST(GroupsFrom, NothingGivesNoLines) {
    EXPECT_TRUE(listing({}, {}).empty());
}

TEST(GroupsFrom, TunnelModeEspIsTunThenEspWithTheEspSpi) {
    auto states = {sa(Proto::esp, 0x1234, peer, me, Mode::tunnel)};
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                            {tmpl(Proto::esp, Mode::tunnel, 1, peer, me)})};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"tun.1234@192.168.2.110 esp.1234@192.168.2.110 "}));
}

TEST(GroupsFrom, ManPageExampleTunCompEspAhAndNoIpipHelper) {
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24, man_page_templates())};
    EXPECT_EQ(listing(man_page_states(), policies),
              (std::vector<std::string>{"tun.3d0@192.168.2.110 comp.3d0@192.168.2.110 "
                                        "esp.187a101b@192.168.2.110 ah.187a101a@192.168.2.110 "}));
}

TEST(GroupsFrom, ManPageExampleIpv6Twin) {
    const char* peer6 = "3049:1::2";
    const char* me6 = "3049:1::1";
    KernelSa ipip6 = sa(static_cast<Proto>(41), 1, peer6, me6, Mode::tunnel, 0);
    ipip6.kernel_owned = true;
    std::vector<KernelSa> states = {sa(Proto::comp, 0x3d0, peer6, me6, Mode::tunnel),
                                    sa(Proto::esp, 0x187a101b, peer6, me6, Mode::transport),
                                    sa(Proto::ah, 0x187a101a, peer6, me6, Mode::transport), ipip6};
    auto policies = {policy(Direction::out, "3049:2::", 64, "3049:3::", 64,
                            {tmpl(Proto::comp, Mode::tunnel, 1, peer6, me6),
                             tmpl(Proto::esp, Mode::transport), tmpl(Proto::ah, Mode::transport)})};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"tun:3d0@3049:1::2 comp:3d0@3049:1::2 "
                                        "esp:187a101b@3049:1::2 ah:187a101a@3049:1::2 "}));
}

TEST(GroupsFrom, OptionalCompOnInboundIsSkippedWhenAbsent) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x501, me, peer, Mode::tunnel)};
    auto templates = {tmpl(Proto::comp, Mode::tunnel, 1, me, peer),
                      tmpl(Proto::esp, Mode::tunnel, 1, me, peer)};
    std::vector<KernelPolicy> policies = {
        policy(Direction::in, "10.0.2.0", 24, "10.0.1.0", 24, templates)};
    policies[0].templates[0].optional = true;
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"tun.501@192.168.2.1 esp.501@192.168.2.1 "}));
}

TEST(GroupsFrom, OptionalCompOnInboundIsUsedWhenPresent) {
    std::vector<KernelSa> states = {sa(Proto::comp, 0x3d1, me, peer, Mode::tunnel),
                                    sa(Proto::esp, 0x502, me, peer, Mode::transport)};
    std::vector<KernelPolicy> policies = {
        policy(Direction::in, "10.0.2.0", 24, "10.0.1.0", 24,
               {tmpl(Proto::comp, Mode::tunnel, 1, me, peer), tmpl(Proto::esp, Mode::transport)})};
    policies[0].templates[0].optional = true;
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"tun.3d1@192.168.2.1 comp.3d1@192.168.2.1 "
                                        "esp.502@192.168.2.1 "}));
}

TEST(GroupsFrom, MissingRequiredTemplateLeavesChainUnlistedAndSasAlone) {
    std::vector<KernelSa> states = {sa(Proto::comp, 0x3d0, peer, me, Mode::tunnel),
                                    sa(Proto::esp, 0x187a101b, peer, me, Mode::transport)};
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24, man_page_templates())};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"esp.187a101b@192.168.2.110 ", "comp.3d0@192.168.2.110 "}));
}

TEST(GroupsFrom, SameChainFromOutInFwdAndSeveralSelectorsIsListedOnce) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x1234, peer, me, Mode::tunnel)};
    const KernelTemplate esp = tmpl(Proto::esp, Mode::tunnel, 1, peer, me);
    std::vector<KernelPolicy> policies = {
        policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24, {esp}),
        policy(Direction::out, "10.0.1.0", 24, "10.0.3.0", 24, {esp}),
        policy(Direction::in, "10.0.2.0", 24, "10.0.1.0", 24, {esp}),
        policy(Direction::fwd, "10.0.2.0", 24, "10.0.1.0", 24, {esp})};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"tun.1234@192.168.2.110 esp.1234@192.168.2.110 "}));
}

TEST(GroupsFrom, RekeyListsEachCompleteChain) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x1000, peer, me, Mode::tunnel),
                                    sa(Proto::esp, 0x2000, peer, me, Mode::tunnel),
                                    sa(Proto::ah, 0x3000, peer, me, Mode::transport)};
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                            {tmpl(Proto::esp, Mode::tunnel, 1, peer, me),
                             tmpl(Proto::ah, Mode::transport)})};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{
                  "tun.1000@192.168.2.110 esp.1000@192.168.2.110 ah.3000@192.168.2.110 ",
                  "tun.2000@192.168.2.110 esp.2000@192.168.2.110 ah.3000@192.168.2.110 "}));
}

TEST(GroupsFrom, TemplateSpiPicksExactlyThatState) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x1000, peer, me, Mode::tunnel),
                                    sa(Proto::esp, 0x2000, peer, me, Mode::tunnel)};
    std::vector<KernelPolicy> policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                                                 {tmpl(Proto::esp, Mode::tunnel, 1, peer, me)})};
    policies[0].templates[0].spi = 0x2000;
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"tun.2000@192.168.2.110 esp.2000@192.168.2.110 ",
                                        "esp.1000@192.168.2.110 "}));
}

TEST(GroupsFrom, ReqidModeMarkAndIfIdMustMatchUnlessReqidIsZero) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x1, peer, me, Mode::tunnel, 7)};
    auto other_reqid = policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                              {tmpl(Proto::esp, Mode::tunnel, 8, peer, me)});
    auto other_mode = policy(Direction::out, "10.0.1.0", 24, peer, 32,
                             {tmpl(Proto::esp, Mode::transport, 7)});
    auto other_mark = policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                             {tmpl(Proto::esp, Mode::tunnel, 7, peer, me)});
    states[0].mark = Mark{5, 0xff};
    auto other_if_id = policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                              {tmpl(Proto::esp, Mode::tunnel, 0, peer, me)});
    other_if_id.mark = Mark{5, 0xff};
    other_if_id.if_id = 3;
    const std::vector<std::string> alone = {"esp.1@192.168.2.110 "};
    EXPECT_EQ(listing(states, {other_reqid}), alone);
    EXPECT_EQ(listing(states, {other_mode}), alone);
    EXPECT_EQ(listing(states, {other_mark}), alone);
    EXPECT_EQ(listing(states, {other_if_id}), alone);

    auto any_reqid_same_mark = other_if_id;
    any_reqid_same_mark.if_id = 0;
    EXPECT_EQ(listing(states, {any_reqid_same_mark}),
              (std::vector<std::string>{"tun.1@192.168.2.110 esp.1@192.168.2.110 "}));
}

TEST(GroupsFrom, TransportChainFindsItsDestinationInsideTheSelector) {
    std::vector<KernelSa> states = {sa(Proto::comp, 0x4, "10.9.0.5", me, Mode::transport),
                                    sa(Proto::esp, 0x55, "10.9.0.5", me, Mode::transport),
                                    sa(Proto::esp, 0x66, "10.8.0.5", me, Mode::transport)};
    auto policies = {policy(Direction::out, me, 32, "10.9.0.0", 16,
                            {tmpl(Proto::comp, Mode::transport),
                             tmpl(Proto::esp, Mode::transport)})};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{"esp.66@10.8.0.5 ", "comp.4@10.9.0.5 esp.55@10.9.0.5 "}));
}

TEST(GroupsFrom, TransportTemplatesInheritTheTunnelDestination) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x10, peer, me, Mode::tunnel),
                                    sa(Proto::ah, 0x20, "192.168.9.9", me, Mode::transport),
                                    sa(Proto::ah, 0x30, peer, me, Mode::transport)};
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                            {tmpl(Proto::esp, Mode::tunnel, 1, peer, me),
                             tmpl(Proto::ah, Mode::transport)})};
    EXPECT_EQ(listing(states, policies),
              (std::vector<std::string>{
                  "tun.10@192.168.2.110 esp.10@192.168.2.110 ah.30@192.168.2.110 ",
                  "ah.20@192.168.9.9 "}));
}

TEST(GroupsFrom, LarvalAndKernelTunnelAndUnknownProtocolStatesAreNeverListed) {
    KernelSa larval = sa(Proto::esp, 0x99, peer, me, Mode::tunnel);
    larval.larval = true;
    KernelSa ipip = sa(Proto::tun, 0xc0a80201, peer, me, Mode::tunnel, 0);
    ipip.kernel_owned = true;
    KernelSa route2 = sa(static_cast<Proto>(43), 0, peer, me, Mode::other, 0);
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                            {tmpl(Proto::esp, Mode::tunnel, 1, peer, me)})};
    EXPECT_TRUE(listing({larval, ipip, route2}, policies).empty());
}

TEST(GroupsFrom, SocketPoliciesAndPoliciesWithoutTemplatesMakeNoGroups) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x1, peer, me, Mode::tunnel)};
    auto socket = policy(Direction::out, "0.0.0.0", 0, "0.0.0.0", 0,
                         {tmpl(Proto::esp, Mode::tunnel, 1, peer, me)});
    socket.socket_policy = true;
    auto bypass = policy(Direction::out, "0.0.0.0", 0, "0.0.0.0", 0, {});
    EXPECT_EQ(listing(states, {socket, bypass}),
              (std::vector<std::string>{"esp.1@192.168.2.110 "}));
}

TEST(GroupsFrom, RecordedTunSpiWinsAndTheMatchingChainIsListedOnce) {
    SaGroup recorded{{Said{Proto::tun, 0x113, ip(peer)}, Said{Proto::comp, 0x3d0, ip(peer)},
                      Said{Proto::esp, 0x187a101b, ip(peer)},
                      Said{Proto::ah, 0x187a101a, ip(peer)}}};
    auto policies = {policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24, man_page_templates())};
    EXPECT_EQ(listing(man_page_states(), policies, {recorded}),
              (std::vector<std::string>{"tun.113@192.168.2.110 comp.3d0@192.168.2.110 "
                                        "esp.187a101b@192.168.2.110 ah.187a101a@192.168.2.110 "}));
}

TEST(GroupsFrom, RecordedGroupWithoutPolicyIsListedWhenItsKernelMembersExist) {
    SaGroup recorded{{Said{Proto::esp, 0x187a101b, ip(peer)},
                      Said{Proto::ah, 0x187a101a, ip(peer)}}};
    EXPECT_EQ(listing(man_page_states(), {}, {recorded}),
              (std::vector<std::string>{"esp.187a101b@192.168.2.110 ah.187a101a@192.168.2.110 ",
                                        "comp.3d0@192.168.2.110 "}));
}

TEST(GroupsFrom, RecordedGroupWithAMissingMemberIsNotListed) {
    SaGroup recorded{{Said{Proto::tun, 0x5, ip(peer)}, Said{Proto::esp, 0x777, ip(peer)}}};
    EXPECT_EQ(listing({sa(Proto::ah, 0x1, peer, me, Mode::transport)}, {}, {recorded}),
              (std::vector<std::string>{"ah.1@192.168.2.110 "}));
}

TEST(GroupsFrom, OrderIsByDestinationThenFirstSaWhateverTheInputOrder) {
    std::vector<KernelSa> states = {
        sa(Proto::esp, 0x20, "10.0.0.2", me, Mode::tunnel),
        sa(Proto::ah, 0x10, "10.0.0.2", me, Mode::transport),
        sa(Proto::esp, 0x10, "10.0.0.2", me, Mode::transport),
        sa(Proto::comp, 0x10, "10.0.0.1", me, Mode::transport),
        sa(Proto::esp, 0x5, "2001:db8::1", "2001:db8::2", Mode::transport),
        sa(Proto::esp, 0x30, "9.0.0.1", me, Mode::transport)};
    std::vector<KernelPolicy> policies = {
        policy(Direction::out, "10.1.0.0", 16, "10.2.0.0", 16,
               {tmpl(Proto::esp, Mode::tunnel, 1, "10.0.0.2", me)})};
    const std::vector<std::string> expected = {
        "esp.30@9.0.0.1 ", "comp.10@10.0.0.1 ", "tun.20@10.0.0.2 esp.20@10.0.0.2 ",
        "esp.10@10.0.0.2 ", "ah.10@10.0.0.2 ", "esp:5@2001:db8::1 "};
    EXPECT_EQ(listing(states, policies), expected);

    std::mt19937 shuffle_seed(42);
    for (int round = 0; round < 20; ++round) {
        std::shuffle(states.begin(), states.end(), shuffle_seed);
        EXPECT_EQ(listing(states, policies), expected);
    }
}

TEST(GroupsFrom, SaInTwoDifferentChainsAppearsInBoth) {
    std::vector<KernelSa> states = {sa(Proto::esp, 0x10, peer, me, Mode::tunnel),
                                    sa(Proto::ah, 0x20, peer, me, Mode::transport)};
    auto esp_only = policy(Direction::out, "10.0.1.0", 24, "10.0.2.0", 24,
                           {tmpl(Proto::esp, Mode::tunnel, 1, peer, me)});
    auto esp_ah = policy(Direction::out, "10.0.1.0", 24, "10.0.3.0", 24,
                         {tmpl(Proto::esp, Mode::tunnel, 1, peer, me),
                          tmpl(Proto::ah, Mode::transport)});
    EXPECT_EQ(listing(states, {esp_only, esp_ah}),
              (std::vector<std::string>{
                  "tun.10@192.168.2.110 esp.10@192.168.2.110 ",
                  "tun.10@192.168.2.110 esp.10@192.168.2.110 ah.20@192.168.2.110 "}));
}

} // namespace
} // namespace compat
