// MirrorListing: render ipsec_spigrp from the mirror, once per change.
#include "fs/listing.h"

#include "compat/translate.h"
#include "fs/kernel_adapter.h"
#include "fs/log.h"
#include "netlink/mirror.h"

#include <chrono>

namespace fs {

namespace {

constexpr std::chrono::milliseconds catch_up_limit{2000};

double milliseconds(std::chrono::steady_clock::duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

} // namespace

MirrorListing::MirrorListing(netlink::Mirror& mirror, compat::SaidForm form)
    : mirror_(mirror), form_(form) {
    // No read yet: as if the last one were long past.
    last_read_ =
        (std::chrono::steady_clock::now() - 2 * render_ahead_while).time_since_epoch().count();
    ahead_ = std::thread([this] { render_ahead(); });
    listener_ = mirror_.add_listener([this](const netlink::MirrorChange&) { changed(); });
}

MirrorListing::~MirrorListing() {
    mirror_.remove_listener(listener_); // waits for a listener call under way
    {
        std::lock_guard lock(ahead_mutex_);
        stopping_ = true;
    }
    ahead_wake_.notify_one();
    ahead_.join();
}

std::shared_ptr<const std::string> MirrorListing::spigrp() {
    last_read_ = std::chrono::steady_clock::now().time_since_epoch().count();
    return current();
}

void MirrorListing::warm_up() {
    const std::shared_ptr<const std::string> first = current();
    {
        std::lock_guard lock(mutex_);
        cached_.reset();
    }
    current();
}

// On the mirror's thread: quick, it only wakes the rendering thread.
void MirrorListing::changed() {
    const auto read = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_read_.load()));
    if (std::chrono::steady_clock::now() - read > render_ahead_while)
        return;
    {
        std::lock_guard lock(ahead_mutex_);
        dirty_ = true;
    }
    ahead_wake_.notify_one();
}

void MirrorListing::render_ahead() {
    for (;;) {
        {
            std::unique_lock lock(ahead_mutex_);
            ahead_wake_.wait(lock, [this] { return dirty_ || stopping_; });
            if (stopping_)
                return;
            dirty_ = false;
        }
        try {
            current();
        } catch (const std::exception& e) {
            LOG_ERROR("ipsec_spigrp: rendering ahead failed: %s", e.what());
        }
    }
}

std::shared_ptr<const std::string> MirrorListing::current() {
    // What the kernel reported before this read is in it: a change that
    // `ip xfrm` made shows at the next open.  A mirror busy for longer (a
    // re-dump of a very large table) is not waited for beyond the limit:
    // the read then gets the listing as the mirror last had it.
    if (!mirror_.catch_up(std::chrono::steady_clock::now() + catch_up_limit))
        LOG_DEBUG("ipsec_spigrp: the mirror did not catch up within %lld ms; serving its last copy",
                  static_cast<long long>(catch_up_limit.count()));

    // Readers that arrive during a rendering wait for it rather than render
    // the same text again.
    std::lock_guard lock(mutex_);
    if (cached_ && cached_generation_ == mirror_.generation() &&
        cached_recorded_version_ == recorded_version_)
        return cached_;

    const auto start = std::chrono::steady_clock::now();
    const std::shared_ptr<const netlink::Snapshot> snapshot = mirror_.snapshot();
    const KernelView view = kernel_view_of(*snapshot);
    const auto converted = std::chrono::steady_clock::now();
    const std::vector<compat::SaGroup> groups =
        compat::groups_from(view.states, view.policies, recorded_);
    const auto grouped = std::chrono::steady_clock::now();
    cached_ = std::make_shared<const std::string>(compat::render_spigrp(groups, form_));
    cached_generation_ = snapshot->generation();
    cached_recorded_version_ = recorded_version_;
    LOG_DEBUG("rendered ipsec_spigrp for generation %llu: %zu lines, %zu bytes; "
              "%.1f ms to convert, %.1f ms to group, %.1f ms to render",
              static_cast<unsigned long long>(cached_generation_), groups.size(), cached_->size(),
              milliseconds(converted - start), milliseconds(grouped - converted),
              milliseconds(std::chrono::steady_clock::now() - grouped));
    return cached_;
}

void MirrorListing::set_recorded_groups(std::vector<compat::SaGroup> groups) {
    {
        std::lock_guard lock(mutex_);
        recorded_ = std::move(groups);
        ++recorded_version_;
    }
    changed();
}

} // namespace fs
