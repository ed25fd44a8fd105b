// model_bench: what compat's KLIPS model costs by itself, on this machine's
// CPU, without a kernel: the part of klipsfs's work that the lab's emulated
// system calls do not slow.  Prints figures only; it passes or fails nothing
// except a model that disagrees with itself.
//
//   model_bench            2,000 groups made and bound; 10,000 groups of four
//   model_bench --quick    a small run, as CTest's "bench" label runs it
//
// - The control node's model: apply() of `group esp ah` then `bind SRC DST
//   esp`, for each of GROUPS groups in turn, as fs/ControlService calls it
//   (the state file's records kept from command to command); the CPU time of
//   the last 100 pairs, when the book and the kernel are largest.  The
//   control node's target is 0.5 ms per group made and bound, all in.
// - The listing: groups_from() and render_spigrp() for GROUPS groups of four
//   (tun comp esp ah, with IPComp's hidden IP-in-IP state), i.e. what a
//   reader waits for after a kernel change (fs_bench's add -> visible).
#include "compat/control.h"
#include "compat/control_state.h"
#include "compat/translate.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <vector>

namespace {

using namespace compat;

double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string destination(int i) {
    return "172.16." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

std::string hex(unsigned value) {
    char text[16];
    std::snprintf(text, sizeof text, "%x", value);
    return text;
}

KernelSa state(const std::string& said, Mode mode) {
    KernelSa sa;
    sa.said = parse_said(said);
    sa.src = parse_address("10.1.0.1", 0);
    sa.mode = mode;
    sa.reqid = 1;
    return sa;
}

// Returns false when the kept state file disagrees with state_of().
bool bench_control(int groups) {
    std::vector<KernelSa> sas;
    for (int i = 0; i < groups; ++i) {
        sas.push_back(state("esp." + hex(0x10000 + i) + "@" + destination(i), Mode::transport));
        sas.push_back(state("ah." + hex(0x20000 + i) + "@" + destination(i), Mode::transport));
    }
    std::vector<KernelPolicy> policies;
    GroupBook book;
    StateFile file;
    double last_ms = 0;
    const int measured = std::min(groups, 100);
    for (int i = 0; i < groups; ++i) {
        const std::string esp = "esp." + hex(0x10000 + i) + "@" + destination(i);
        const std::string ah = "ah." + hex(0x20000 + i) + "@" + destination(i);
        const std::string lines[] = {"group " + esp + " " + ah,
                                     "bind 10.1.0.1/32 " + destination(i) + "/32 " + esp};
        const double start = cpu_ms();
        for (const std::string& line : lines) {
            Outcome out = apply(*parse_command(line), KernelView{sas, policies, {}}, book, file);
            book = std::move(out.book);
            if (out.state)
                file = std::move(*out.state);
            policies.insert(policies.end(), out.install.begin(), out.install.end());
        }
        if (i >= groups - measured)
            last_ms += cpu_ms() - start;
    }
    std::printf("control model: group + bind at %d groups: %.1f us CPU per group "
                "(the last %d; target for the whole node: 500 us)\n",
                groups, 1e3 * last_ms / measured, measured);
    return file == state_of(book, KernelView{sas, policies, {}}) ||
           (std::printf("control model: FAIL: the kept state file differs from state_of\n"), false);
}

// Returns false when the groups are not found.
bool bench_listing(int groups, int runs) {
    std::vector<KernelSa> sas;
    std::vector<KernelPolicy> policies;
    const Address source = parse_address("10.0.0.1", 0);
    for (int i = 0; i < groups; ++i) {
        const std::string dst = destination(i);
        sas.push_back(state("comp.3d0@" + dst, Mode::tunnel));
        sas.push_back(state("esp.187a101b@" + dst, Mode::transport));
        sas.push_back(state("ah.187a101a@" + dst, Mode::transport));
        KernelSa ipip = state("comp.1@" + dst, Mode::tunnel); // IPComp's helper
        ipip.said.proto = Proto::tun;
        ipip.kernel_owned = true;
        sas.push_back(ipip);
        for (std::size_t k = sas.size() - 4; k < sas.size(); ++k)
            sas[k].src = source; // the tunnel's source: comp's template names it

        KernelPolicy policy;
        policy.src = Subnet{source, 32};
        policy.dst = Subnet{parse_address(dst, 0), 32};
        KernelTemplate comp;
        comp.proto = Proto::comp;
        comp.mode = Mode::tunnel;
        comp.src = source;
        comp.dst = policy.dst.address;
        KernelTemplate esp, ah;
        esp.proto = Proto::esp;
        ah.proto = Proto::ah;
        policy.templates = {comp, esp, ah};
        policies.push_back(policy);
    }
    double best_group = 1e9, best_render = 1e9;
    std::size_t lines = 0, bytes = 0;
    for (int r = 0; r < runs; ++r) {
        const double start = cpu_ms();
        const std::vector<SaGroup> found = groups_from(sas, policies, {});
        const double grouped = cpu_ms();
        const std::string text = render_spigrp(found, SaidForm::man_page);
        best_group = std::min(best_group, grouped - start);
        best_render = std::min(best_render, cpu_ms() - grouped);
        lines = found.size();
        bytes = text.size();
    }
    std::printf("listing: %d groups of four: groups_from %.2f ms, render_spigrp %.2f ms CPU "
                "(best of %d; %zu lines, %zu bytes)\n",
                groups, best_group, best_render, runs, lines, bytes);
    return lines == static_cast<std::size_t>(groups) ||
           (std::printf("listing: FAIL: %zu lines, not one per group\n", lines), false);
}

} // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
    const bool agrees = bench_control(quick ? 300 : 2000);
    const bool found = bench_listing(quick ? 1000 : 10000, quick ? 2 : 10);
    return agrees && found ? 0 : 1;
}
