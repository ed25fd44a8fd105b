// Decoding what real kernels sent: states, policies, events and errors.
// The bytes come from netlink_captured.inc (see its opening comment).
#include "netlink/error.h"
#include "netlink/event.h"
#include "netlink/message.h"
#include "netlink/policy.h"
#include "netlink/socket.h"
#include "netlink/state.h"

#include <algorithm>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace {

#include "netlink_captured.inc"

// The structs' sizes on 64-bit, as the kernel selftests quote them: the
// codecs copy whole structs and rely on the native layout.
static_assert(sizeof(xfrm_usersa_info) == 224);
static_assert(sizeof(xfrm_userpolicy_info) == 168);
static_assert(sizeof(xfrm_user_expire) == 232);
static_assert(sizeof(xfrm_user_polexpire) == 176);
static_assert(sizeof(xfrm_user_tmpl) == 64);
static_assert(sizeof(xfrm_usersa_id) == 24);

// A message from hex, kept in 4-byte aligned storage as a receive buffer is.
class Message {
public:
    explicit Message(const char* hex) {
        std::string h(hex);
        words_.resize((h.size() / 2 + 3) / 4);
        auto* bytes = reinterpret_cast<std::uint8_t*>(words_.data());
        for (std::size_t i = 0; i + 1 < h.size(); i += 2)
            bytes[i / 2] = static_cast<std::uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16));
    }
    const nlmsghdr* get() const { return reinterpret_cast<const nlmsghdr*>(words_.data()); }
    nlmsghdr* get() { return reinterpret_cast<nlmsghdr*>(words_.data()); }

private:
    std::vector<std::uint32_t> words_;
};

netlink::XfrmState state_of(const char* hex, netlink::DetailsInterner& interner) {
    Message m(hex);
    auto state = netlink::parse_state_message(m.get(), interner);
    if (!state)
        throw std::runtime_error("not a state message");
    return *state;
}

std::string addr(const netlink::Address& a, int family) {
    return netlink::to_string(a, family);
}

TEST(NetlinkStateCodec, EspWithTruncatedAuthAndCbc) {
    netlink::DetailsInterner interner;
    auto s = state_of(dump_esp, interner);
    EXPECT_EQ(s.id.proto, IPPROTO_ESP);
    EXPECT_EQ(s.id.spi, 0x187a101bu);
    EXPECT_EQ(s.id.family, AF_INET);
    EXPECT_EQ(addr(s.id.daddr, AF_INET), "192.168.2.110");
    EXPECT_EQ(addr(s.saddr, AF_INET), "192.168.2.100");
    EXPECT_EQ(s.reqid, 2u);
    EXPECT_EQ(s.mode, netlink::Mode::transport);
    const auto& d = *s.details;
    EXPECT_EQ(d.auth.name, "hmac(sha256)");
    EXPECT_EQ(d.auth.key_bits, 256u);
    EXPECT_EQ(d.auth.trunc_bits, 128u);
    EXPECT_EQ(d.crypt.name, "cbc(aes)");
    EXPECT_EQ(d.crypt.key_bits, 128u);
    EXPECT_FALSE(d.aead.present());
    EXPECT_FALSE(d.comp.present());
    EXPECT_EQ(d.lifetime.hard_byte_limit, netlink::infinite);
    EXPECT_FALSE(s.is_larval());
    EXPECT_FALSE(s.is_kernel_tunnel());
    EXPECT_NE(s.counters.current.add_time, 0u);
}

TEST(NetlinkStateCodec, AhReportsTheKernelsDefaultTruncation) {
    netlink::DetailsInterner interner;
    auto s = state_of(dump_ah, interner);
    EXPECT_EQ(s.id.proto, IPPROTO_AH);
    EXPECT_EQ(s.id.spi, 0x187a101au);
    EXPECT_EQ(s.details->auth.name, "hmac(sha1)");
    EXPECT_EQ(s.details->auth.key_bits, 160u);
    EXPECT_EQ(s.details->auth.trunc_bits, 96u); // the kernel sends AUTH_TRUNC too
    EXPECT_FALSE(s.details->crypt.present());
}

TEST(NetlinkStateCodec, IpcompTunnelAndTheKernelsIpipState) {
    netlink::DetailsInterner interner;
    auto comp = state_of(dump_comp_tunnel, interner);
    EXPECT_EQ(comp.id.proto, IPPROTO_COMP);
    EXPECT_EQ(comp.id.spi, 0x3d0u);
    EXPECT_EQ(comp.mode, netlink::Mode::tunnel);
    EXPECT_EQ(comp.details->comp.name, "deflate");
    EXPECT_FALSE(comp.is_larval());

    auto ipip = state_of(dump_ipip, interner);
    EXPECT_EQ(ipip.id.proto, IPPROTO_IPIP);
    EXPECT_EQ(ipip.id.spi, 0xc0a80264u); // the source address
    EXPECT_EQ(ipip.reqid, 0u);
    EXPECT_EQ(ipip.mode, netlink::Mode::tunnel);
    EXPECT_TRUE(ipip.is_kernel_tunnel());
    EXPECT_FALSE(ipip.is_larval()); // not an IPsec protocol: never "larval"
    EXPECT_FALSE(ipip.details->has_algorithms());
}

TEST(NetlinkStateCodec, Ipv6AeadWithMarkEncapIfIdAndReplayWindow) {
    netlink::DetailsInterner interner;
    auto s = state_of(dump_esp6_aead, interner);
    EXPECT_EQ(s.id.family, AF_INET6);
    EXPECT_EQ(addr(s.id.daddr, AF_INET6), "3049:1::2");
    EXPECT_EQ(addr(s.saddr, AF_INET6), "3049:1::1");
    EXPECT_EQ(s.id.spi, 0x1000u);
    EXPECT_EQ(s.mark.value, 7u);
    EXPECT_EQ(s.mark.mask, 0xffu);
    EXPECT_EQ(s.if_id, 0x33u);
    const auto& d = *s.details;
    EXPECT_EQ(d.aead.name, "rfc4106(gcm(aes))");
    EXPECT_EQ(d.aead.key_bits, 160u);
    EXPECT_EQ(d.aead.icv_bits, 128u);
    ASSERT_TRUE(d.encap);
    EXPECT_EQ(d.encap->type, 2); // UDP_ENCAP_ESPINUDP
    EXPECT_EQ(d.encap->sport, 4500);
    EXPECT_EQ(d.encap->dport, 4501);
    EXPECT_EQ(d.replay_window, 32u);
}

TEST(NetlinkStateCodec, LifetimeLimitsAreKept) {
    netlink::DetailsInterner interner;
    auto s = state_of(dump_esp_lifetimes, interner);
    EXPECT_EQ(s.lifetime().soft_add_expires_seconds, 1u);
    EXPECT_EQ(s.lifetime().hard_add_expires_seconds, 2u);
}

TEST(NetlinkStateCodec, StatesThatDifferOnlyInIdShareTheirDetails) {
    netlink::DetailsInterner interner;
    auto a = state_of(newsa_esp, interner);
    auto b = state_of(updsa_esp, interner);
    auto c = state_of(dump_esp, interner);
    EXPECT_EQ(a.details.get(), b.details.get());
    EXPECT_EQ(a.details.get(), c.details.get());
    EXPECT_EQ(interner.size(), 1u);
    a = {};
    b = {};
    c = {};
    interner.prune();
    EXPECT_EQ(interner.size(), 0u);
}

TEST(NetlinkStateCodec, AStateWithoutAlgorithmsIsLarval) {
    netlink::DetailsInterner interner;
    Message m(dump_esp);
    auto info = *netlink::fixed_header<xfrm_usersa_info>(m.get());
    // The fixed header alone, as an ACQUIRE'd or ALLOCSPI'd state has it.
    auto s = netlink::state_from(info, netlink::Attributes(static_cast<const void*>(nullptr), 0),
                                 interner);
    EXPECT_TRUE(s.is_larval());
}

// ---- Events ---------------------------------------------------------------

netlink::Event event_of(const char* hex, netlink::DetailsInterner& interner) {
    Message m(hex);
    return netlink::decode_event(m.get(), interner);
}

TEST(NetlinkEvents, NewAndUpdatedStates) {
    netlink::DetailsInterner interner;
    auto added = event_of(newsa_comp_tunnel, interner);
    EXPECT_EQ(added.kind, netlink::Event::Kind::state_upsert);
    EXPECT_EQ(added.state->id.spi, 0x3d0u);
    auto updated = event_of(updsa_esp, interner);
    EXPECT_EQ(updated.kind, netlink::Event::Kind::state_update);
    EXPECT_EQ(updated.state->id.spi, 0x187a101bu);
}

TEST(NetlinkEvents, DelsaCarriesTheStateInXfrmaSa) {
    netlink::DetailsInterner interner;
    auto e = event_of(delsa_ah, interner);
    EXPECT_EQ(e.kind, netlink::Event::Kind::state_erase);
    EXPECT_EQ(e.state->id.proto, IPPROTO_AH);
    EXPECT_EQ(e.state->id.spi, 0x187a101au);
    EXPECT_EQ(addr(e.state->saddr, AF_INET), "192.168.2.100");
    EXPECT_EQ(e.state->reqid, 1u);
    EXPECT_EQ(e.state->details->auth.name, "hmac(sha1)");
}

TEST(NetlinkEvents, HardExpireErasesSoftExpireIsIgnored) {
    netlink::DetailsInterner interner;
    auto hard = event_of(expire_hard, interner);
    EXPECT_EQ(hard.kind, netlink::Event::Kind::state_erase);
    EXPECT_EQ(hard.state->id.spi, 0x2000u);
    EXPECT_EQ(hard.state->id.proto, IPPROTO_ESP);

    // The same message with hard = 0 (the byte after the xfrm_usersa_info).
    Message soft(expire_hard);
    auto* bytes = reinterpret_cast<std::uint8_t*>(soft.get());
    ASSERT_EQ(bytes[NLMSG_HDRLEN + sizeof(xfrm_usersa_info)], 1);
    bytes[NLMSG_HDRLEN + sizeof(xfrm_usersa_info)] = 0;
    EXPECT_EQ(netlink::decode_event(soft.get(), interner).kind, netlink::Event::Kind::ignore);
}

TEST(NetlinkEvents, FlushsaByProtocol) {
    netlink::DetailsInterner interner;
    auto esp = event_of(flushsa_esp, interner);
    EXPECT_EQ(esp.kind, netlink::Event::Kind::state_flush);
    EXPECT_EQ(esp.flush_proto, IPPROTO_ESP);
    auto all = event_of(flushsa_all, interner);
    EXPECT_EQ(all.kind, netlink::Event::Kind::state_flush);
    EXPECT_EQ(all.flush_proto, 0);
}

TEST(NetlinkEvents, FlushMatchesLikeTheKernel) {
    struct Case {
        std::uint8_t flush, state;
        bool matches;
    } cases[] = {
        {0, IPPROTO_ESP, true},
        {0, IPPROTO_IPIP, true},
        {IPSEC_PROTO_ANY, IPPROTO_ESP, true},
        {IPSEC_PROTO_ANY, IPPROTO_AH, true},
        {IPSEC_PROTO_ANY, IPPROTO_COMP, true},
        {IPSEC_PROTO_ANY, IPPROTO_IPIP, false},
        {IPSEC_PROTO_ANY, IPPROTO_IPV6, false},
        {IPPROTO_ESP, IPPROTO_ESP, true},
        {IPPROTO_ESP, IPPROTO_AH, false},
        {IPPROTO_COMP, IPPROTO_COMP, true},
    };
    for (const auto& c : cases)
        EXPECT_EQ(netlink::flush_matches(c.flush, c.state), c.matches)
            << "flush " << int(c.flush) << " state " << int(c.state);
}

TEST(NetlinkEvents, PolicyAddUpdateDeleteExpireFlush) {
    netlink::DetailsInterner interner;
    auto added = event_of(newpolicy_group, interner);
    EXPECT_EQ(added.kind, netlink::Event::Kind::policy_upsert);
    auto updated = event_of(updpolicy_group, interner);
    EXPECT_EQ(updated.kind, netlink::Event::Kind::policy_upsert);
    EXPECT_EQ(updated.policy->priority, 8u);
    EXPECT_EQ(updated.policy->index, added.policy->index); // UPDPOLICY keeps it

    auto deleted = event_of(delpolicy_group, interner);
    EXPECT_EQ(deleted.kind, netlink::Event::Kind::policy_erase);
    EXPECT_EQ(deleted.policy->index, added.policy->index);
    EXPECT_EQ(deleted.policy->templates.size(), 3u);
    EXPECT_EQ(deleted.policy->mark.value, 5u);

    auto expired = event_of(polexpire_hard, interner);
    EXPECT_EQ(expired.kind, netlink::Event::Kind::policy_erase);
    auto lab_policy = event_of(newpolicy_lifetime, interner);
    EXPECT_EQ(expired.policy->index, lab_policy.policy->index);
    EXPECT_EQ(lab_policy.policy->lifetime.hard_add_expires_seconds, 1u);

    auto flushed = event_of(flushpolicy, interner);
    EXPECT_EQ(flushed.kind, netlink::Event::Kind::policy_flush);
    EXPECT_EQ(flushed.flush_type, netlink::PolicyType::main);
}

// ---- Policies -------------------------------------------------------------

TEST(NetlinkPolicyCodec, ThreeTemplatesMarkIfIdAndPorts) {
    Message m(dump_policy_group);
    auto p = netlink::parse_policy_message(m.get());
    ASSERT_TRUE(p);
    EXPECT_EQ(p->dir, netlink::Direction::out);
    EXPECT_EQ(p->priority, 8u);
    EXPECT_EQ(addr(p->selector.saddr, AF_INET), "10.0.0.0");
    EXPECT_EQ(p->selector.prefixlen_s, 24);
    EXPECT_EQ(addr(p->selector.daddr, AF_INET), "10.0.1.0");
    EXPECT_EQ(p->selector.proto, IPPROTO_TCP);
    EXPECT_EQ(p->selector.dport, 443);
    EXPECT_EQ(p->selector.dport_mask, 0xffff);
    EXPECT_EQ(p->mark.value, 5u);
    EXPECT_EQ(p->mark.mask, 0xffu);
    EXPECT_EQ(p->if_id, 0x21u);
    ASSERT_EQ(p->templates.size(), 3u);
    EXPECT_EQ(p->templates[0].proto, IPPROTO_COMP);
    EXPECT_EQ(p->templates[0].spi, 0x3d0u);
    EXPECT_EQ(p->templates[0].mode, netlink::Mode::tunnel);
    EXPECT_EQ(addr(p->templates[0].daddr, AF_INET), "192.0.2.2");
    EXPECT_EQ(p->templates[1].proto, IPPROTO_ESP);
    EXPECT_EQ(p->templates[1].reqid, 2u);
    EXPECT_EQ(p->templates[2].proto, IPPROTO_AH);
    EXPECT_FALSE(p->is_socket_policy());
    EXPECT_NE(p->index, 0u);
}

TEST(NetlinkPolicyCodec, Ipv6BlockPolicy) {
    Message m(dump_policy_v6_block);
    auto p = netlink::parse_policy_message(m.get());
    ASSERT_TRUE(p);
    EXPECT_EQ(p->dir, netlink::Direction::in);
    EXPECT_EQ(p->action, netlink::PolicyAction::block);
    EXPECT_EQ(p->selector.family, AF_INET6);
    EXPECT_EQ(addr(p->selector.saddr, AF_INET6), "fd00::");
    EXPECT_TRUE(p->templates.empty());
}

TEST(NetlinkPolicyCodec, BuildingWhatWasParsedGivesTheKernelsBody) {
    // What ip sent and the kernel echoed in its event is what we build from
    // the parsed value (fixed header and templates).
    Message m(newpolicy_group);
    auto p = netlink::parse_policy_message(m.get());
    ASSERT_TRUE(p);
    netlink::Request request(XFRM_MSG_NEWPOLICY, NLM_F_REQUEST | NLM_F_ACK);
    netlink::build_policy(request, *p);
    auto built = *netlink::fixed_header<xfrm_userpolicy_info>(request.header());
    auto kernel = *netlink::fixed_header<xfrm_userpolicy_info>(m.get());
    built.curlft = kernel.curlft; // current lifetime is the kernel's business
    EXPECT_EQ(std::memcmp(&built, &kernel, sizeof built), 0);
    netlink::Attributes ours(request.header(), sizeof built);
    netlink::Attributes theirs(m.get(), sizeof kernel);
    ASSERT_EQ(ours.size(XFRMA_TMPL), theirs.size(XFRMA_TMPL));
    EXPECT_EQ(std::memcmp(ours.data(XFRMA_TMPL), theirs.data(XFRMA_TMPL), ours.size(XFRMA_TMPL)),
              0);
    EXPECT_EQ(ours.get<xfrm_mark>(XFRMA_MARK)->m, 0xffu);
}

// ---- Errors -----------------------------------------------------------------

TEST(NetlinkErrors, ExtendedAckMessageAndErrno) {
    Message m(error_ext_ack);
    auto error = netlink::parse_kernel_error(m.get());
    EXPECT_EQ(error.code, EINVAL);
    EXPECT_EQ(error.message, "Invalid selector family");
    EXPECT_EQ(netlink::error_text("add policy out", error),
              "add policy out: Invalid selector family (Invalid argument)");
}

TEST(NetlinkErrors, PlainAckIsNoError) {
    // NLMSG_ERROR with error 0 and a capped echo of the request header.
    struct {
        nlmsghdr hdr;
        nlmsgerr err;
    } ack{};
    ack.hdr.nlmsg_len = sizeof ack;
    ack.hdr.nlmsg_type = NLMSG_ERROR;
    ack.hdr.nlmsg_flags = NLM_F_CAPPED;
    EXPECT_EQ(netlink::parse_kernel_error(&ack.hdr).code, 0);
    EXPECT_EQ(netlink::error_text("x", {ENOENT, "", 0}), "x: No such file or directory");
}

TEST(NetlinkErrors, UncappedErrorSkipsTheEchoedRequest) {
    // Rebuild the captured error without NLM_F_CAPPED: the echoed request
    // (here 24 bytes of made-up body) sits between nlmsgerr and the TLVs.
    Message capped(error_ext_ack);
    const auto* c = capped.get();
    std::vector<std::uint32_t> words(256);
    auto* bytes = reinterpret_cast<std::uint8_t*>(words.data());
    std::size_t head = NLMSG_HDRLEN + sizeof(nlmsgerr);
    std::memcpy(bytes, c, head);
    auto* err = reinterpret_cast<nlmsgerr*>(bytes + NLMSG_HDRLEN);
    err->msg.nlmsg_len = NLMSG_HDRLEN + 24;
    std::memset(bytes + head, 0xee, 24);
    std::size_t tlvs = c->nlmsg_len - head;
    std::memcpy(bytes + head + 24, reinterpret_cast<const std::uint8_t*>(c) + head, tlvs);
    auto* hdr = reinterpret_cast<nlmsghdr*>(bytes);
    hdr->nlmsg_len = static_cast<std::uint32_t>(head + 24 + tlvs);
    hdr->nlmsg_flags &= ~NLM_F_CAPPED;
    auto error = netlink::parse_kernel_error(hdr);
    EXPECT_EQ(error.code, EINVAL);
    EXPECT_EQ(error.message, "Invalid selector family");
}

TEST(NetlinkErrors, FailedDumpEndsWithNegativeDone) {
    struct {
        nlmsghdr hdr;
        int status;
    } done{};
    done.hdr.nlmsg_len = sizeof done;
    done.hdr.nlmsg_type = NLMSG_DONE;
    done.status = -ENOBUFS;
    EXPECT_EQ(netlink::parse_kernel_error(&done.hdr).code, ENOBUFS);
    done.status = 0;
    EXPECT_EQ(netlink::parse_kernel_error(&done.hdr).code, 0);
}

// ---- Key material -----------------------------------------------------------

// The key bytes of every algorithm attribute of a captured state message
// (NEWSA/UPDSA/DUMP after xfrm_usersa_info, DELSA after xfrm_usersa_id).
std::vector<std::vector<std::uint8_t>> keys_in(const nlmsghdr* nlh) {
    std::size_t header =
        nlh->nlmsg_type == XFRM_MSG_DELSA ? sizeof(xfrm_usersa_id) : sizeof(xfrm_usersa_info);
    netlink::Attributes attrs(nlh, header);
    struct Kind {
        std::uint16_t type;
        std::size_t key_offset; // offsetof(..., alg_key)
    } kinds[] = {
        {XFRMA_ALG_AUTH, sizeof(xfrm_algo)},
        {XFRMA_ALG_AUTH_TRUNC, sizeof(xfrm_algo_auth)},
        {XFRMA_ALG_CRYPT, sizeof(xfrm_algo)},
        {XFRMA_ALG_AEAD, sizeof(xfrm_algo_aead)},
    };
    std::vector<std::vector<std::uint8_t>> keys;
    for (const auto& k : kinds) {
        if (attrs.size(k.type) <= k.key_offset)
            continue;
        const auto* data = static_cast<const std::uint8_t*>(attrs.data(k.type));
        std::uint32_t bits;
        std::memcpy(&bits, data + offsetof(xfrm_algo, alg_key_len), sizeof bits);
        std::size_t size = std::min<std::size_t>(bits / 8, attrs.size(k.type) - k.key_offset);
        if (size >= 8)
            keys.emplace_back(data + k.key_offset, data + k.key_offset + size);
    }
    return keys;
}

// Whether any 8 consecutive bytes of `key` occur in [data, data + size).
bool holds_key(const void* data, std::size_t size, const std::vector<std::uint8_t>& key) {
    const auto* begin = static_cast<const std::uint8_t*>(data);
    for (std::size_t at = 0; at + 8 <= key.size(); ++at)
        if (std::search(begin, begin + size, key.begin() + at, key.begin() + at + 8) !=
            begin + size)
            return true;
    return false;
}

// The strings a state holds, and the bytes of the objects themselves (short
// strings live inside them).
bool state_holds_key(const netlink::XfrmState& s, const std::vector<std::uint8_t>& key) {
    const netlink::StateDetails& d = *s.details;
    for (const std::string* text :
         {&d.auth.name, &d.crypt.name, &d.aead.name, &d.comp.name, &d.security_context})
        if (holds_key(text->data(), text->size(), key))
            return true;
    return holds_key(&s, sizeof s, key) || holds_key(&d, sizeof d, key);
}

TEST(NetlinkKeyMaterial, ParsedStatesKeepAlgorithmsButNoKeyBytes) {
    struct Case {
        const char* name;
        const char* hex;
    } cases[] = {{"newsa_esp", newsa_esp}, {"updsa_esp", updsa_esp},
                 {"dump_esp", dump_esp},   {"dump_ah", dump_ah},
                 {"newsa_ah", newsa_ah},   {"dump_esp6_aead", dump_esp6_aead},
                 {"delsa_ah", delsa_ah},   {"dump_esp_lifetimes", dump_esp_lifetimes}};
    std::size_t keys_seen = 0;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        netlink::DetailsInterner interner;
        Message m(c.hex);
        auto keys = keys_in(m.get());
        ASSERT_FALSE(keys.empty()) << "a captured state message without a key proves nothing";
        auto event = netlink::decode_event(m.get(), interner);
        ASSERT_TRUE(event.state);
        const auto& s = *event.state;
        ASSERT_TRUE(s.details);
        EXPECT_TRUE(s.details->has_algorithms());
        for (const auto& key : keys) {
            ++keys_seen;
            // The search finds a key where there is one...
            ASSERT_TRUE(holds_key(m.get(), m.get()->nlmsg_len, key));
            netlink::StateDetails planted = *s.details;
            planted.security_context.assign(key.begin(), key.end());
            ASSERT_TRUE(
                holds_key(planted.security_context.data(), planted.security_context.size(), key));
            // ... and the parsed state has none.
            EXPECT_FALSE(state_holds_key(s, key));
        }
    }
    EXPECT_GE(keys_seen, 10u);

    // What is kept instead: names and lengths in bits.
    netlink::DetailsInterner interner;
    auto esp = state_of(newsa_esp, interner);
    EXPECT_EQ(esp.details->crypt.name, "cbc(aes)");
    EXPECT_EQ(esp.details->crypt.key_bits, 128u);
    EXPECT_EQ(esp.details->auth.name, "hmac(sha256)");
    EXPECT_EQ(esp.details->auth.key_bits, 256u);
    EXPECT_EQ(esp.details->auth.trunc_bits, 128u);
    auto aead = state_of(dump_esp6_aead, interner);
    EXPECT_EQ(aead.details->aead.key_bits, 160u);
    EXPECT_EQ(aead.details->aead.icv_bits, 128u);
}

// Datagrams fill only from Socket::receive(), so this takes a real
// NETLINK_XFRM socket (no privilege needed) and has the kernel answer: a
// GETSA of a state that does not exist gets an NLMSG_ERROR back (ESRCH as
// root, EPERM otherwise), which is as good as any datagram to wipe.
TEST(NetlinkKeyMaterial, DatagramsWipeWhatAReceiveWrote) {
    std::unique_ptr<netlink::Socket> socket;
    try {
        socket = std::make_unique<netlink::Socket>(-1);
    } catch (const netlink::Error& e) {
        GTEST_SKIP() << "no NETLINK_XFRM socket on this kernel: " << e.what();
    }
    auto ask = [&] {
        netlink::Request request(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK);
        netlink::build_get_state(
            request, {netlink::parse_address("192.0.2.1"), 0x1234, IPPROTO_ESP, AF_INET}, {},
            std::nullopt);
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        ASSERT_GT(sendto(socket->fd(), request.bytes().data(), request.header()->nlmsg_len, 0,
                         reinterpret_cast<sockaddr*>(&kernel), sizeof kernel),
                  0);
        pollfd p{socket->fd(), POLLIN, 0};
        ASSERT_EQ(poll(&p, 1, 5000), 1) << "no answer from the kernel";
    };
    auto nonzero = [](const std::uint8_t* data, std::size_t size) {
        return static_cast<std::size_t>(std::count_if(data, data + size, [](auto b) { return b; }));
    };

    netlink::Datagrams datagrams(2, 4096);
    ask();
    ASSERT_EQ(socket->receive(datagrams), 1u);
    const std::uint8_t* data = datagrams.data(0);
    const std::size_t size = datagrams.size(0);
    ASSERT_GE(size, NLMSG_HDRLEN + sizeof(nlmsgerr));
    EXPECT_EQ(reinterpret_cast<const nlmsghdr*>(data)->nlmsg_type, NLMSG_ERROR);
    ASSERT_GT(nonzero(data, size), 8u) << "nothing to wipe: this test would prove nothing";
    datagrams.wipe();
    EXPECT_EQ(datagrams.count(), 0u);
    EXPECT_EQ(nonzero(data, size), 0u) << "wipe() left bytes of the datagram";

    // The next receive wipes too, first thing, even when nothing came.
    ask();
    ASSERT_EQ(socket->receive(datagrams), 1u);
    ASSERT_GT(nonzero(data, datagrams.size(0)), 8u);
    EXPECT_EQ(socket->receive(datagrams), 0u);
    EXPECT_EQ(nonzero(data, size), 0u) << "an empty receive left the last datagram's bytes";
}

} // namespace
