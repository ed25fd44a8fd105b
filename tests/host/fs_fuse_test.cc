// The FUSE semantics of klipsfs's tree, on a real mount of the FUSE layer
// with fakes behind it (klipsfs_fake_fs): the layout, /proc-like reads of
// generated files, and the control node's write/flush/read contract
// (spec/fuse-serving.md 2.3).  Needs root and /dev/fuse.
#include "tests/host/fs_mount_util.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using fs_test::read_file;

class FakeMount : public ::testing::Test {
protected:
    void SetUp() override { mount_fake(true); }

    void mount_fake(bool control) {
        dir_ = fs_test::make_temp_dir();
        ASSERT_FALSE(dir_.empty());
        listing_ = dir_ + "/listing";
        log_ = dir_ + "/commands";
        mnt_ = dir_ + "/mnt";
        ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
        set_listing("esp.1@10.0.0.1 \n");
        std::vector<std::string> argv = {KLIPSFS_FAKE_FS};
        if (!control)
            argv.push_back("--no-control");
        argv.insert(argv.end(), {listing_, log_, mnt_});
        daemon_.start(argv, dir_ + "/stderr");
        ASSERT_TRUE(daemon_.wait_mounted(mnt_)) << read_file(dir_ + "/stderr");
    }

    void TearDown() override {
        if (!mnt_.empty() && fs_test::mount_type(mnt_)) {
            EXPECT_EQ(fs_test::run_command("fusermount3 -u " + mnt_), 0);
        }
        EXPECT_EQ(daemon_.wait_exit(), 0) << read_file(dir_ + "/stderr");
        EXPECT_FALSE(fs_test::mount_type(mnt_).has_value());
        fs_test::run_command("rm -rf " + dir_);
    }

    void set_listing(const std::string& text) {
        const std::string tmp = listing_ + ".new";
        std::ofstream(tmp) << text;
        ASSERT_EQ(rename(tmp.c_str(), listing_.c_str()), 0);
    }

    std::string path(const std::string& relative) const { return mnt_ + "/" + relative; }
    std::string commands() const { return read_file(log_); }

    std::string dir_, listing_, log_, mnt_;
    fs_test::Daemon daemon_;
};

std::string read_from(int fd, std::size_t size) {
    std::string text(size, '\0');
    const ssize_t n = read(fd, text.data(), size);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
}

std::string pread_at(int fd, std::size_t size, off_t off) {
    std::string text(size, '\0');
    const ssize_t n = pread(fd, text.data(), size, off);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
}

// write() then close(): errno of the first that fails, 0 if neither.
int write_and_close(const std::string& file, const std::string& text, int flags = O_WRONLY) {
    const int fd = open(file.c_str(), flags);
    if (fd < 0)
        return errno;
    int error = 0;
    if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        error = errno;
    if (close(fd) != 0 && !error)
        error = errno;
    return error;
}

TEST_F(FakeMount, LayoutIsKlipsProcNet) {
    char target[64] = {};
    ASSERT_GT(readlink(path("ipsec_spigrp").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "ipsec/spigrp/all");

    struct stat st {};
    ASSERT_EQ(stat(path("ipsec/spigrp/all").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    EXPECT_EQ(st.st_size, 0);
    ASSERT_EQ(stat(path("ipsec/control").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_size, 0);
    ASSERT_EQ(stat(path("ipsec/spigrp").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));

    EXPECT_EQ(fs_test::mount_type(mnt_), "fuse.klipsfs");
    // This mount's own line of /proc/mounts: "klipsfs MNT fuse.klipsfs OPTIONS 0 0".
    const std::string mounts = read_file("/proc/mounts");
    const std::string head = "klipsfs " + mnt_ + " fuse.klipsfs ";
    const std::size_t at = mounts.find(head);
    ASSERT_NE(at, std::string::npos) << mounts;
    const std::string options =
        mounts.substr(at + head.size(), mounts.find(' ', at + head.size()) - at - head.size());
    EXPECT_NE(("," + options + ",").find(",allow_other,"), std::string::npos) << options;
    EXPECT_NE(("," + options + ",").find(",default_permissions,"), std::string::npos) << options;

    EXPECT_EQ(fs_test::run_command("test \"$(ls " + mnt_ +
                                   " | tr '\\n' ' ')\" = "
                                   "'ipsec ipsec_spigrp '"),
              0);
    EXPECT_EQ(fs_test::run_command("test \"$(ls " + path("ipsec") +
                                   " | tr '\\n' ' ')\" = "
                                   "'control spigrp '"),
              0);
    errno = 0;
    EXPECT_NE(access(path("nothing").c_str(), F_OK), 0);
    EXPECT_EQ(errno, ENOENT);
}

TEST_F(FakeMount, CatReadsTheWholeListingThroughTheSymlink) {
    std::string big;
    for (int i = 0; i < 20000; ++i)
        big += "esp." + std::to_string(i) + "@10.0.0.1 ah.1@10.0.0.1 \n";
    set_listing(big);
    EXPECT_EQ(read_file(path("ipsec_spigrp")), big);
    EXPECT_EQ(fs_test::run_command("cat " + path("ipsec_spigrp") + " | cmp -s - " + listing_), 0)
        << "(cmp -s alone trusts st_size, as it would on /proc)";
    EXPECT_EQ(fs_test::run_command("test $(wc -c < " + path("ipsec_spigrp") +
                                   ") = " + std::to_string(big.size())),
              0);
}

TEST_F(FakeMount, EmptyListingIsAnEmptyFile) {
    set_listing("");
    EXPECT_EQ(read_file(path("ipsec_spigrp")), "");
}

TEST_F(FakeMount, ReadsAfterOffsetZeroComeFromTheSameSnapshot) {
    set_listing("AAAAAAAAAA\n");
    const int fd = open(path("ipsec/spigrp/all").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(read_from(fd, 4), "AAAA");
    set_listing("BBBBBBBBBBBBBBBBBBBB\n");
    EXPECT_EQ(read_from(fd, 100), "AAAAAA\n");
    EXPECT_EQ(read_from(fd, 100), "") << "a read past the end returns 0";
    EXPECT_EQ(pread_at(fd, 100, 1000), "");

    EXPECT_EQ(pread_at(fd, 5, 0), "BBBBB") << "pread at 0 takes a fresh snapshot";
    set_listing("CCCC\n");
    EXPECT_EQ(pread_at(fd, 100, 18), "BB\n") << "pread at > 0 reads the snapshot";

    ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
    EXPECT_EQ(read_from(fd, 100), "CCCC\n") << "lseek(0) + read takes a fresh snapshot";
    close(fd);
}

TEST_F(FakeMount, FirstReadAtAnOffsetTakesASnapshot) {
    set_listing("0123456789\n");
    const int fd = open(path("ipsec/spigrp/all").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(pread_at(fd, 3, 5), "567");
    close(fd);
}

TEST_F(FakeMount, GeneratedFileRefusesWritingEvenForRoot) {
    errno = 0;
    EXPECT_LT(open(path("ipsec/spigrp/all").c_str(), O_WRONLY), 0);
    EXPECT_EQ(errno, EACCES);
    EXPECT_NE(truncate(path("ipsec/spigrp/all").c_str(), 0), 0);
    EXPECT_NE(chmod(path("ipsec/spigrp/all").c_str(), 0666), 0);
}

TEST_F(FakeMount, EachCompleteLineIsOneCommandRunInsideWrite) {
    EXPECT_EQ(write_and_close(path("ipsec/control"), "one\ntwo\n\n   \nthree\n"), 0);
    EXPECT_EQ(commands(), "one\ntwo\nthree\n") << "blank lines are skipped";
}

TEST_F(FakeMount, LinesSplitAcrossWritesAreReassembled) {
    const int fd = open(path("ipsec/control").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    for (const char* part : {"fi", "rst\nsec", "ond", "\r\nthird\n"})
        ASSERT_EQ(write(fd, part, strlen(part)), static_cast<ssize_t>(strlen(part)));
    EXPECT_EQ(commands(), "first\nsecond\nthird\n");
    EXPECT_EQ(close(fd), 0);
}

TEST_F(FakeMount, FailingLineFailsTheWriteDropsTheRestAndExplainsOnRead) {
    const int fd = open(path("ipsec/control").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const std::string text = "a\nfail 2 esp.1@10.0.0.1: no such SA\nb\nc";
    EXPECT_EQ(write(fd, text.data(), text.size()), 2)
        << "the lines that ran before the failing one are a short write";
    errno = 0;
    EXPECT_EQ(write(fd, text.data() + 2, text.size() - 2), -1) << "the retry gets the errno";
    EXPECT_EQ(errno, ENOENT);
    EXPECT_EQ(pread_at(fd, 100, 0), "esp.1@10.0.0.1: no such SA\n");
    EXPECT_EQ(close(fd), 0) << "the dropped partial line is not run at close";
    const std::string failing = "fail 2 esp.1@10.0.0.1: no such SA\n";
    EXPECT_EQ(commands(), "a\n" + failing + failing);
}

TEST_F(FakeMount, CoreutilsWriterSeesTheFailingLinesErrorAndNoCommandTwice) {
    EXPECT_NE(fs_test::run_command("/usr/bin/printf 'a\\nfail 17 grouped\\nb\\n' > " +
                                   path("ipsec/control") + " 2>/dev/null"),
              0);
    EXPECT_EQ(commands(), "a\nfail 17 grouped\nfail 17 grouped\n");
}

TEST_F(FakeMount, PlainReadAfterWriteReturnsTheWholeReplyThenEndOfFile) {
    const int fd = open(path("ipsec/control").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(pread_at(fd, 100, 0), "") << "nothing run yet";
    ASSERT_EQ(write(fd, "x\n", 2), 2);
    EXPECT_EQ(read_from(fd, 2), "ok");
    EXPECT_EQ(read_from(fd, 100), "\n");
    EXPECT_EQ(read_from(fd, 100), "") << "end of file";
    EXPECT_EQ(pread_at(fd, 100, 0), "ok\n") << "offset 0 reads it again";
    close(fd);
}

TEST_F(FakeMount, PartialLastLineRunsAtCloseAndReportsItsError) {
    EXPECT_EQ(write_and_close(path("ipsec/control"), "no newline"), 0);
    EXPECT_EQ(commands(), "no newline\n");
    EXPECT_EQ(write_and_close(path("ipsec/control"), "fail 17 already grouped"), EEXIST);
    EXPECT_EQ(fs_test::run_command("printf 'fail 16 busy' > " + path("ipsec/control")), 0)
        << "bash's printf builtin ignores close() errors (the documented limit)";
    EXPECT_NE(fs_test::run_command("/usr/bin/printf 'fail 16 busy' > " + path("ipsec/control") +
                                   " 2>/dev/null"),
              0)
        << "coreutils reports close() errors";
}

TEST_F(FakeMount, ShellRedirectionsWork) {
    EXPECT_EQ(fs_test::run_command("echo one > " + path("ipsec/control")), 0);
    EXPECT_EQ(fs_test::run_command("echo two >> " + path("ipsec/control")), 0);
    EXPECT_NE(
        fs_test::run_command("echo 'fail 22 bad' > " + path("ipsec/control") + " 2>/dev/null"), 0);
    EXPECT_EQ(fs_test::run_command("printf 'a\\nb\\nc\\n' | sed s/^/x/ > " + path("ipsec/control")),
              0);
    EXPECT_EQ(commands(), "one\ntwo\nfail 22 bad\nxa\nxb\nxc\n");
}

TEST_F(FakeMount, TruncateToZeroIsAcceptedOtherChangesAreNot) {
    EXPECT_EQ(write_and_close(path("ipsec/control"), "t\n", O_WRONLY | O_TRUNC), 0);
    EXPECT_EQ(truncate(path("ipsec/control").c_str(), 0), 0);
    errno = 0;
    EXPECT_NE(truncate(path("ipsec/control").c_str(), 5), 0);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_NE(chmod(path("ipsec/control").c_str(), 0666), 0);
    EXPECT_EQ(errno, EPERM);
}

TEST_F(FakeMount, OverlongLineIsRefused) {
    const std::string huge(100 * 1024, 'x');
    EXPECT_EQ(write_and_close(path("ipsec/control"), huge), EINVAL);
    EXPECT_EQ(commands(), "");
}

TEST_F(FakeMount, ExceptionInTheSinkIsEioWithItsText) {
    const int fd = open(path("ipsec/control").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    errno = 0;
    EXPECT_EQ(write(fd, "throw broken\n", 13), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(pread_at(fd, 100, 0), "broken\n");
    close(fd);
}

// A child without CAP_NET_ADMIN in its effective set (still uid 0, so the
// mode bits let it open the node) must be refused.
TEST_F(FakeMount, WritersWithoutNetAdminGetEperm) {
    const pid_t child = fork();
    if (child == 0) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2] = {};
        if (syscall(SYS_capget, &header, data) != 0)
            _exit(10);
        data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
        if (syscall(SYS_capset, &header, data) != 0)
            _exit(11);
        const int fd = open(path("ipsec/control").c_str(), O_RDWR);
        if (fd < 0)
            _exit(12);
        if (write(fd, "x\n", 2) != -1 || errno != EPERM)
            _exit(13);
        char reply[200] = {};
        if (pread(fd, reply, sizeof reply - 1, 0) <= 0 || !strstr(reply, "CAP_NET_ADMIN"))
            _exit(14);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(commands(), "");
}

TEST_F(FakeMount, ConcurrentReadersEachSeeAWholeSnapshot) {
    std::string a, b;
    for (int i = 0; i < 5000; ++i) {
        a += "esp.a@10.0.0." + std::to_string(i % 250) + " \n";
        b += "ah.bb@10.0.1." + std::to_string(i % 250) + " \n";
    }
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0}, reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 8; ++r)
        readers.emplace_back([&] {
            while (!stop) {
                const std::string text = read_file(path("ipsec_spigrp"));
                if (text != a && text != b && text != "esp.1@10.0.0.1 \n")
                    ++bad;
                ++reads;
            }
        });
    for (int i = 0; i < 200; ++i)
        set_listing(i % 2 ? a : b);
    stop = true;
    for (auto& t : readers)
        t.join();
    EXPECT_EQ(bad, 0) << "of " << reads << " reads";
}

class FakeMountWithoutSink : public FakeMount {
protected:
    void SetUp() override { mount_fake(false); }
};

TEST_F(FakeMountWithoutSink, ControlNodeIsAbsent) {
    errno = 0;
    EXPECT_NE(access(path("ipsec/control").c_str(), F_OK), 0);
    EXPECT_EQ(errno, ENOENT);
    EXPECT_EQ(fs_test::run_command("test \"$(ls " + path("ipsec") + ")\" = spigrp"), 0);
    EXPECT_EQ(read_file(path("ipsec_spigrp")), "esp.1@10.0.0.1 \n");
}

} // namespace
