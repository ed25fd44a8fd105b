// The klipsfs daemon on this host: start-up, options, the mount it makes,
// signals, a crash and a restart.  Each test follows a network namespace of
// its own (--netns), so the kernel state is known: this host's kernel has
// XFRM policies but no ESP/AH/IPComp states, so every listing is empty.
// Needs root, /dev/fuse, `ip netns` and fusermount3.
#include <cerrno>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/host/fs_mount_util.h"

namespace {

using fs_test::read_file;
using fs_test::run_command;

// Whether a klipsfs process (this build's) serves `mountpoint`.
// The pid of a klipsfs whose last argument is `mountpoint`, or 0.
pid_t klipsfs_pid_on(const std::string& mountpoint) {
    const std::filesystem::path proc("/proc");
    for (const auto& entry : std::filesystem::directory_iterator(proc)) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const std::string cmdline = read_file(entry.path() / "cmdline");
        const std::string binary = std::string(KLIPSFS_BINARY) + '\0';
        const std::string tail = '\0' + mountpoint + '\0';
        if (cmdline.rfind(binary, 0) == 0 && cmdline.size() >= tail.size() &&
            cmdline.compare(cmdline.size() - tail.size(), tail.size(), tail) == 0)
            return static_cast<pid_t>(std::stol(name));
    }
    return 0;
}

bool klipsfs_running_on(const std::string& mountpoint) { return klipsfs_pid_on(mountpoint) != 0; }

class DaemonTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs_test::make_temp_dir();
        ASSERT_FALSE(dir_.empty());
        mnt_ = dir_ + "/mnt";
        ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
        netns_ = "klipsfs-fs-" + std::to_string(getpid());
        ASSERT_EQ(run_command("ip netns add " + netns_), 0);
    }

    void TearDown() override {
        if (fs_test::mount_type(mnt_))
            run_command("fusermount3 -u -z " + mnt_);
        run_command("ip netns del " + netns_);
        run_command("rm -rf " + dir_);
    }

    void start_foreground(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv = {KLIPSFS_BINARY, "-f", "--netns", netns_,
                                         "--state-file", state_file()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(mnt_);
        daemon_.start(argv, dir_ + "/stderr");
        ASSERT_TRUE(daemon_.wait_mounted(mnt_)) << read_file(dir_ + "/stderr");
    }

    // Runs klipsfs to completion; its stderr is in err().
    int run_klipsfs(const std::string& args) {
        return run_command(std::string(KLIPSFS_BINARY) + " --state-file " + state_file() + " " +
                           args + " >" + dir_ +
                           "/out 2>" + dir_ + "/err");
    }
    // Each test keeps the control node's groups in a file of its own.
    std::string state_file() const { return dir_ + "/groups"; }
    std::string err() const { return read_file(dir_ + "/err"); }
    std::string out() const { return read_file(dir_ + "/out"); }

    // The mount point is an empty, ordinary directory again.
    void expect_nothing_left() {
        EXPECT_FALSE(fs_test::mount_type(mnt_).has_value());
        EXPECT_EQ(run_command("test -d " + mnt_ + " && test -z \"$(ls -A " + mnt_ + ")\""), 0);
    }

    std::string dir_, mnt_, netns_;
    fs_test::Daemon daemon_;
};

TEST_F(DaemonTest, ServesTheKlipsLayoutWithAnEmptyListing) {
    start_foreground();
    EXPECT_EQ(fs_test::mount_type(mnt_), "fuse.klipsfs");
    char target[64] = {};
    ASSERT_GT(readlink((mnt_ + "/ipsec_spigrp").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "ipsec/spigrp/all");
    struct stat st{};
    ASSERT_EQ(stat((mnt_ + "/ipsec/spigrp/all").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(read_file(mnt_ + "/ipsec_spigrp"), "");
    ASSERT_EQ(stat((mnt_ + "/ipsec/control").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
    const std::string log = read_file(dir_ + "/stderr");
    EXPECT_NE(log.find("serving ipsec_spigrp (SAIDs in the ipsec_spigrp(5) form) and "
                       "ipsec/control"),
              std::string::npos)
        << log;

    EXPECT_NE(log.find("mount point " + mnt_), std::string::npos) << log;
    EXPECT_NE(log.find("network namespace " + netns_), std::string::npos) << log;
    EXPECT_NE(log.find("kernel: XFRM yes"), std::string::npos) << log;
    EXPECT_NE(log.find("mounted on " + mnt_), std::string::npos) << log;

    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
    expect_nothing_left();
}

TEST_F(DaemonTest, PoliciesWithoutStatesGiveNoLines) {
    ASSERT_EQ(run_command("ip -n " + netns_ + " xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 "
                          "dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel"),
              0);
    start_foreground();
    EXPECT_EQ(read_file(mnt_ + "/ipsec_spigrp"), "");
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
}

// Reads cost no netlink dump and no rendering of their own: one rendering
// per kernel change, shared by every read until the next change (counted
// from the daemon's debug lines, one per rendering).
TEST_F(DaemonTest, ReadsShareOneRenderingUntilTheKernelChanges) {
    start_foreground({"--log-level=debug"});
    const auto renderings = [&] {
        const std::string log = read_file(dir_ + "/stderr");
        std::size_t count = 0;
        for (std::size_t at = 0; (at = log.find("rendered ipsec_spigrp", at)) != std::string::npos;
             ++at)
            ++count;
        return count;
    };
    const std::size_t at_start = renderings(); // klipsfs warms up before it serves
    EXPECT_GE(at_start, 1u);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(read_file(mnt_ + "/ipsec_spigrp"), "");
    EXPECT_EQ(renderings(), at_start) << "20 reads of an unchanged kernel";

    ASSERT_EQ(run_command("ip -n " + netns_ + " xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 "
                          "dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel"),
              0);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(read_file(mnt_ + "/ipsec_spigrp"), "");
    EXPECT_EQ(renderings(), at_start + 1) << "one more after a change, seen at the next read";
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
}

TEST_F(DaemonTest, SigintUnmountsCleanly) {
    start_foreground();
    daemon_.signal(SIGINT);
    EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
    expect_nothing_left();
}

TEST_F(DaemonTest, FusermountUnmountEndsTheDaemon) {
    start_foreground();
    EXPECT_EQ(run_command("fusermount3 -u " + mnt_), 0);
    EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
    expect_nothing_left();
}

TEST_F(DaemonTest, AfterSigkillFusermountClearsTheMountAndARestartServes) {
    start_foreground();
    daemon_.signal(SIGKILL);
    EXPECT_EQ(daemon_.wait_exit(), 128 + SIGKILL);
    struct stat st{};
    errno = 0;
    EXPECT_NE(stat((mnt_ + "/ipsec_spigrp").c_str(), &st), 0);
    EXPECT_EQ(errno, ENOTCONN) << "a dead daemon leaves its mount behind";

    EXPECT_EQ(run_command("fusermount3 -u " + mnt_), 0);
    expect_nothing_left();

    fs_test::Daemon again;
    again.start({KLIPSFS_BINARY, "-f", "--netns", netns_, "--state-file", state_file(), mnt_},
                dir_ + "/stderr2");
    ASSERT_TRUE(again.wait_mounted(mnt_)) << read_file(dir_ + "/stderr2");
    EXPECT_EQ(read_file(mnt_ + "/ipsec_spigrp"), "");
    again.signal(SIGTERM);
    EXPECT_EQ(again.wait_exit(), 0) << read_file(dir_ + "/stderr2");
    expect_nothing_left();
}

TEST_F(DaemonTest, BackgroundModeReturnsOnceMountedAndLeavesWithTheMount) {
    ASSERT_EQ(run_klipsfs("--netns " + netns_ + " " + mnt_), 0) << err();
    EXPECT_EQ(fs_test::mount_type(mnt_), "fuse.klipsfs") << "mounted before the parent exits";
    EXPECT_EQ(read_file(mnt_ + "/ipsec_spigrp"), "");
    EXPECT_TRUE(klipsfs_running_on(mnt_));
    EXPECT_EQ(run_command("fusermount3 -u " + mnt_), 0);
    // The detached daemon ends when its mount goes; nothing names it but its
    // mount point, so look for a process whose command line holds it.
    EXPECT_TRUE(fs_test::eventually([&] { return !klipsfs_running_on(mnt_); },
                                    std::chrono::seconds(10)));
    expect_nothing_left();
}

TEST_F(DaemonTest, BackgroundModeWithARelativeMountPointUnmountsOnSigterm) {
    // The detached daemon leaves its working directory: it must unmount by
    // the absolute path, not by the "mnt" it was given.
    ASSERT_EQ(run_command("cd " + dir_ + " && " + KLIPSFS_BINARY +
                          " --state-file groups --netns " + netns_ + " mnt 2>" + dir_ + "/err"),
              0)
        << err();
    EXPECT_EQ(fs_test::mount_type(mnt_), "fuse.klipsfs");
    const pid_t pid = klipsfs_pid_on("mnt");
    ASSERT_NE(pid, 0);
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    EXPECT_TRUE(fs_test::eventually([&] { return !klipsfs_running_on("mnt"); },
                                    std::chrono::seconds(10)));
    expect_nothing_left();
}

TEST_F(DaemonTest, BackgroundStartErrorsReachTheTerminal) {
    EXPECT_EQ(run_klipsfs("--netns klipsfs-no-such-ns " + mnt_), 1);
    EXPECT_NE(err().find("network namespace klipsfs-no-such-ns"), std::string::npos) << err();
    expect_nothing_left();
}

TEST_F(DaemonTest, SaidFormKernelIsAccepted) {
    start_foreground({"--said-form=kernel"});
    EXPECT_NE(read_file(dir_ + "/stderr").find("kernel's 0x"), std::string::npos);
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
}

TEST_F(DaemonTest, BadOptionsGiveClearErrors) {
    EXPECT_EQ(run_klipsfs("--bogus " + mnt_), 2);
    EXPECT_NE(err().find("unknown option '--bogus'"), std::string::npos) << err();
    EXPECT_NE(err().find("Try 'klipsfs --help'"), std::string::npos) << err();

    EXPECT_EQ(run_klipsfs("--said-form=hex " + mnt_), 2);
    EXPECT_NE(err().find("--said-form: 'hex'"), std::string::npos) << err();

    EXPECT_EQ(run_klipsfs("--log-level=loud " + mnt_), 2);
    EXPECT_NE(err().find("--log-level"), std::string::npos) << err();

    EXPECT_EQ(run_klipsfs("--netns"), 2);
    EXPECT_NE(err().find("needs a value"), std::string::npos) << err();

    EXPECT_EQ(run_klipsfs(mnt_ + " " + mnt_), 2);
    EXPECT_NE(err().find("unexpected argument"), std::string::npos) << err();

    EXPECT_EQ(run_klipsfs("-f " + dir_ + "/missing"), 1);
    EXPECT_NE(err().find("mount point " + dir_ + "/missing: No such file or directory"),
              std::string::npos)
        << err();

    EXPECT_EQ(run_klipsfs("-f --netns " + netns_ + " -o no_such_fuse_option " + mnt_), 1);
    EXPECT_NE(err().find("no_such_fuse_option"), std::string::npos) << err();
    expect_nothing_left();
}

TEST_F(DaemonTest, HelpAndVersion) {
    EXPECT_EQ(run_klipsfs("--help"), 0);
    EXPECT_NE(out().find("Usage: klipsfs [OPTION]... [MOUNTPOINT]"), std::string::npos);
    EXPECT_NE(out().find("/run/klipsfs"), std::string::npos);
    EXPECT_EQ(run_klipsfs("--version"), 0);
    EXPECT_EQ(out().rfind("klipsfs ", 0), 0u) << out();
}

} // namespace
