// XFRM policies: decoding xfrm_userpolicy_info, templates and attributes,
// and building the requests that name or install one.
#include "netlink/policy.h"

#include "netlink/error.h"
#include "netlink/state.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace netlink {

Template template_from(const xfrm_user_tmpl& t) {
    Template tmpl;
    tmpl.daddr = address_from(t.id.daddr);
    tmpl.saddr = address_from(t.saddr);
    tmpl.spi = ntohl(t.id.spi);
    tmpl.proto = t.id.proto;
    tmpl.family = t.family;
    tmpl.reqid = t.reqid;
    tmpl.mode = static_cast<Mode>(t.mode);
    tmpl.share = t.share;
    tmpl.optional = t.optional != 0;
    tmpl.auth_algorithms = t.aalgos;
    tmpl.crypt_algorithms = t.ealgos;
    tmpl.comp_algorithms = t.calgos;
    return tmpl;
}

xfrm_user_tmpl template_to(const Template& tmpl) {
    xfrm_user_tmpl t{};
    t.id.daddr = address_to(tmpl.daddr);
    t.id.spi = htonl(tmpl.spi);
    t.id.proto = tmpl.proto;
    t.family = tmpl.family;
    t.saddr = address_to(tmpl.saddr);
    t.reqid = tmpl.reqid;
    t.mode = static_cast<std::uint8_t>(tmpl.mode);
    t.share = tmpl.share;
    t.optional = tmpl.optional ? 1 : 0;
    t.aalgos = tmpl.auth_algorithms;
    t.ealgos = tmpl.crypt_algorithms;
    t.calgos = tmpl.comp_algorithms;
    return t;
}

XfrmPolicy policy_from(const xfrm_userpolicy_info& info, const Attributes& attrs) {
    XfrmPolicy policy;
    policy.selector = selector_from(info.sel);
    policy.dir = static_cast<Direction>(info.dir);
    policy.priority = info.priority;
    policy.index = info.index;
    policy.action = static_cast<PolicyAction>(info.action);
    policy.flags = info.flags;
    policy.share = info.share;
    policy.lifetime = lifetime_from(info.lft);
    policy.current = current_from(info.curlft);
    if (auto mark = attrs.get<xfrm_mark>(XFRMA_MARK))
        policy.mark = {mark->v, mark->m};
    if (auto id = attrs.get<std::uint32_t>(XFRMA_IF_ID))
        policy.if_id = *id;
    if (auto type = attrs.get<xfrm_userpolicy_type>(XFRMA_POLICY_TYPE))
        policy.type = static_cast<PolicyType>(type->type);

    std::size_t count = attrs.size(XFRMA_TMPL) / sizeof(xfrm_user_tmpl);
    const auto* raw = static_cast<const std::uint8_t*>(attrs.data(XFRMA_TMPL));
    for (std::size_t i = 0; i < count; ++i) {
        xfrm_user_tmpl t;
        std::memcpy(&t, raw + i * sizeof t, sizeof t);
        policy.templates.push_back(template_from(t));
    }

    if (attrs.size(XFRMA_SEC_CTX) > sizeof(xfrm_user_sec_ctx)) {
        auto ctx = *attrs.get<xfrm_user_sec_ctx>(XFRMA_SEC_CTX);
        std::size_t room = attrs.size(XFRMA_SEC_CTX) - sizeof(xfrm_user_sec_ctx);
        policy.security_context.assign(static_cast<const char*>(attrs.data(XFRMA_SEC_CTX)) +
                                           sizeof(xfrm_user_sec_ctx),
                                       std::min<std::size_t>(ctx.ctx_len, room));
    }
    return policy;
}

std::optional<XfrmPolicy> parse_policy_message(const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY && nlh->nlmsg_type != XFRM_MSG_UPDPOLICY)
        return std::nullopt;
    auto info = fixed_header<xfrm_userpolicy_info>(nlh);
    if (!info)
        return std::nullopt;
    return policy_from(*info, Attributes(nlh, sizeof *info));
}

namespace {

// The attributes that, with the selector, identify a policy to the kernel.
void put_identity(Request& request, const Mark& mark, std::uint32_t if_id, PolicyType type,
                  const std::string& context) {
    if (mark.value || mark.mask) {
        xfrm_mark m{mark.value, mark.mask};
        request.put_attribute(XFRMA_MARK, m);
    }
    if (if_id)
        request.put_attribute(XFRMA_IF_ID, if_id);
    if (type != PolicyType::main) {
        xfrm_userpolicy_type t{};
        t.type = static_cast<std::uint8_t>(type);
        request.put_attribute(XFRMA_POLICY_TYPE, t);
    }
    if (!context.empty()) {
        std::vector<std::uint8_t> buf(sizeof(xfrm_user_sec_ctx) + context.size());
        xfrm_user_sec_ctx ctx{};
        ctx.len = static_cast<std::uint16_t>(buf.size());
        ctx.exttype = XFRMA_SEC_CTX;
        ctx.ctx_doi = 1; // XFRM_SC_DOI_LSM
        ctx.ctx_alg = 1; // XFRM_SC_ALG_SELINUX, the only one the kernel knows
        ctx.ctx_len = static_cast<std::uint16_t>(context.size());
        std::memcpy(buf.data(), &ctx, sizeof ctx);
        std::memcpy(buf.data() + sizeof ctx, context.data(), context.size());
        request.put_attribute(XFRMA_SEC_CTX, buf.data(), buf.size());
    }
}

} // namespace

void build_policy(Request& request, const XfrmPolicy& policy) {
    if (policy.templates.size() > max_templates)
        throw Error(EINVAL, describe(policy) + ": " + std::to_string(policy.templates.size()) +
                                " templates, the kernel takes at most " +
                                std::to_string(max_templates));
    xfrm_userpolicy_info info{};
    info.sel = selector_to(policy.selector);
    info.lft = lifetime_to(policy.lifetime);
    info.priority = policy.priority;
    info.index = policy.index;
    info.dir = static_cast<std::uint8_t>(policy.dir);
    info.action = static_cast<std::uint8_t>(policy.action);
    info.flags = policy.flags;
    info.share = policy.share;
    request.put_header(info);

    if (!policy.templates.empty()) {
        // One XFRMA_TMPL holds the whole chain, T0 first.
        std::vector<xfrm_user_tmpl> chain;
        for (const Template& t : policy.templates)
            chain.push_back(template_to(t));
        request.put_attribute(XFRMA_TMPL, chain.data(), chain.size() * sizeof chain[0]);
    }
    put_identity(request, policy.mark, policy.if_id, policy.type, policy.security_context);
}

void build_policy_id(Request& request, const PolicyId& id) {
    xfrm_userpolicy_id pid{};
    pid.sel = selector_to(id.selector);
    pid.index = id.index;
    pid.dir = static_cast<std::uint8_t>(id.dir);
    request.put_header(pid);
    put_identity(request, id.mark, id.if_id, id.type, id.security_context);
}

} // namespace netlink
