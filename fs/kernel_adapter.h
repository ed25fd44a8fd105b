// From netlink's view of XFRM to compat's: the one place that knows both.
//
// netlink/ knows nothing of KLIPS and compat/ never includes netlink/, so
// fs/ copies the fields the KLIPS model needs from a mirror snapshot into
// compat's plain values.
#pragma once

#include <vector>

#include "compat/kernel_view.h"
#include "netlink/snapshot.h"
#include "netlink/xfrm_types.h"

namespace fs {

compat::KernelSa to_kernel_sa(const netlink::XfrmState& state);
compat::KernelPolicy to_kernel_policy(const netlink::XfrmPolicy& policy);

struct KernelView {
    std::vector<compat::KernelSa> states;
    std::vector<compat::KernelPolicy> policies;
};

KernelView kernel_view_of(const netlink::Snapshot& snapshot);

} // namespace fs
