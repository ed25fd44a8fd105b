// netlink_capture: records the netlink bytes the kernel sends, as test data.
//
//   netlink_capture STEP...    STEP: a shell command, or one of
//     @dump        dump states and policies (GETSA/GETPOLICY with NLM_F_DUMP)
//     @wait N      wait (up to 10 s) until N more events arrived
//     @badpolicy   send a NEWPOLICY the kernel refuses, record its NLMSG_ERROR
//
// Joins the SA, POLICY and EXPIRE groups first, runs the steps in order and
// prints every message received as one line: "label<TAB>hex".  Used by hand
// (in the lab for states) to make tests/unit/netlink_captured.inc; the keys
// in it are the made-up ones of the commands given.
#include "netlink/message.h"
#include "netlink/socket.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>

namespace {

void print(const char* label, const nlmsghdr* nlh) {
    std::printf("%s type=%u\t", label, nlh->nlmsg_type);
    const auto* bytes = reinterpret_cast<const unsigned char*>(nlh);
    for (std::uint32_t i = 0; i < nlh->nlmsg_len; ++i)
        std::printf("%02x", bytes[i]);
    std::printf("\n");
}

int drain(netlink::Socket& events, int timeout_ms) {
    int count = 0;
    netlink::Datagrams got;
    for (;;) {
        if (!events.receive(got)) {
            pollfd p{events.fd(), POLLIN, 0};
            if (poll(&p, 1, timeout_ms) <= 0)
                return count;
            continue;
        }
        int len = static_cast<int>(got.size(0));
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(got.data(0)); NLMSG_OK(nlh, len);
             nlh = NLMSG_NEXT(nlh, len)) {
            print("event", nlh);
            ++count;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    netlink::Socket events(-1, {XFRMNLGRP_SA, XFRMNLGRP_POLICY, XFRMNLGRP_EXPIRE}, 1 << 20);
    netlink::Socket requests(-1);
    for (int i = 1; i < argc; ++i) {
        std::string step = argv[i];
        if (step == "@dump") {
            netlink::Request sa(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP);
            requests.transact(sa.bytes(), "dump", [](const nlmsghdr* n) { print("dump", n); });
            netlink::Request sp(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP);
            requests.transact(sp.bytes(), "dump", [](const nlmsghdr* n) { print("dump", n); });
        } else if (step == "@wait") {
            int want = std::atoi(argv[++i]);
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (want > 0 && std::chrono::steady_clock::now() < deadline)
                want -= drain(events, 200);
        } else if (step == "@badpolicy") {
            netlink::Request bad(XFRM_MSG_NEWPOLICY, NLM_F_REQUEST | NLM_F_ACK);
            xfrm_userpolicy_info info{};
            info.dir = XFRM_POLICY_OUT;
            info.lft.soft_byte_limit = info.lft.hard_byte_limit = XFRM_INF;
            info.lft.soft_packet_limit = info.lft.hard_packet_limit = XFRM_INF;
            bad.put_header(info);
            xfrm_user_tmpl t{};
            t.id.proto = IPPROTO_COMP;
            t.mode = XFRM_MODE_TUNNEL;
            t.optional = 1;
            t.family = AF_INET;
            t.aalgos = t.ealgos = t.calgos = ~0u;
            bad.put_attribute(XFRMA_TMPL, t);
            auto& bytes = bad.bytes();
            auto* nlh = reinterpret_cast<nlmsghdr*>(bytes.data());
            nlh->nlmsg_pid = requests.port();
            send(requests.fd(), bytes.data(), nlh->nlmsg_len, 0);
            netlink::Datagrams got;
            pollfd p{requests.fd(), POLLIN, 0};
            poll(&p, 1, 5000);
            if (requests.receive(got))
                print("error", reinterpret_cast<const nlmsghdr*>(got.data(0)));
        } else {
            if (std::system(step.c_str()) != 0)
                std::fprintf(stderr, "step failed: %s\n", step.c_str());
            drain(events, 100);
        }
    }
    drain(events, 200);
    return 0;
}
