// fs_stress (inside the lab): concurrent readers of a klipsfs mount while
// the kernel's XFRM changes fast, checking each open reads one snapshot.
//
//   klipsfs_lab_fs_stress MOUNTPOINT [READERS [CHANGES]]     (default 32, 10000)
//
// A klipsfs must already serve MOUNTPOINT.  A fixed group (tunnel esp to
// 10.9.9.9 with its policy) stays all along, and a window of 400 lone esp
// SAs with consecutive SPIs (to IPv6 addresses that sort as the SPIs do; a
// listing of about 20 KB).  `ip -batch` then makes CHANGES state changes
// that slide the window: add SPI k+400, delete SPI k, k+1, ...  So at every
// instant the kernel holds one run of 400 or 401 consecutive SPIs.  Meanwhile
// READERS threads open ipsec_spigrp, read() it to the end in chunks of 1000
// to 4073 bytes (one FUSE READ each) and close it, in a loop.  Each open's
// text must be one whole snapshot: complete lines, each exactly as its SA
// prints, in the documented order (the IPv4 fixed group first, then by
// destination), the SPIs one run of 400 or 401 with no gap or repeat.  A
// text stitched from two snapshots breaks that.  After the batch the listing
// must reach the final state within a deadline.  Exit status 0 when all of
// that held.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char* fixed_line = "tun.1@10.9.9.9 esp.1@10.9.9.9 \n";
constexpr int window = 400;
constexpr unsigned long first_spi = 0x1000;
constexpr const char* keys = "enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff "
                             "auth 'hmac(sha1)' 0x0123456789abcdef0123456789abcdef01234567";

std::string hex(unsigned long value) {
    char text[24];
    std::snprintf(text, sizeof text, "%lx", value);
    return text;
}

// SA i: SPI 0x1000 + i to an address that grows with i and has no zero
// group, so it prints in full (a line of about 50 bytes).
std::string address_of(int i) {
    return "fd00:1111:2222:3333:4444:5555:" + hex(0x1000 + (i >> 12)) + ":" +
           hex(0x1000 + (i & 0xfff));
}

std::string line_of(int i) { return "esp:" + hex(first_spi + i) + "@" + address_of(i) + " \n"; }

std::string add_of(int i) {
    return "xfrm state add src fd00::1 dst " + address_of(i) + " proto esp spi 0x" +
           hex(first_spi + i) + " mode transport reqid 2 " + keys + "\n";
}

std::string delete_of(int i) {
    return "xfrm state delete src fd00::1 dst " + address_of(i) + " proto esp spi 0x" +
           hex(first_spi + i) + "\n";
}

// One open of `path`, read() `chunk` bytes at a time to the end (klipsfs
// opens the listing direct_io: each read() is one FUSE READ).  `starts`
// gets the offset of each read().
std::string read_listing(const std::string& path, std::size_t chunk = 128 * 1024,
                         std::vector<std::size_t>* starts = nullptr) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0)
        return "<open failed>";
    std::string text;
    std::vector<char> buffer(chunk);
    ssize_t n;
    if (starts)
        starts->clear();
    do {
        if (starts)
            starts->push_back(text.size());
        n = read(fd, buffer.data(), buffer.size());
        if (n > 0)
            text.append(buffer.data(), static_cast<std::size_t>(n));
    } while (n > 0);
    close(fd);
    return n < 0 ? text + "<read failed>" : text;
}

struct Fault {
    std::string why; // empty: no fault
    std::size_t at = 0;
};

// The fault of `text` as a listing of one kernel state the writer can
// make; none for a whole snapshot (see the top of the file).
Fault fault_of(const std::string& text) {
    if (text.empty() || text.back() != '\n')
        return {"the text does not end with a complete line", text.size()};
    if (text.rfind(fixed_line, 0) != 0)
        return {"the first line is not the fixed group", 0};
    unsigned long previous = 0;
    int run = 0;
    for (std::size_t start = std::strlen(fixed_line); start < text.size();) {
        const std::size_t end = text.find('\n', start) + 1;
        const std::string line = text.substr(start, end - start);
        const unsigned long spi =
            line.rfind("esp:", 0) == 0 ? std::strtoul(line.c_str() + 4, nullptr, 16) : 0;
        if (spi < first_spi || spi - first_spi > 0xffffff ||
            line != line_of(static_cast<int>(spi - first_spi)))
            return {"a torn or malformed line", start};
        if (run > 0 && spi != previous + 1)
            return {"SPI 0x" + hex(spi) + " follows 0x" + hex(previous) +
                        ": a gap, a repeat or out of order, not one snapshot",
                    start};
        previous = spi;
        ++run;
        start = end;
    }
    if (run != window && run != window + 1)
        return {std::to_string(run) + " SAs of the window, not " + std::to_string(window) + " or " +
                    std::to_string(window + 1) + ": not one snapshot",
                text.size()};
    return {};
}

// The lines of `text` around byte `at`, the line at `at` marked.
std::string excerpt(const std::string& text, std::size_t at) {
    std::size_t from = at;
    for (int lines = 0; from > 0 && !(text[from - 1] == '\n' && ++lines == 3);)
        --from;
    std::size_t to = at;
    for (int lines = 0; to < text.size() && lines < 2; ++to)
        lines += text[to] == '\n';
    return text.substr(from, at - from) + ">>>" + text.substr(at, to - at);
}

// Where a read() began at or inside the line at `at`, if one did.
std::string seam_in(const std::string& text, std::size_t at,
                    const std::vector<std::size_t>& starts) {
    const std::size_t end = text.find('\n', at);
    for (const std::size_t start : starts)
        if (start == at)
            return " (a read() began at that line)";
        else if (start > at && start <= end)
            return " (a read() began at byte " + std::to_string(start) + ", inside that line)";
    return "";
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
    const std::string tmp = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";

    // The fixed group and the first window, before the readers start.
    const std::string setup_path = tmp + "/fs_stress.setup";
    {
        std::ofstream setup(setup_path);
        for (int i = 0; i < window; ++i)
            setup << add_of(i);
    }
    if (!run(std::string("ip xfrm state add src 10.9.0.1 dst 10.9.9.9 proto esp spi 1 "
                         "mode tunnel reqid 1 ") + keys) ||
        !run("ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out tmpl src 10.9.0.1 "
             "dst 10.9.9.9 proto esp mode tunnel reqid 1") ||
        !run("ip -batch " + setup_path)) {
        std::fprintf(stderr, "fs_stress: FAIL: cannot make the fixed group and the window\n");
        return 1;
    }

    // The batch: add k + window, then delete k, until `changes` changes.
    const std::string batch_path = tmp + "/fs_stress.batch";
    std::vector<bool> alive(window, true);
    {
        std::ofstream batch(batch_path);
        for (int k = 0, made = 0; made < changes; ++k) {
            batch << add_of(k + window);
            alive.push_back(true);
            if (++made < changes) {
                batch << delete_of(k);
                alive[k] = false;
                ++made;
            }
        }
    }
    std::string initial = fixed_line, expected = fixed_line;
    for (int i = 0; i < window; ++i)
        initial += line_of(i);
    for (std::size_t i = 0; i < alive.size(); ++i)
        if (alive[i])
            expected += line_of(static_cast<int>(i));

    const auto initial_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string first;
    while ((first = read_listing(listing)) != initial)
        if (std::chrono::steady_clock::now() > initial_deadline) {
            const Fault fault = fault_of(first);
            std::fprintf(stderr, "fs_stress: FAIL: the first window never showed (%s):\n%s\n",
                         fault.why.empty() ? "a wrong snapshot" : fault.why.c_str(),
                         excerpt(first, fault.at).c_str());
            return 1;
        }

    std::atomic<bool> stop{false};
    std::atomic<long> listings{0}, calls{0}, bad{0};
    std::string first_bad;
    std::vector<std::thread> threads;
    for (int r = 0; r < readers; ++r)
        threads.emplace_back([&, r] {
            const std::size_t chunk = 1000 + static_cast<std::size_t>(r % 8) * 439;
            std::vector<std::size_t> starts;
            long my_calls = 0;
            while (!stop) {
                const std::string text = read_listing(listing, chunk, &starts);
                my_calls += static_cast<long>(starts.size());
                if (const Fault fault = fault_of(text); !fault.why.empty() && bad++ == 0)
                    first_bad = fault.why + ", at byte " + std::to_string(fault.at) + " of " +
                                std::to_string(text.size()) + " read in chunks of " +
                                std::to_string(chunk) + " bytes" + seam_in(text, fault.at, starts) +
                                ":\n" + excerpt(text, fault.at);
                ++listings;
            }
            calls += my_calls;
        });

    const auto batch_start = std::chrono::steady_clock::now();
    const bool batch_ok = run("ip -batch " + batch_path);
    const double batch_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();
    const long listings_during_batch = listings;

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool converged = false;
    while (!(converged = read_listing(listing) == expected) &&
           std::chrono::steady_clock::now() < deadline) {
    }
    stop = true;
    for (std::thread& t : threads)
        t.join();

    std::printf("fs_stress: %d readers, %d changes in %.1f s, %ld listings read during the "
                "changes (%ld in all, %zu bytes each, %ld read() calls), %ld bad\n",
                readers, changes, batch_s, listings_during_batch, listings.load(), expected.size(),
                calls.load(), bad.load());
    bool pass = true;
    if (!batch_ok) {
        std::fprintf(stderr, "fs_stress: FAIL: ip -batch failed\n");
        pass = false;
    }
    if (bad > 0) {
        std::fprintf(stderr,
                     "fs_stress: FAIL: %ld listings were not one whole snapshot; the "
                     "first: %s\n",
                     bad.load(), first_bad.c_str());
        pass = false;
    }
    if (listings_during_batch < readers) {
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
