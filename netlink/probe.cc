// probe_state_kinds(): one state of each kind, in a network namespace made
// for the probe (see probe.h).
#include "netlink/probe.h"

#include "netlink/client.h"
#include "netlink/error.h"
#include "netlink/message.h"
#include "netlink/socket.h"

#include <cerrno>
#include <cstring>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <thread>
#include <vector>

namespace netlink {

namespace {

// Documentation addresses (RFC 5737, RFC 3849): the states live in the
// probe's own namespace and never carry a packet.
struct Family {
    int af;
    const char* src;
    const char* dst;
};
constexpr Family ipv4{AF_INET, "192.0.2.1", "192.0.2.2"};
constexpr Family ipv6{AF_INET6, "2001:db8::1", "2001:db8::2"};

// struct xfrm_algo with a key of `key_bytes` zero bytes after it.
std::vector<std::uint8_t> algorithm(const char* name, unsigned key_bytes) {
    std::vector<std::uint8_t> bytes(sizeof(xfrm_algo) + key_bytes, 0);
    auto* algo = reinterpret_cast<xfrm_algo*>(bytes.data());
    std::strncpy(algo->alg_name, name, sizeof algo->alg_name - 1);
    algo->alg_key_len = key_bytes * 8;
    return bytes;
}

const char* name_of(std::uint8_t proto) {
    return proto == IPPROTO_ESP ? "esp" : proto == IPPROTO_AH ? "ah" : "comp";
}

// NEWSA of one kind; the kernel's answer as a StateKindSupport.
StateKindSupport add_state(Socket& socket, const Family& family, std::uint8_t proto,
                           std::uint8_t mode, std::uint32_t spi) {
    xfrm_usersa_info info{};
    const Address src = parse_address(family.src);
    const Address dst = parse_address(family.dst);
    std::memcpy(&info.saddr, src.bytes.data(), sizeof info.saddr);
    std::memcpy(&info.id.daddr, dst.bytes.data(), sizeof info.id.daddr);
    info.id.spi = htonl(spi);
    info.id.proto = proto;
    info.family = static_cast<std::uint16_t>(family.af);
    info.mode = mode;
    info.reqid = 1;
    info.lft.soft_byte_limit = info.lft.hard_byte_limit = XFRM_INF;
    info.lft.soft_packet_limit = info.lft.hard_packet_limit = XFRM_INF;

    Request request(XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    request.put_header(info);
    auto put = [&](std::uint16_t type, const std::vector<std::uint8_t>& bytes) {
        request.put_attribute(type, bytes.data(), bytes.size());
    };
    if (proto == IPPROTO_ESP)
        put(XFRMA_ALG_CRYPT, algorithm("cbc(aes)", 16));
    if (proto == IPPROTO_ESP || proto == IPPROTO_AH)
        put(XFRMA_ALG_AUTH, algorithm("hmac(sha1)", 20));
    if (proto == IPPROTO_COMP)
        put(XFRMA_ALG_COMP, algorithm("deflate", 0));
    try {
        socket.transact(request.bytes(), std::string("a probe ") + name_of(proto) + " state");
        return {true, {}};
    } catch (const Error& e) {
        // "Requested type not found": the kernel has (and can load) no
        // such transform.  Anything else: it has the type but refused this
        // state (an algorithm missing, say), which is not the question.
        if (e.code() == EPROTONOSUPPORT)
            return {false, e.what()};
        return {std::nullopt, e.what()};
    }
}

// The kernel's IP-in-IP helper state (proto 4 or 41) that a tunnel-mode
// IPComp state brings when the kernel has xfrm4/6_tunnel.
StateKindSupport tunnel_helper(Client& client, const StateKindSupport& ipcomp, std::uint8_t family,
                               std::uint8_t helper_proto) {
    if (ipcomp.supported != true)
        return {std::nullopt, "probed through a tunnel-mode IPComp state, which failed"};
    for (const XfrmState& state : client.states())
        if (state.id.family == family && state.id.proto == helper_proto)
            return {true, {}};
    return {false, "a tunnel-mode IPComp state brought no IP-in-IP helper state"};
}

StateSupport probe_here() {
    Socket socket(-1);
    Client client;
    StateSupport s;
    s.esp4 = add_state(socket, ipv4, IPPROTO_ESP, XFRM_MODE_TRANSPORT, 0x100);
    s.ah4 = add_state(socket, ipv4, IPPROTO_AH, XFRM_MODE_TRANSPORT, 0x101);
    s.ipcomp4 = add_state(socket, ipv4, IPPROTO_COMP, XFRM_MODE_TUNNEL, 0x102);
    s.esp6 = add_state(socket, ipv6, IPPROTO_ESP, XFRM_MODE_TRANSPORT, 0x100);
    s.ah6 = add_state(socket, ipv6, IPPROTO_AH, XFRM_MODE_TRANSPORT, 0x101);
    s.ipcomp6 = add_state(socket, ipv6, IPPROTO_COMP, XFRM_MODE_TUNNEL, 0x102);
    s.ipip4 = tunnel_helper(client, s.ipcomp4, AF_INET, IPPROTO_IPIP);
    s.ipip6 = tunnel_helper(client, s.ipcomp6, AF_INET6, IPPROTO_IPV6);
    return s;
}

} // namespace

StateSupport probe_state_kinds() {
    StateSupport result;
    std::string failure;
    // unshare() moves only the calling thread; this one must stay put.
    std::thread worker([&] {
        try {
            if (unshare(CLONE_NEWNET) != 0)
                throw Error(errno, std::string("cannot make a network namespace for the probe: ") +
                                       std::strerror(errno));
            result = probe_here();
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    worker.join();
    if (!failure.empty())
        for (StateKindSupport* kind : {&result.esp4, &result.ah4, &result.ipcomp4, &result.ipip4,
                                       &result.esp6, &result.ah6, &result.ipcomp6, &result.ipip6})
            *kind = {std::nullopt, failure};
    return result;
}

} // namespace netlink
