// fs_stress (inside the lab): concurrent readers of a klipsfs mount while
// the kernel's XFRM changes fast.
//
//   klipsfs_lab_fs_stress MOUNTPOINT [READERS [CHANGES]]     (default 32, 10000)
//
// A klipsfs must already serve MOUNTPOINT.  A fixed group (tunnel esp to
// 10.9.9.9 with its policy) stays all along; `ip -batch` then makes CHANGES
// state changes (adds of esp states to 10.8.x.y, each deleted 50 adds
// later) while READERS threads open, read to the end and close
// ipsec_spigrp in a loop.  Every read must be a whole, well-formed listing:
// complete lines, each either the fixed group or one esp SA, in order, the
// fixed group present.  After the batch the listing must reach the final
// state within a deadline.  Exit status 0 when all of that held.
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char* fixed_line = "tun.1@10.9.9.9 esp.1@10.9.9.9 \n";
constexpr int live_window = 50;
constexpr const char* keys = "enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff "
                             "auth 'hmac(sha1)' 0x0123456789abcdef0123456789abcdef01234567";

std::string address_of(int i) {
    return "10.8." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

std::string hex(int value) {
    char text[16];
    std::snprintf(text, sizeof text, "%x", value);
    return text;
}

std::string line_of(int i) { return "esp." + hex(0x1000 + i) + "@" + address_of(i) + " \n"; }

std::string read_listing(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0)
        return "<open failed>";
    std::string text;
    std::vector<char> buffer(128 * 1024);
    for (ssize_t n; (n = read(fd, buffer.data(), buffer.size())) > 0;)
        text.append(buffer.data(), static_cast<std::size_t>(n));
    close(fd);
    return text;
}

std::uint32_t dst_key(const std::string& line) {
    const std::size_t at = line.find('@');
    const std::size_t end = line.find(' ', at);
    in_addr address{};
    inet_pton(AF_INET, line.substr(at + 1, end - at - 1).c_str(), &address);
    return ntohl(address.s_addr);
}

// Whole and well-formed: complete lines, each one the fixed group or a
// single esp SA to 10.8/16, sorted by destination, the fixed group present.
bool well_formed(const std::string& text) {
    if (text.empty() || text.back() != '\n')
        return false;
    bool fixed_seen = false;
    std::uint32_t previous = 0;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = text.find('\n', start) + 1;
        const std::string line = text.substr(start, end - start);
        start = end;
        if (line == fixed_line) {
            fixed_seen = true;
        } else if (line.rfind("esp.", 0) != 0 || line.find("@10.8.") == std::string::npos ||
                   line.size() < 4 || line.compare(line.size() - 2, 2, " \n") != 0 ||
                   std::count(line.begin(), line.end(), ' ') != 1) {
            return false;
        }
        const std::uint32_t key = dst_key(line);
        if (key < previous)
            return false;
        previous = key;
    }
    return fixed_seen;
}

bool run(const std::string& command) { return std::system(command.c_str()) == 0; }

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: klipsfs_lab_fs_stress MOUNTPOINT [READERS [CHANGES]]\n");
        return 2;
    }
    const std::string listing = std::string(argv[1]) + "/ipsec_spigrp";
    const int readers = argc > 2 ? std::atoi(argv[2]) : 32;
    const int changes = argc > 3 ? std::atoi(argv[3]) : 10000;

    if (!run(std::string("ip xfrm state add src 10.9.0.1 dst 10.9.9.9 proto esp spi 1 "
                         "mode tunnel reqid 1 ") + keys) ||
        !run("ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out tmpl src 10.9.0.1 "
             "dst 10.9.9.9 proto esp mode tunnel reqid 1")) {
        std::fprintf(stderr, "fs_stress: FAIL: cannot make the fixed group\n");
        return 1;
    }

    // The batch: add i, and delete i - live_window, until `changes` changes.
    const std::string batch_path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR")
                                                                     : "/tmp") +
                                   "/fs_stress.batch";
    std::vector<bool> alive;
    {
        std::ofstream batch(batch_path);
        int made = 0;
        for (int i = 0; made < changes; ++i) {
            batch << "xfrm state add src 10.8.255.1 dst " << address_of(i)
                  << " proto esp spi 0x" << hex(0x1000 + i) << " mode transport reqid 2 "
                  << keys << "\n";
            alive.push_back(true);
            ++made;
            if (i >= live_window && made < changes) {
                batch << "xfrm state delete src 10.8.255.1 dst " << address_of(i - live_window)
                      << " proto esp spi 0x" << hex(0x1000 + i - live_window) << "\n";
                alive[i - live_window] = false;
                ++made;
            }
        }
    }
    std::string expected;
    for (std::size_t i = 0; i < alive.size(); ++i)
        if (alive[i])
            expected += line_of(static_cast<int>(i));
    expected += fixed_line;

    const auto fixed_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (read_listing(listing) != fixed_line)
        if (std::chrono::steady_clock::now() > fixed_deadline) {
            std::fprintf(stderr, "fs_stress: FAIL: the fixed group never showed\n");
            return 1;
        }

    std::atomic<bool> stop{false};
    std::atomic<long> reads{0}, bad{0};
    std::string first_bad;
    std::vector<std::thread> threads;
    for (int r = 0; r < readers; ++r)
        threads.emplace_back([&] {
            while (!stop) {
                const std::string text = read_listing(listing);
                if (!well_formed(text) && bad++ == 0)
                    first_bad = text.substr(0, 2000);
                ++reads;
            }
        });

    const auto batch_start = std::chrono::steady_clock::now();
    const bool batch_ok = run("ip -batch " + batch_path);
    const double batch_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();
    const long reads_during_batch = reads;

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool converged = false;
    while (!(converged = read_listing(listing) == expected) &&
           std::chrono::steady_clock::now() < deadline) {
    }
    stop = true;
    for (std::thread& t : threads)
        t.join();

    std::printf("fs_stress: %d readers, %d changes in %.1f s, %ld reads during the changes "
                "(%ld in all), %ld bad\n",
                readers, changes, batch_s, reads_during_batch, reads.load(), bad.load());
    bool pass = true;
    if (!batch_ok) {
        std::fprintf(stderr, "fs_stress: FAIL: ip -batch failed\n");
        pass = false;
    }
    if (bad > 0) {
        std::fprintf(stderr, "fs_stress: FAIL: %ld bad reads; the first:\n%s\n", bad.load(),
                     first_bad.c_str());
        pass = false;
    }
    if (reads_during_batch < readers) {
        std::fprintf(stderr, "fs_stress: FAIL: too few reads overlapped the changes\n");
        pass = false;
    }
    if (!converged) {
        std::fprintf(stderr, "fs_stress: FAIL: the listing did not reach the final state\n");
        pass = false;
    }
    run("ip xfrm policy flush; ip xfrm state flush");
    std::puts(pass ? "fs_stress: PASS" : "fs_stress: FAIL");
    return pass ? 0 : 1;
}
