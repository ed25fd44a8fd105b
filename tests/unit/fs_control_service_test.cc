// fs/control_service: what the control node sends to the kernel for an
// eroute compat compiled, and how it replaces its state file.
#include "fs/control_service.h"

#include <arpa/inet.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sstream>
#include <sys/stat.h>
#include <system_error>

namespace fs {
namespace {

compat::Address v4(const char* text) {
    compat::Address address;
    address.family = AF_INET;
    inet_pton(AF_INET, text, address.bytes.data());
    return address;
}

// tun comp esp ah to 192.168.2.110, as compat::compile_eroute makes it.
compat::KernelPolicy manpage_eroute() {
    compat::KernelPolicy policy;
    policy.dir = compat::Direction::out;
    policy.priority = compat::eroute_priority({v4("10.1.0.0"), 24}, {v4("10.2.0.0"), 24});
    policy.src = {v4("10.1.0.0"), 24};
    policy.dst = {v4("10.2.0.0"), 24};
    policy.mark = {5, 0xff};
    policy.if_id = 3;
    compat::KernelTemplate comp;
    comp.proto = compat::Proto::comp;
    comp.spi = 0x3d0;
    comp.mode = compat::Mode::tunnel;
    comp.src = v4("192.168.2.100");
    comp.dst = v4("192.168.2.110");
    comp.reqid = 9;
    compat::KernelTemplate esp;
    esp.proto = compat::Proto::esp;
    esp.spi = 0x187a101b;
    compat::KernelTemplate ah = esp;
    ah.proto = compat::Proto::ah;
    ah.spi = 0x187a101a;
    policy.templates = {comp, esp, ah};
    return policy;
}

TEST(ControlServicePolicy, KeepsSelectorPriorityMarkAndIfId) {
    const netlink::XfrmPolicy policy = to_xfrm_policy(manpage_eroute());
    EXPECT_EQ(policy.dir, netlink::Direction::out);
    EXPECT_EQ(policy.selector.family, AF_INET);
    EXPECT_EQ(policy.selector.saddr.bytes, v4("10.1.0.0").bytes);
    EXPECT_EQ(policy.selector.daddr.bytes, v4("10.2.0.0").bytes);
    EXPECT_EQ(policy.selector.prefixlen_s, 24);
    EXPECT_EQ(policy.selector.prefixlen_d, 24);
    EXPECT_EQ(policy.selector.proto, 0);
    EXPECT_EQ(policy.priority, compat::klipsfs_priority_base + 256 - 48);
    EXPECT_EQ(policy.mark, (netlink::Mark{5, 0xff}));
    EXPECT_EQ(policy.if_id, 3u);
    EXPECT_EQ(policy.action, netlink::PolicyAction::allow);
}

TEST(ControlServicePolicy, TemplatesInnermostFirstWithSpisModesAndFamilies) {
    const netlink::XfrmPolicy policy = to_xfrm_policy(manpage_eroute());
    ASSERT_EQ(policy.templates.size(), 3u);
    const netlink::Template& comp = policy.templates[0];
    EXPECT_EQ(comp.proto, IPPROTO_COMP);
    EXPECT_EQ(comp.spi, 0x3d0u);
    EXPECT_EQ(comp.mode, netlink::Mode::tunnel);
    EXPECT_EQ(comp.reqid, 9u);
    EXPECT_EQ(comp.family, AF_INET);
    EXPECT_EQ(comp.saddr.bytes, v4("192.168.2.100").bytes);
    EXPECT_EQ(comp.daddr.bytes, v4("192.168.2.110").bytes);
    // Transport-mode templates carry no addresses, and the policy's family.
    for (const netlink::Template& t : {policy.templates[1], policy.templates[2]}) {
        EXPECT_EQ(t.mode, netlink::Mode::transport);
        EXPECT_EQ(t.family, AF_INET);
        EXPECT_TRUE(t.daddr.is_zero());
        EXPECT_TRUE(t.saddr.is_zero());
        EXPECT_FALSE(t.optional);
    }
    EXPECT_EQ(policy.templates[1].proto, IPPROTO_ESP);
    EXPECT_EQ(policy.templates[1].spi, 0x187a101bu);
    EXPECT_EQ(policy.templates[2].proto, IPPROTO_AH);
    EXPECT_EQ(policy.templates[2].spi, 0x187a101au);
}

TEST(ControlServicePolicy, RoundTripsThroughTheKernelAdapter) {
    const compat::KernelPolicy eroute = manpage_eroute();
    const compat::KernelPolicy back = to_kernel_policy(to_xfrm_policy(eroute));
    EXPECT_EQ(back.src, eroute.src);
    EXPECT_EQ(back.dst, eroute.dst);
    EXPECT_EQ(back.priority, eroute.priority);
    EXPECT_TRUE(compat::is_klipsfs_policy(back));
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class StateFileWrite : public ::testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/klipsfs-state-test.XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        dir_ = dir;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(StateFileWrite, ReplacesTheFileAndLeavesNoTemporary) {
    const std::string path = dir_ + "/groups";
    write_file_atomically(path, "first\n");
    write_file_atomically(path, "second\n");
    EXPECT_EQ(read_text(path), "second\n");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileWrite, CreatesMissingDirectories) {
    const std::string path = dir_ + "/var/lib/klipsfs/groups";
    write_file_atomically(path, "text\n");
    EXPECT_EQ(read_text(path), "text\n");
}

TEST_F(StateFileWrite, FailsNamingThePathAndKeepsTheOldFile) {
    const std::string path = dir_ + "/groups";
    write_file_atomically(path, "old\n");
    // A directory where the temporary file must go makes the write fail.
    std::filesystem::create_directory(path + ".tmp");
    try {
        write_file_atomically(path, "new\n");
        FAIL() << "no error";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find(path + ".tmp"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_text(path), "old\n");
}

} // namespace
} // namespace fs
