// fs_bench (inside the lab): what klipsfs costs against `ip xfrm` itself.
//
//   klipsfs_fs_bench KLIPSFS [GROUPS [TRIALS [LOG-LEVEL]]]   (defaults 10000, 20, notice)
//
// LOG-LEVEL goes to klipsfs's --log-level: "debug" logs each rendering of
// the listing with the time of its stages (fs/listing.cc).
//
// Loads GROUPS groups of four (tun comp esp ah: an IPComp state in tunnel
// mode, ESP and AH in transport mode, one outbound policy each) with
// `ip -batch`, starts KLIPSFS on a mount of its own and prints:
//   - the time of `cat ipsec_spigrp` (the first, which renders, and the
//     median of later ones) over the time of `ip -o xfrm state` plus
//     `ip -o xfrm policy` (target: at most 0.5);
//   - the median time from `ip xfrm state add` returning to the new SA
//     showing in the file, beside the time of one `ip xfrm state get`
//     (target: at most 5 ms and never more than twice the get);
//   - the daemon's resident memory and CPU time.
// Everything is measured on the lab kernel, where system calls are slow, so
// the ratios matter more than the absolute times.  Exits non-zero only when
// the listing is wrong or a step fails, not when a target is missed.
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* keys_esp = "enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff "
                                 "auth 'hmac(sha1)' 0x0123456789abcdef0123456789abcdef01234567";
constexpr const char* key_ah = "auth 'hmac(sha1)' 0x0123456789abcdef0123456789abcdef01234567";
constexpr const char* src = "10.0.0.1";

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

std::string dst_of(int i) {
    in_addr address{htonl(0xac100000u + static_cast<std::uint32_t>(i) + 1)};
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address, text, sizeof text);
    return text;
}

// Runs argv[0] (a path) with stdout to /dev/null; returns its wall time in
// ms, or -1 when it failed.
double timed_argv(const std::vector<std::string>& words) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> argv;
    for (const std::string& word : words)
        argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    const auto start = Clock::now();
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
        return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    const double ms = ms_since(start);
    posix_spawn_file_actions_destroy(&actions);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

// A shell command line, through sh -c.
double timed(const std::string& command) {
    return timed_argv({"/bin/sh", "-c", command});
}

std::string read_all(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY);
    std::string text;
    if (fd < 0)
        return text;
    std::vector<char> buffer(128 * 1024);
    for (ssize_t n; (n = read(fd, buffer.data(), buffer.size())) > 0;)
        text.append(buffer.data(), static_cast<std::size_t>(n));
    close(fd);
    return text;
}

bool mounted(const std::string& mnt) {
    std::ifstream mounts("/proc/mounts");
    std::string line;
    while (std::getline(mounts, line))
        if (line.find(" " + mnt + " fuse.klipsfs ") != std::string::npos)
            return true;
    return false;
}

std::string status_field(pid_t pid, const std::string& name) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(name + ":", 0) == 0)
            return line.substr(name.size() + 1);
    return "?";
}

double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    std::size_t pos = text.rfind(')');
    std::vector<std::string> fields;
    std::string field;
    for (std::size_t i = pos + 2; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == ' ') {
            fields.push_back(field);
            field.clear();
        } else {
            field += text[i];
        }
    }
    // utime and stime are fields 14 and 15 of stat; fields[] starts at 3.
    const double ticks = std::stod(fields[11]) + std::stod(fields[12]);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int fail(const std::string& message) {
    std::fprintf(stderr, "fs_bench: FAIL: %s\n", message.c_str());
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: klipsfs_fs_bench KLIPSFS [GROUPS [TRIALS [LOG-LEVEL]]]\n");
        return 2;
    }
    const std::string klipsfs = argv[1];
    const int groups = argc > 2 ? std::atoi(argv[2]) : 10000;
    const int trials = argc > 3 ? std::atoi(argv[3]) : 20;
    const std::string log_level = std::string("--log-level=") + (argc > 4 ? argv[4] : "notice");
    const char* tmp = std::getenv("TMPDIR");
    const std::string work = std::string(tmp ? tmp : "/tmp") + "/fs_bench";
    const std::string mnt = work + "/mnt";
    const std::string listing = mnt + "/ipsec_spigrp";
    mkdir(work.c_str(), 0755);
    mkdir(mnt.c_str(), 0755);

    {
        std::ofstream batch(work + "/load");
        for (int i = 0; i < groups; ++i) {
            const std::string dst = dst_of(i);
            const std::string ends = std::string("src ") + src + " dst " + dst;
            batch << "xfrm state add " << ends << " proto comp spi 0x3d0 mode tunnel comp deflate\n"
                  << "xfrm state add " << ends << " proto esp spi 0x187a101b mode transport "
                  << keys_esp << "\n"
                  << "xfrm state add " << ends << " proto ah spi 0x187a101a mode transport "
                  << key_ah << "\n"
                  << "xfrm policy add src " << src << "/32 dst " << dst << "/32 dir out tmpl "
                  << ends << " proto comp mode tunnel tmpl proto esp mode transport "
                  << "tmpl proto ah mode transport\n";
        }
    }
    const double load_ms = timed("ip -batch " + work + "/load");
    if (load_ms < 0)
        return fail("loading the groups with ip -batch failed");

    const auto start = Clock::now();
    pid_t daemon;
    const std::string state_file = work + "/groups"; // not the host's default path
    const char* daemon_argv[] = {klipsfs.c_str(),    "-f", log_level.c_str(), "--state-file",
                                 state_file.c_str(), mnt.c_str(), nullptr};
    if (posix_spawn(&daemon, klipsfs.c_str(), nullptr, nullptr,
                    const_cast<char**>(daemon_argv), environ) != 0)
        return fail("cannot start " + klipsfs);
    while (!mounted(mnt)) {
        if (waitpid(daemon, nullptr, WNOHANG) == daemon)
            return fail("klipsfs exited before mounting");
        if (ms_since(start) > 300000)
            return fail("klipsfs did not mount within 300 s");
    }
    const double startup_ms = ms_since(start);

    const std::string cat = "cat " + listing;
    const double cat_cold = timed(cat);
    std::vector<double> cats, ips;
    for (int i = 0; i < 5; ++i)
        cats.push_back(timed(cat));
    for (int i = 0; i < 3; ++i)
        ips.push_back(timed("ip -o xfrm state") + timed("ip -o xfrm policy"));
    const std::string text = read_all(listing);
    const long lines = std::count(text.begin(), text.end(), '\n');
    const std::string first = dst_of(0);
    const std::string first_line = "tun.3d0@" + first + " comp.3d0@" + first + " esp.187a101b@" +
                                   first + " ah.187a101a@" + first + " \n";
    if (lines != groups || text.rfind(first_line, 0) != 0)
        return fail("the listing has " + std::to_string(lines) + " lines, or a wrong first line");

    // The new SA goes to 10.255.0.k, which sorts before every group, so the
    // first bytes of the file show it: each poll is one pread at offset 0
    // (a fresh snapshot), not a read of the whole listing.
    std::vector<double> latencies, gets;
    const int fd = open(listing.c_str(), O_RDONLY);
    if (fd < 0)
        return fail("cannot open " + listing);
    for (int k = 0; k < trials; ++k) {
        const std::string dst = "10.255.0." + std::to_string(k + 1);
        const std::string ends = std::string("src ") + src + " dst " + dst;
        const std::string said = "esp.77@" + dst + " ";
        if (timed("ip xfrm state add " + ends + " proto esp spi 0x77 mode transport " +
                  keys_esp) < 0)
            return fail("ip xfrm state add failed");
        const auto added = Clock::now();
        char head[256];
        for (;;) {
            const ssize_t n = pread(fd, head, sizeof head, 0);
            if (n > 0 && std::string_view(head, static_cast<std::size_t>(n)).rfind(said, 0) == 0)
                break;
            if (ms_since(added) > 60000)
                return fail(said + "did not show within 60 s");
        }
        latencies.push_back(ms_since(added));
        // ip itself, not through a shell: the get is the yardstick.
        gets.push_back(timed_argv({"/sbin/ip", "xfrm", "state", "get", "src", src, "dst", dst,
                                   "proto", "esp", "spi", "0x77"}));
        if (gets.back() < 0)
            return fail("ip xfrm state get failed");
        timed("ip xfrm state delete " + ends + " proto esp spi 0x77");
    }
    close(fd);

    const double ratio_cold = cat_cold / median(ips);
    const double ratio_warm = median(cats) / median(ips);
    const double latency = median(latencies);
    const double get = median(gets);
    std::printf("fs_bench: %d groups of four (%d kernel states with IPComp's IPIP, %d policies)\n",
                groups, groups * 4, groups);
    std::printf("  load with ip -batch           %10.0f ms\n", load_ms);
    std::printf("  klipsfs start to mounted      %10.0f ms\n", startup_ms);
    std::printf("  cat ipsec_spigrp, first       %10.1f ms  (%zu bytes)\n", cat_cold, text.size());
    std::printf("  cat ipsec_spigrp, median      %10.1f ms\n", median(cats));
    std::printf("  ip -o xfrm state + policy     %10.1f ms\n", median(ips));
    std::printf("  ratio cat/ip, first / median  %10.3f / %.3f   (target <= 0.5)\n", ratio_cold,
                ratio_warm);
    std::printf("  add -> visible, median (max)  %10.2f ms (%.2f ms) over %d trials\n", latency,
                *std::max_element(latencies.begin(), latencies.end()), trials);
    std::printf("  add -> visible, each trial (ms):");
    for (const double ms : latencies)
        std::printf(" %.1f", ms);
    std::printf("\n");
    std::printf("  ip xfrm state get, median     %10.2f ms  (latency/get %.2f; target <= 5 ms "
                "and <= 2)\n",
                get, latency / get);
    std::printf("  klipsfs RSS %s, peak %s, CPU %.2f s\n", status_field(daemon, "VmRSS").c_str(),
                status_field(daemon, "VmHWM").c_str(), cpu_seconds(daemon));

    kill(daemon, SIGTERM);
    int status = 0;
    waitpid(daemon, &status, 0);
    timed("ip xfrm policy flush; ip xfrm state flush");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || mounted(mnt))
        return fail("klipsfs did not unmount cleanly on SIGTERM");
    return 0;
}
