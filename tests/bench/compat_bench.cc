// How fast compat reads and writes SAIDs, and how long a large ipsec_spigrp
// listing takes to render (target: 100,000 groups of four in under 20 ms).
// Prints figures only; it passes or fails nothing.
//
//   compat_bench           the full run (use a Release build for figures)
//   compat_bench --quick   a small run, as CTest's "bench" label runs it
#include "compat/said.h"
#include "compat/spigrp.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <time.h>
#include <vector>

namespace {

using compat::Address;
using compat::Proto;
using compat::SaGroup;
using compat::Said;
using compat::SaidForm;

// Keeps results alive so that the compiler cannot drop the work measured.
std::uint64_t sink = 0;

// A deterministic spread of SPIs and addresses (a 32-bit LCG).
struct Numbers {
    std::uint32_t state = 12345;
    std::uint32_t next() { return state = state * 1664525u + 1013904223u; }
};

Address make_address(Numbers& numbers, int family) {
    Address address{family, {}};
    std::uint32_t value = numbers.next();
    if (family == AF_INET) {
        address.bytes = {10, static_cast<std::uint8_t>(value >> 16),
                         static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
        return address;
    }
    address.bytes[0] = 0x20; // 2001:db8::/32, a run of zero groups, then 2 random groups
    address.bytes[1] = 0x01;
    address.bytes[2] = 0x0d;
    address.bytes[3] = 0xb8;
    for (std::size_t i = 12; i < 16; ++i)
        address.bytes[i] = static_cast<std::uint8_t>(value >> (8 * (i - 12)));
    return address;
}

// Groups as pluto made them: tun comp esp ah, one destination.
std::vector<SaGroup> make_groups(std::size_t count, int family) {
    Numbers numbers;
    std::vector<SaGroup> groups(count);
    for (SaGroup& group : groups) {
        Address dst = make_address(numbers, family);
        std::uint32_t tun = 0x1000 + (numbers.next() & 0xffff);
        group.sas = {{Proto::tun, tun, dst},
                     {Proto::comp, numbers.next() & 0xffff, dst},
                     {Proto::esp, numbers.next(), dst},
                     {Proto::ah, numbers.next(), dst}};
    }
    return groups;
}

std::vector<Said> sas_of(const std::vector<SaGroup>& groups) {
    std::vector<Said> sas;
    for (const SaGroup& group : groups)
        sas.insert(sas.end(), group.sas.begin(), group.sas.end());
    return sas;
}

double seconds_of(clockid_t clock) {
    timespec now{};
    clock_gettime(clock, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// The best of `runs` timings of `work`, in seconds of this thread's CPU
// time (on a shared machine wall-clock time mostly measures the other
// processes) and, for comparison, of wall-clock time.
struct Timing {
    double cpu = 1e9;
    double wall = 1e9;
};

template <typename Work> Timing best_of(int runs, Work work) {
    Timing best;
    for (int i = 0; i < runs; ++i) {
        double cpu = seconds_of(CLOCK_THREAD_CPUTIME_ID);
        double wall = seconds_of(CLOCK_MONOTONIC);
        work();
        best.cpu = std::min(best.cpu, seconds_of(CLOCK_THREAD_CPUTIME_ID) - cpu);
        best.wall = std::min(best.wall, seconds_of(CLOCK_MONOTONIC) - wall);
    }
    return best;
}

void bench_parse(const char* name, const std::vector<Said>& sas, SaidForm form, int runs) {
    std::vector<std::string> texts;
    for (const Said& said : sas)
        texts.push_back(compat::format_said(said, form));

    Timing timing = best_of(runs, [&] {
        for (const std::string& text : texts)
            sink += compat::parse_said(text).spi;
    });
    std::printf("parse_said   %-22s %12.0f SAIDs/s\n", name, texts.size() / timing.cpu);
}

void bench_format(const char* name, const std::vector<Said>& sas, SaidForm form, int runs) {
    std::string out;
    Timing appending = best_of(runs, [&] {
        for (const Said& said : sas) {
            out.clear();
            compat::append_said(out, said, form);
            sink += out.size();
        }
    });
    std::printf("append_said  %-22s %12.0f SAIDs/s\n", name, sas.size() / appending.cpu);

    Timing formatting = best_of(runs, [&] {
        for (const Said& said : sas)
            sink += compat::format_said(said, form).size();
    });
    std::printf("format_said  %-22s %12.0f SAIDs/s\n", name, sas.size() / formatting.cpu);
}

void bench_render(const char* name, const std::vector<SaGroup>& groups, SaidForm form, int runs) {
    std::size_t bytes = 0;
    Timing timing = best_of(runs, [&] {
        std::string text = compat::render_spigrp(groups, form);
        bytes = text.size();
        sink += bytes;
    });
    std::printf("render_spigrp %-14s %zu groups of 4: %6.2f ms CPU, %6.2f ms wall (%zu bytes)\n",
                name, groups.size(), timing.cpu * 1e3, timing.wall * 1e3, bytes);
}

} // namespace

int main(int argc, char** argv) {
    bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
    const std::size_t group_count = 100000;
    const int runs = quick ? 2 : 10;

    std::vector<SaGroup> groups4 = make_groups(group_count, AF_INET);
    std::vector<SaGroup> groups6 = make_groups(group_count, AF_INET6);
    std::vector<Said> sas4 = sas_of(groups4);
    std::vector<Said> sas6 = sas_of(groups6);
    if (quick) {
        sas4.resize(20000);
        sas6.resize(20000);
    }

    struct Case {
        const char* name;
        const std::vector<SaGroup>& groups;
        const std::vector<Said>& sas;
        SaidForm form;
    };
    const Case cases[] = {
        {"man_page IPv4", groups4, sas4, SaidForm::man_page},
        {"kernel IPv4", groups4, sas4, SaidForm::kernel},
        {"man_page IPv6", groups6, sas6, SaidForm::man_page},
        {"kernel IPv6", groups6, sas6, SaidForm::kernel},
    };
    for (const Case& c : cases)
        bench_parse(c.name, c.sas, c.form, runs);
    for (const Case& c : cases)
        bench_format(c.name, c.sas, c.form, runs);
    for (const Case& c : cases)
        bench_render(c.name, c.groups, c.form, runs);

    std::printf("(best of %d runs; rates from this thread's CPU time; checksum %llu)\n", runs,
                static_cast<unsigned long long>(sink));
    return 0;
}
