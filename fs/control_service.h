// fs::ControlService: the daemon's ControlSink.  It carries out what
// compat::apply() decides for each line of ipsec/control, and keeps the
// groups made through the node alive across restarts and kernel changes.
//
// Per line, under one mutex: parse, look at the kernel (the mirror's copy,
// plus the changes this service made that the mirror has not shown yet),
// apply, make the kernel changes over netlink (all or none), write the state
// file (all or none with the kernel), then keep the new book and show its
// groups in the listing.  A policy is in the kernel when execute() returns:
// the netlink client waits for the kernel's ACK.
//
// At start-up the state file is read and checked against the kernel
// (compat::restore_groups); bound groups come back from klipsfs's own
// policies.  Afterwards a worker thread runs compat::reconcile() after each
// change the mirror reports, so that a group whose member SA was deleted by
// other software is dissolved.
//
// The writer's CAP_NET_ADMIN is checked by the FUSE side (fs/filesystem.cc,
// once per open file), not here.
#pragma once

#include "compat/control.h"
#include "compat/control_state.h"
#include "fs/control_sink.h"
#include "fs/kernel_adapter.h"
#include "netlink/client.h"
#include "netlink/xfrm_types.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fs {

// The outbound policy that installs `policy` (an eroute compat compiled).
netlink::XfrmPolicy to_xfrm_policy(const compat::KernelPolicy& policy);

// Replaces `path` with `text`: a temporary file in the same directory,
// then rename (no fsync: the file has to outlive the daemon, not the
// machine).  Creates missing directories (0700).  Throws
// std::system_error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

class Stopwatch {
public:
    void lap(const char* stage);
    const std::string& text() const { return laps_; }

private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
    std::string laps_;
};

class ControlService : public ControlSink {
public:
    // Reads the state file, restores the groups and starts following the
    // mirror.  Throws netlink::Error when the netlink socket cannot be made.
    explicit ControlService(const ControlContext& context);
    ~ControlService() override;
    ControlService(const ControlService&) = delete;
    ControlService& operator=(const ControlService&) = delete;

    ControlReply execute(std::string_view line, const Caller& who) override;

private:
    // A policy this service added or deleted that the mirror may not show
    // yet; dropped once the mirror agrees, or after a deadline.
    struct Pending {
        netlink::XfrmPolicy policy;
        bool present = true;
        std::chrono::steady_clock::time_point until;
    };

    void restore();
    const compat::KernelView& view();
    void rebuild_view();
    void overlay(const Pending& change);
    void carry_out(const compat::Outcome& outcome, Stopwatch& time);
    void commit(compat::Outcome outcome, const Caller* who);
    bool caught_up_with(const compat::Command& command);
    void follow_mirror();

    ControlContext context_;
    netlink::Client client_;

    std::mutex mutex_; // everything below
    compat::GroupBook book_;
    std::string state_text_; // what the state file holds (as last written)
    compat::StateFile state_; // the same as values, kept up to date by each outcome
    fs::KernelView base_;    // the mirror's copy, with pending changes applied
    std::uint64_t base_generation_ = 0;
    bool have_base_ = false;
    std::vector<Pending> pending_;
    std::uint64_t states_checked_ = 0; // fingerprint of the states last found complete
    compat::KernelView view_;

    int listener_ = -1;
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    bool changed_ = false;
    bool stopping_ = false;
    std::thread worker_;
};

} // namespace fs
