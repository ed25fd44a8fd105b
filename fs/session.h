// fs::serve: mount a Filesystem, run libfuse's loop, unmount.
//
// The mount is always allow_other,default_permissions (the kernel checks
// the mode bits, so ipsec/control stays root's) with fsname=klipsfs and
// subtype=klipsfs, so /proc/mounts shows "klipsfs ... fuse.klipsfs".
// SIGTERM, SIGINT and SIGHUP end the loop and unmount cleanly: they must
// reach the thread that calls serve(), so other threads should block them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace fs {

struct SessionOptions {
    std::string mountpoint;
    bool debug = false;         // libfuse's trace of every request
    bool single_thread = false; // libfuse's single-threaded loop
    std::vector<std::string> fuse_options; // more -o options, passed through
    // Called once mounted, before requests are served.
    std::function<void()> on_mounted;
};

// Throws std::runtime_error when the session cannot be made or mounted
// (libfuse has logged why); returns 0 after a clean unmount.
int serve(const SessionOptions& options, Filesystem& filesystem);

} // namespace fs
