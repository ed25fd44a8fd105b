// fs/kernel_adapter: what of netlink's view of XFRM reaches the KLIPS model.
#include <arpa/inet.h>
#include <memory>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "fs/kernel_adapter.h"

namespace fs {
namespace {

netlink::Address v4(const char* text) {
    netlink::Address address;
    inet_pton(AF_INET, text, address.bytes.data());
    return address;
}

netlink::XfrmState esp_state() {
    netlink::XfrmState state;
    state.id = {v4("192.168.2.110"), 0x187a101b, IPPROTO_ESP, AF_INET};
    state.saddr = v4("192.168.2.100");
    state.reqid = 7;
    state.mark = {5, 0xff};
    state.if_id = 3;
    state.mode = netlink::Mode::tunnel;
    auto details = std::make_shared<netlink::StateDetails>();
    details->crypt.name = "cbc(aes)";
    state.details = details;
    return state;
}

TEST(KernelAdapter, StateKeepsIdentityModeReqidMarkAndIfId) {
    const compat::KernelSa sa = to_kernel_sa(esp_state());
    EXPECT_EQ(sa.said.proto, compat::Proto::esp);
    EXPECT_EQ(sa.said.spi, 0x187a101bu);
    EXPECT_EQ(sa.said.dst.family, AF_INET);
    EXPECT_EQ(sa.said.dst.bytes, v4("192.168.2.110").bytes);
    EXPECT_EQ(sa.src.bytes, v4("192.168.2.100").bytes);
    EXPECT_EQ(sa.mode, compat::Mode::tunnel);
    EXPECT_EQ(sa.reqid, 7u);
    EXPECT_EQ(sa.mark, (compat::Mark{5, 0xff}));
    EXPECT_EQ(sa.if_id, 3u);
    EXPECT_FALSE(sa.larval);
    EXPECT_FALSE(sa.kernel_owned);
}

TEST(KernelAdapter, LarvalAndKernelTunnelStatesAreMarked) {
    netlink::XfrmState larval = esp_state();
    larval.details = std::make_shared<netlink::StateDetails>();
    EXPECT_TRUE(to_kernel_sa(larval).larval);

    netlink::XfrmState ipip = esp_state();
    ipip.id.proto = IPPROTO_IPIP;
    EXPECT_TRUE(to_kernel_sa(ipip).kernel_owned);
    ipip.id.proto = IPPROTO_IPV6;
    EXPECT_TRUE(to_kernel_sa(ipip).kernel_owned);

    netlink::XfrmState beet = esp_state();
    beet.mode = netlink::Mode::beet;
    EXPECT_EQ(to_kernel_sa(beet).mode, compat::Mode::other);
}

TEST(KernelAdapter, PolicyTemplatesTakeThePolicyFamilyWhenTheirsIsZero) {
    netlink::XfrmPolicy policy;
    policy.selector.family = AF_INET;
    policy.selector.daddr = v4("10.2.0.0");
    policy.selector.prefixlen_d = 16;
    policy.selector.saddr = v4("10.1.0.0");
    policy.selector.prefixlen_s = 16;
    policy.dir = netlink::Direction::fwd;
    netlink::Template comp;
    comp.proto = IPPROTO_COMP;
    comp.mode = netlink::Mode::tunnel;
    comp.daddr = v4("192.168.2.110");
    comp.optional = true;
    comp.spi = 0x3d0;
    netlink::Template esp;
    esp.proto = IPPROTO_ESP;
    esp.family = AF_INET6;
    policy.templates = {comp, esp};

    const compat::KernelPolicy out = to_kernel_policy(policy);
    EXPECT_EQ(out.dir, compat::Direction::fwd);
    EXPECT_EQ(out.dst.prefix_len, 16);
    EXPECT_EQ(out.dst.address.family, AF_INET);
    EXPECT_EQ(out.src.address.bytes, v4("10.1.0.0").bytes);
    ASSERT_EQ(out.templates.size(), 2u);
    EXPECT_EQ(out.templates[0].proto, compat::Proto::comp);
    EXPECT_EQ(out.templates[0].mode, compat::Mode::tunnel);
    EXPECT_EQ(out.templates[0].dst.family, AF_INET);
    EXPECT_EQ(out.templates[0].spi, 0x3d0u);
    EXPECT_TRUE(out.templates[0].optional);
    EXPECT_EQ(out.templates[1].dst.family, AF_INET6);
    EXPECT_FALSE(out.socket_policy);

    policy.dir = netlink::Direction::socket_out;
    EXPECT_TRUE(to_kernel_policy(policy).socket_policy);
    EXPECT_EQ(to_kernel_policy(policy).dir, compat::Direction::other);
}

} // namespace
} // namespace fs
