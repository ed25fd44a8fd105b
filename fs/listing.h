// fs::ListingSource: where the text of ipsec/spigrp/all comes from.
//
// MirrorListing renders it from the netlink mirror's live copy: the mirror's
// snapshot becomes compat values, then groups (compat::groups_from), then
// text (compat::render_spigrp).  One rendering is shared by every reader
// and reused until the mirror's generation (or the recorded groups) change,
// so reads cause no netlink traffic and no rendering of their own.  Each
// call first lets the mirror apply the events already queued for it
// (netlink::Mirror::catch_up), so that a kernel change made before the
// read is in the text.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "compat/said.h"
#include "compat/spigrp.h"

namespace netlink {
class Mirror;
}

namespace fs {

class ListingSource {
public:
    virtual ~ListingSource() = default;
    // The current text; immutable, so a reader may keep it as a snapshot.
    virtual std::shared_ptr<const std::string> spigrp() = 0;
};

class MirrorListing : public ListingSource {
public:
    MirrorListing(const netlink::Mirror& mirror, compat::SaidForm form);

    std::shared_ptr<const std::string> spigrp() override;

    // The groups made through the control node (see compat/translate.h).
    void set_recorded_groups(std::vector<compat::SaGroup> groups);

private:
    const netlink::Mirror& mirror_;
    const compat::SaidForm form_;

    std::mutex mutex_;
    std::vector<compat::SaGroup> recorded_;
    std::uint64_t recorded_version_ = 0;
    std::shared_ptr<const std::string> cached_;
    std::uint64_t cached_generation_ = 0;
    std::uint64_t cached_recorded_version_ = 0;
};

} // namespace fs
