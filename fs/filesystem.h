// fs::Filesystem: the KLIPS tree over the libfuse3 low-level API.
//
//   ipsec_spigrp -> ipsec/spigrp/all     symlink
//   ipsec/spigrp/all                     0444, generated
//   ipsec/control                        0600, only when a ControlSink is given
//
// Generated files are served as /proc serves its files: st_size 0,
// direct_io, no page cache, and a snapshot per open file.  A read at offset
// 0 (open+read, pread at 0, lseek(0)+read) takes a fresh snapshot from the
// ListingSource; later reads are served from it; a read past the end returns
// 0; a first read at offset > 0 takes a snapshot too.  No poll (libfuse
// answers ENOSYS once and the kernel stops asking), no flush for read-only
// files (noflush).
//
// ipsec/control follows spec/fuse-serving.md 2.3: see fs/control_stream.h
// for the line rules; writing needs CAP_NET_ADMIN (EPERM otherwise).
//
// The callbacks only translate between FUSE and this class; each one is a
// noexcept wrapper that turns an escaping exception into EIO (ENOMEM for
// bad_alloc).
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fs/control_sink.h"
#include "fs/listing.h"

namespace fs {

class Filesystem {
public:
    // Neither is owned; both must outlive the FUSE session.  sink may be null.
    Filesystem(ListingSource& listing, ControlSink* sink);
    ~Filesystem();
    Filesystem(const Filesystem&) = delete;
    Filesystem& operator=(const Filesystem&) = delete;

    static const fuse_lowlevel_ops& operations();

    // The FUSE requests, each replying exactly once.
    void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
    void getattr(fuse_req_t req, fuse_ino_t ino);
    void setattr(fuse_req_t req, fuse_ino_t ino, const struct stat& attr, int to_set);
    void readlink(fuse_req_t req, fuse_ino_t ino);
    void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
    void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
    void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
    void write(fuse_req_t req, fuse_ino_t ino, std::string_view data, fuse_file_info* fi);
    void flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
    void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);

    struct Node;
    struct OpenFile;

private:
    const Node* node(fuse_ino_t ino) const;
    struct stat attributes(const Node& node) const;
    ControlReply run_command(std::string_view line, const Caller& who);
    uint64_t keep_open(std::unique_ptr<OpenFile> file);
    void forget_open(uint64_t fh);

    ListingSource& listing_;
    ControlSink* const sink_;
    const uid_t uid_;
    const gid_t gid_;
    const std::timespec started_;

    // Open files, owned here: the loop can end (a signal) before the kernel
    // has sent every release, and those files must still be freed.
    std::mutex open_mutex_;
    std::unordered_map<uint64_t, std::unique_ptr<OpenFile>> open_files_;
};

} // namespace fs
