// The ipsec_spigrp line: each SAID followed by exactly one space, then
// '\n' (spec/klips-text.md §2.1), in the man page's form by default or in
// the form the Openswan kernel printed.
#include "compat/spigrp.h"
#include "tests/unit/compat_said_testing.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace compat {
namespace {

SaGroup man_page_group(const Address& dst) {
    return SaGroup{{
        {Proto::tun, 0x3d0, dst},
        {Proto::comp, 0x3d0, dst},
        {Proto::esp, 0x187a101b, dst},
        {Proto::ah, 0x187a101a, dst},
    }};
}

const Address man_page_v4 = v4(192, 168, 2, 110);
const Address man_page_v6 = v6({0x3049, 1, 0, 0, 0, 0, 0, 2});

TEST(RenderSpigrp, ReproducesTheManPageIpv4ExampleByteForByte) {
    std::vector<SaGroup> groups{man_page_group(man_page_v4)};
    EXPECT_EQ(render_spigrp(groups, SaidForm::man_page),
              "tun.3d0@192.168.2.110 comp.3d0@192.168.2.110 esp.187a101b@192.168.2.110 "
              "ah.187a101a@192.168.2.110 \n");
}

TEST(RenderSpigrp, ReproducesTheManPageIpv6ExampleByteForByte) {
    std::vector<SaGroup> groups{man_page_group(man_page_v6)};
    EXPECT_EQ(render_spigrp(groups, SaidForm::man_page),
              "tun:3d0@3049:1::2 comp:3d0@3049:1::2 esp:187a101b@3049:1::2 "
              "ah:187a101a@3049:1::2 \n");
}

TEST(RenderSpigrp, WritesTheOpenswanKernelFormOnRequest) {
    std::vector<SaGroup> groups{man_page_group(man_page_v4), man_page_group(man_page_v6)};
    EXPECT_EQ(render_spigrp(groups, SaidForm::kernel),
              "tun0x3d0@192.168.2.110 comp0x3d0@192.168.2.110 esp0x187a101b@192.168.2.110 "
              "ah0x187a101a@192.168.2.110 \n"
              "tun0x3d0@3049:1::2 comp0x3d0@3049:1::2 esp0x187a101b@3049:1::2 "
              "ah0x187a101a@3049:1::2 \n");
}

// Real console lines quoted in spec/klips-text.md §2.1.
TEST(RenderSpigrp, ReproducesRealKernelLines) {
    const Address east = v4(192, 1, 2, 45);
    const Address east6 = v6({0x2001, 0xdb8, 1, 2, 0, 0, 0, 0x45});
    std::vector<SaGroup> groups{
        {{{Proto::tun, 0x1002, east}, {Proto::esp, 0x515a1ad5, east}}},
        {{{Proto::tun, 0x1001, east6}, {Proto::esp, 0x7e46e5a3, east6}}},
        {{{Proto::esp, 0x1234, v4(10, 0, 0, 1)}}},
    };
    EXPECT_EQ(render_spigrp(groups, SaidForm::kernel),
              "tun0x1002@192.1.2.45 esp0x515a1ad5@192.1.2.45 \n"
              "tun0x1001@2001:db8:1:2::45 esp0x7e46e5a3@2001:db8:1:2::45 \n"
              "esp0x1234@10.0.0.1 \n");
}

TEST(RenderSpigrp, GivesAnEmptyTextForNoGroups) {
    EXPECT_EQ(render_spigrp({}, SaidForm::man_page), "");
    EXPECT_EQ(render_spigrp({}, SaidForm::kernel), "");
}

TEST(RenderSpigrp, WritesNoLineForAGroupWithoutSas) {
    std::vector<SaGroup> groups{{}, {{{Proto::esp, 1, v4(1, 2, 3, 4)}}}, {}};
    EXPECT_EQ(render_spigrp(groups, SaidForm::man_page), "esp.1@1.2.3.4 \n");
}

TEST(RenderSpigrp, KeepsMagicNamesInLines) {
    std::vector<SaGroup> groups{
        {{{Proto::tun, 0, v4(0, 0, 0, 0)}, {Proto::int_, 260, v4(0, 0, 0, 0)}}},
    };
    EXPECT_EQ(render_spigrp(groups, SaidForm::kernel), "%passthrough4 %trap \n");
}

TEST(AppendSpigrpLine, AppendsOneLineWithoutClearing) {
    std::string out = "first line\n";
    std::vector<Said> sas{{Proto::esp, 0x10, v4(1, 2, 3, 4)}, {Proto::ah, 0x11, v4(1, 2, 3, 4)}};
    append_spigrp_line(out, sas, SaidForm::decimal);
    EXPECT_EQ(out, "first line\nesp16@1.2.3.4 ah17@1.2.3.4 \n");
}

} // namespace
} // namespace compat
