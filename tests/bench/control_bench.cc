// control_bench (inside the lab): how fast groups are made and bound through
// klipsfs's control node, and whether a bound eroute is in the kernel when
// the write() that bound it returns.
//
//   klipsfs_control_bench KLIPSFS [GROUPS [LOG-LEVEL]]   (defaults 2000, warning)
//
// LOG-LEVEL goes to klipsfs's --log-level: "debug" logs each command's
// stages with their times (fs/control_service.cc), for finding where time goes.
//
// Loads 2 x GROUPS transport-mode states (esp and ah, one destination per
// group) with `ip -batch`, starts KLIPSFS (state file in $TMPDIR), then for
// each group writes `group esp ah` and `bind 10.1.0.1/32 DST/32 esp` on one
// open ipsec/control.  Only the write()s are timed.  After each bind it asks
// the kernel for the policy (XFRM_MSG_GETPOLICY, outside the timing) and
// counts those it did not find.  At the end the listing must hold every group.
//
// Prints the rate (target: at most 0.5 ms per group made and bound, i.e.
// 2,000 per second), beside the floor of the kernel it runs on (a control
// write that runs nothing, the cheapest system call), and exits non-zero
// when a write fails, a policy is missing or the listing is wrong; a missed
// target only shows in the output.
#include "netlink/client.h"
#include "netlink/error.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* esp_keys = "enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff "
                                 "auth 'hmac(sha1)' 0x0123456789abcdef0123456789abcdef01234567";
constexpr const char* ah_key = "auth 'hmac(sha1)' 0x0123456789abcdef0123456789abcdef01234567";
constexpr const char* source = "10.1.0.1";

int fail(const std::string& message) {
    std::fprintf(stderr, "control_bench: FAIL: %s\n", message.c_str());
    return 1;
}

// Group i's destination: 172.16.0.1, 172.16.0.2, ...
std::string destination(int i) {
    in_addr address{htonl(0xac100001u + static_cast<std::uint32_t>(i))};
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address, text, sizeof text);
    return text;
}

std::string hex(unsigned value) {
    char text[16];
    std::snprintf(text, sizeof text, "%x", value);
    return text;
}

unsigned esp_spi(int i) {
    return 0x10000u + static_cast<unsigned>(i);
}
unsigned ah_spi(int i) {
    return 0x20000u + static_cast<unsigned>(i);
}

bool run_shell(const std::string& command) {
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
        return false;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool is_mounted(const std::string& mnt) {
    std::ifstream mounts("/proc/mounts");
    for (std::string line; std::getline(mounts, line);)
        if (line.find(" " + mnt + " fuse.klipsfs ") != std::string::npos)
            return true;
    return false;
}

// CPU time of a process, or of one thread with "/task/TID" as `thread`.
double cpu_seconds(pid_t pid, const std::string& thread = "") {
    std::ifstream stat("/proc/" + std::to_string(pid) + thread + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    // After the command name: state is field 3; utime and stime are 14, 15.
    for (int n = 3; n <= 15 && fields >> field; ++n)
        if (n >= 14)
            ticks += std::stod(field);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// "name cpu, name cpu, ...": the daemon's threads, for where its time went.
std::string thread_times(pid_t pid) {
    std::string text;
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = opendir(tasks.c_str());
    if (dir == nullptr)
        return "?";
    while (const dirent* entry = readdir(dir)) {
        if (entry->d_name[0] == '.')
            continue;
        std::ifstream comm(tasks + "/" + entry->d_name + "/comm");
        std::string name;
        std::getline(comm, name);
        char cpu[32];
        std::snprintf(cpu, sizeof cpu, " %.2f s",
                      cpu_seconds(pid, std::string("/task/") + entry->d_name));
        text += (text.empty() ? "" : ", ") + name + cpu;
    }
    closedir(dir);
    return text;
}

// One line on the open control node; the reply text when write() failed.
std::optional<std::string> send(int fd, const std::string& line) {
    if (write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()))
        return std::nullopt;
    const int error = errno;
    char reply[512];
    const ssize_t n = pread(fd, reply, sizeof reply, 0);
    return std::string(std::strerror(error)) + ": " + std::string(reply, n > 0 ? n : 0);
}

netlink::PolicyId eroute_id(int i) {
    netlink::PolicyId id;
    id.dir = netlink::Direction::out;
    id.selector.family = AF_INET;
    id.selector.saddr = netlink::parse_address(source);
    id.selector.daddr = netlink::parse_address(destination(i));
    id.selector.prefixlen_s = 32;
    id.selector.prefixlen_d = 32;
    return id;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: klipsfs_control_bench KLIPSFS [GROUPS [LOG-LEVEL]]\n");
        return 2;
    }
    const std::string klipsfs = argv[1];
    const int groups = argc > 2 ? std::atoi(argv[2]) : 2000;
    const std::string log_level = std::string("--log-level=") + (argc > 3 ? argv[3] : "warning");
    std::string work = (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    work += "/control-bench.XXXXXX";
    if (mkdtemp(work.data()) == nullptr)
        return fail("mkdtemp");
    const std::string mnt = work + "/mnt";
    mkdir(mnt.c_str(), 0755);

    {
        std::ofstream batch(work + "/states");
        for (int i = 0; i < groups; ++i) {
            const std::string ends = std::string("src ") + source + " dst " + destination(i);
            batch << "xfrm state add " << ends << " proto esp spi 0x" << hex(esp_spi(i))
                  << " mode transport " << esp_keys << "\n";
            batch << "xfrm state add " << ends << " proto ah spi 0x" << hex(ah_spi(i))
                  << " mode transport " << ah_key << "\n";
        }
    }
    const auto load_start = Clock::now();
    if (!run_shell("ip -batch " + work + "/states"))
        return fail("ip -batch could not load the states");
    const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();

    const std::string state_file = work + "/groups";
    const char* daemon_argv[] = {
        klipsfs.c_str(), "-f",   log_level.c_str(), "--state-file", state_file.c_str(),
        mnt.c_str(),     nullptr};
    pid_t daemon;
    if (posix_spawn(&daemon, klipsfs.c_str(), nullptr, nullptr, const_cast<char**>(daemon_argv),
                    environ) != 0)
        return fail("cannot start " + klipsfs);
    const auto mount_deadline = Clock::now() + std::chrono::seconds(120);
    while (!is_mounted(mnt)) {
        if (waitpid(daemon, nullptr, WNOHANG) == daemon)
            return fail("klipsfs exited before mounting");
        if (Clock::now() > mount_deadline)
            return fail("klipsfs did not mount within 120 s");
        usleep(10000); // polling the mount table, not synchronising
    }

    netlink::Client kernel;
    const int fd = open((mnt + "/ipsec/control").c_str(), O_RDWR);
    if (fd < 0)
        return fail("cannot open ipsec/control");
    // The floor of this kernel, in the same run: a write of a comment line
    // (a FUSE round trip that runs no command) and the cheapest system
    // call.  The lab kernel emulates every system call; a group+bind needs
    // at least two control writes, a netlink request and its ACK, and two
    // renames of the state file.
    const auto mean_us = [](int times, auto&& call) {
        const auto start = Clock::now();
        for (int i = 0; i < times; ++i)
            call();
        return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / times;
    };
    const std::string comment = "# nothing\n";
    bool comment_failed = false;
    const double floor_write_us = mean_us(500, [&] {
        comment_failed |= write(fd, comment.data(), comment.size()) != ssize_t(comment.size());
    });
    if (comment_failed)
        return fail("a comment line on ipsec/control failed");
    const double floor_syscall_us = mean_us(2000, [] { (void)getppid(); });

    const double cpu_before = cpu_seconds(daemon);
    Clock::duration in_writes{};
    int missing = 0;
    for (int i = 0; i < groups; ++i) {
        const std::string dst = destination(i);
        const std::string esp = "esp." + hex(esp_spi(i)) + "@" + dst;
        const std::string ah = "ah." + hex(ah_spi(i)) + "@" + dst;
        const auto start = Clock::now();
        if (auto error = send(fd, "group " + esp + " " + ah + "\n"))
            return fail("group " + std::to_string(i) + ": " + *error);
        if (auto error =
                send(fd, "bind " + std::string(source) + "/32 " + dst + "/32 " + esp + "\n"))
            return fail("bind " + std::to_string(i) + ": " + *error);
        in_writes += Clock::now() - start;
        if (!kernel.get_policy(eroute_id(i)))
            ++missing;
    }
    const double cpu_used = cpu_seconds(daemon) - cpu_before;
    const std::string threads = thread_times(daemon);
    close(fd);

    std::ifstream listing(mnt + "/ipsec_spigrp");
    int listed = 0;
    for (std::string line; std::getline(listing, line);)
        listed += line.rfind("esp.", 0) == 0 && line.find(" ah.") != std::string::npos;

    kill(daemon, SIGTERM);
    int status = 0;
    waitpid(daemon, &status, 0);
    run_shell("ip xfrm policy flush; ip xfrm state flush");

    const double seconds = std::chrono::duration<double>(in_writes).count();
    const double rate = groups / seconds;
    std::printf("control_bench: %d groups of esp+ah, each made and bound through ipsec/control\n",
                groups);
    std::printf("  states loaded with ip -batch     %8.2f s\n", load_s);
    std::printf("  group + bind write()s            %8.2f s (%.3f ms per group)\n", seconds,
                1000 * seconds / groups);
    std::printf("  groups made and bound per second %8.0f (target >= 2000: %s)\n", rate,
                rate >= 2000 ? "met" : "MISSED");
    std::printf("  floor: a control write of a comment %.0f us, a getppid() %.0f us;\n"
                "         one group+bind costs %.1f comment writes\n",
                floor_write_us, floor_syscall_us, 1e6 * seconds / groups / floor_write_us);
    std::printf("  klipsfs CPU during the writes    %8.2f s\n", cpu_used);
    std::printf("  klipsfs CPU by thread (whole run): %s\n", threads.c_str());
    std::printf("  policies not in the kernel when bind returned: %d\n", missing);
    std::printf("  groups listed at the end: %d of %d\n", listed, groups);
    rmdir(mnt.c_str());
    if (missing != 0)
        return fail(std::to_string(missing) + " policies were not in the kernel after bind");
    if (listed != groups)
        return fail("the listing holds " + std::to_string(listed) + " groups, not " +
                    std::to_string(groups));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("klipsfs did not exit cleanly on SIGTERM");
    return 0;
}
