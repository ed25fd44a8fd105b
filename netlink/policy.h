// XFRM policies: from kernel messages to XfrmPolicy, and the requests that
// add, replace, find and delete one.  Pure code over message bytes.
#pragma once

#include "netlink/message.h"
#include "netlink/xfrm_types.h"

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <optional>

namespace netlink {

Template template_from(const xfrm_user_tmpl& tmpl);
xfrm_user_tmpl template_to(const Template& tmpl);

// A policy from its xfrm_userpolicy_info and the message's attributes.
XfrmPolicy policy_from(const xfrm_userpolicy_info& info, const Attributes& attributes);

// A NEWPOLICY/UPDPOLICY message (dump record, GET reply or event).
std::optional<XfrmPolicy> parse_policy_message(const nlmsghdr* nlh);

// NEWPOLICY or UPDPOLICY (by the request's type).  Throws Error(EINVAL)
// for more than max_templates templates.
void build_policy(Request& request, const XfrmPolicy& policy);
// DELPOLICY or GETPOLICY (by the request's type).
void build_policy_id(Request& request, const PolicyId& id);

} // namespace netlink
