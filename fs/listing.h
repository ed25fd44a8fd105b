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
//
// Rendering ahead: while someone reads the listing (a read in the last
// render_ahead_while), a thread of its own renders it as soon as the mirror
// reports a change, so that the next read finds it ready instead of waiting
// for it (in the lab, ~8 ms at 10,000 groups).  A listing nobody reads costs
// nothing per change.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
    static constexpr std::chrono::seconds render_ahead_while{10};

    // Follows `mirror` (a listener) until destroyed; mirror must outlive it.
    MirrorListing(netlink::Mirror& mirror, compat::SaidForm form);
    ~MirrorListing() override;
    MirrorListing(const MirrorListing&) = delete;
    MirrorListing& operator=(const MirrorListing&) = delete;

    std::shared_ptr<const std::string> spigrp() override;

    // Renders twice, the second time while the first text is still held, as
    // every later rendering is: the memory that needs is then faulted in
    // before the first reader (in the lab, the first change after start took
    // 0.3 s to show at 10,000 groups, later ones a few ms).  Call once
    // before serving.
    void warm_up();

    // The groups made through the control node (see compat/translate.h).
    void set_recorded_groups(std::vector<compat::SaGroup> groups);

private:
    std::shared_ptr<const std::string> current();
    void changed();
    void render_ahead();

    netlink::Mirror& mirror_;
    const compat::SaidForm form_;

    // Rendering ahead: the last read (steady clock ticks), and the thread.
    std::atomic<std::chrono::steady_clock::rep> last_read_{0};
    std::mutex ahead_mutex_;
    std::condition_variable ahead_wake_;
    bool dirty_ = false;
    bool stopping_ = false;
    std::thread ahead_;
    int listener_ = -1;

    std::mutex mutex_;
    std::vector<compat::SaGroup> recorded_;
    std::uint64_t recorded_version_ = 0;
    std::shared_ptr<const std::string> cached_;
    std::uint64_t cached_generation_ = 0;
    std::uint64_t cached_recorded_version_ = 0;
};

} // namespace fs
