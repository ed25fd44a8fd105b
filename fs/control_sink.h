// fs::ControlSink: what the ipsec/control node hands each command line to.
//
// The FUSE side (fs/filesystem.cc) owns the byte stream: it buffers each
// open file's writes, cuts complete lines, checks the writer's
// CAP_NET_ADMIN and turns a sink's reply into the write()'s result.  A sink
// owns the meaning: it parses one line, applies it (or changes nothing when
// it fails) and says what happened.
//
//   error  0 on success, else the errno write() fails with (EINVAL, ENOENT,
//          EEXIST, EBUSY, EPERM, ...);
//   text   what a read() on the same open file returns afterwards: "ok", or
//          the message that explains the error.  A trailing newline is added
//          by the FUSE side when missing.
//
// execute() runs on a FUSE worker thread, possibly on several at once for
// different open files: a sink serialises itself if it needs to.  It may
// throw; the FUSE side then replies EIO (ENOMEM for bad_alloc) and the
// exception's text becomes the reply.
//
// Without a sink the control node does not exist.  make_control_sink() is
// where the daemon gets one (fs/control_sink.cc).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "compat/control_policy.h"
#include "compat/spigrp.h"

namespace netlink {
class Mirror;
}

namespace fs {

struct ControlReply {
    int error = 0;
    std::string text;
};

// Who wrote the line, as the kernel told FUSE.  pid is in the daemon's pid
// namespace (0 when the writer is not visible there).
struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
    bool net_admin = false; // CAP_NET_ADMIN in the writer's effective set
};

class ControlSink {
public:
    virtual ~ControlSink() = default;
    virtual ControlReply execute(std::string_view line, const Caller& who) = 0;
};

// Reads CAP_NET_ADMIN from /proc/PID/status (CapEff).  False when the
// process is gone or unreadable.  The pid can be reused between the write
// and this read; the node's mode (0600, root) is the first line of defence.
bool has_net_admin(pid_t pid);

// What a sink may use from the daemon.
struct ControlContext {
    netlink::Mirror* mirror = nullptr; // the live copy of XFRM (started)
    int netns_fd = -1;                 // the namespace to talk to, -1: ours
    // The control node's state file (groups the kernel cannot hold);
    // empty: none, groups not bound then end with the daemon.
    std::string state_file;
    // What the kernel can do itself (fs/probe.h), for the commands' checks
    // and messages.
    compat::KernelCaps caps;
    // Replaces the groups made through the control node that the listing
    // shows (inside to outside, tun SAs included; see compat/translate.h).
    std::function<void(std::vector<compat::SaGroup>)> set_recorded_groups;
};

// The daemon's sink (fs::ControlService), or nullptr: then ipsec/control is
// not served.  Defined in fs/control_sink.cc.
std::unique_ptr<ControlSink> make_control_sink(const ControlContext& context);

} // namespace fs
