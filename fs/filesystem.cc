// Filesystem: the FUSE requests of the KLIPS tree (see filesystem.h).
//
// Inode numbers are fixed: the tree never changes while mounted (the
// control node exists or not for the whole session), so names and
// attributes can be cached by the kernel for long.
#include "fs/filesystem.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <new>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "compat/error.h"
#include "fs/control_stream.h"
#include "fs/log.h"
#include "netlink/error.h"

namespace fs {

namespace {

enum : fuse_ino_t {
    root_ino = FUSE_ROOT_ID,
    spigrp_link_ino,
    ipsec_ino,
    spigrp_dir_ino,
    spigrp_all_ino,
    control_ino,
};

constexpr double entry_timeout = 60.0;
constexpr double attr_timeout = 1.0;


Caller caller_of(fuse_req_t req) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    return Caller{ctx->uid, ctx->gid, ctx->pid, false};
}

void reply_slice(fuse_req_t req, std::string_view text, size_t size, off_t off) {
    if (off < 0 || static_cast<size_t>(off) >= text.size()) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    const std::string_view slice = text.substr(static_cast<size_t>(off), size);
    fuse_reply_buf(req, slice.data(), slice.size());
}

Filesystem& filesystem_of(fuse_req_t req) {
    return *static_cast<Filesystem*>(fuse_req_userdata(req));
}

// Every callback goes through here: exceptions must not unwind into libfuse.
template <typename Call> void guarded(fuse_req_t req, Call call) noexcept {
    try {
        call(filesystem_of(req));
    } catch (const std::bad_alloc&) {
        fuse_reply_err(req, ENOMEM);
    } catch (const std::exception& e) {
        LOG_ERROR("request failed: %s", e.what());
        fuse_reply_err(req, EIO);
    } catch (...) {
        fuse_reply_err(req, EIO);
    }
}

} // namespace

struct Filesystem::OpenFile {
    virtual ~OpenFile() = default;
    std::mutex mutex;
};

namespace {

// An open ipsec/spigrp/all: the text it reads from, kept until the next
// read at offset 0.
struct OpenListing : Filesystem::OpenFile {
    std::shared_ptr<const std::string> text;
};

struct OpenControl : Filesystem::OpenFile {
    explicit OpenControl(ControlStream::Runner runner) : stream(std::move(runner)) {}

    Caller who; // the caller of the request being served
    // Whether the writer has CAP_NET_ADMIN, as found for the first command
    // line of this open file and kept for the rest: reading
    // /proc/PID/status per line cost more than the command.  So, as with
    // a file whose permissions are checked at open, a descriptor passed on
    // to another process, or a writer that drops the capability later,
    // keeps the answer of the first line.
    std::optional<bool> net_admin;
    ControlStream stream;
};

// The open file behind fi->fh (made by keep_open from a unique_ptr of the
// base), as the type its inode says it is.
template <typename File> File& open_file(const fuse_file_info* fi) {
    return static_cast<File&>(*reinterpret_cast<Filesystem::OpenFile*>(fi->fh));
}

} // namespace

struct Filesystem::Node {
    fuse_ino_t ino;
    fuse_ino_t parent;
    const char* name;
    mode_t mode;
    const char* target; // symlinks only
};

Filesystem::Filesystem(ListingSource& listing, ControlSink* sink)
    : listing_(listing), sink_(sink), uid_(getuid()), gid_(getgid()), started_([] {
          std::timespec now{};
          clock_gettime(CLOCK_REALTIME, &now);
          return now;
      }()) {}

Filesystem::~Filesystem() = default;

uint64_t Filesystem::keep_open(std::unique_ptr<OpenFile> file) {
    const auto fh = reinterpret_cast<uint64_t>(file.get());
    std::lock_guard lock(open_mutex_);
    open_files_.emplace(fh, std::move(file));
    return fh;
}

void Filesystem::forget_open(uint64_t fh) {
    std::unique_ptr<OpenFile> file;
    {
        std::lock_guard lock(open_mutex_);
        auto it = open_files_.find(fh);
        if (it == open_files_.end())
            return;
        file = std::move(it->second);
        open_files_.erase(it);
    }
}

const Filesystem::Node* Filesystem::node(fuse_ino_t ino) const {
    static const Node nodes[] = {
        {root_ino, root_ino, "", S_IFDIR | 0555, nullptr},
        {spigrp_link_ino, root_ino, "ipsec_spigrp", S_IFLNK | 0777, "ipsec/spigrp/all"},
        {ipsec_ino, root_ino, "ipsec", S_IFDIR | 0555, nullptr},
        {spigrp_dir_ino, ipsec_ino, "spigrp", S_IFDIR | 0555, nullptr},
        {spigrp_all_ino, spigrp_dir_ino, "all", S_IFREG | 0444, nullptr},
        {control_ino, ipsec_ino, "control", S_IFREG | 0600, nullptr},
    };
    if (ino < root_ino || ino > control_ino || (ino == control_ino && !sink_))
        return nullptr;
    return &nodes[ino - root_ino];
}

struct stat Filesystem::attributes(const Node& node) const {
    struct stat st{};
    st.st_ino = node.ino;
    st.st_mode = node.mode;
    st.st_nlink = S_ISDIR(node.mode) ? 2 : 1;
    st.st_uid = uid_;
    st.st_gid = gid_;
    st.st_size = node.target ? static_cast<off_t>(std::strlen(node.target)) : 0;
    st.st_atim = st.st_mtim = st.st_ctim = started_;
    return st;
}

void Filesystem::lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    for (fuse_ino_t ino = root_ino + 1; ino <= control_ino; ++ino) {
        const Node* candidate = node(ino);
        if (!candidate || candidate->parent != parent || std::strcmp(candidate->name, name) != 0)
            continue;
        fuse_entry_param entry{};
        entry.ino = ino;
        entry.attr = attributes(*candidate);
        entry.attr_timeout = attr_timeout;
        entry.entry_timeout = entry_timeout;
        fuse_reply_entry(req, &entry);
        return;
    }
    fuse_reply_err(req, ENOENT);
}

void Filesystem::getattr(fuse_req_t req, fuse_ino_t ino) {
    const Node* found = node(ino);
    if (!found) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    const struct stat st = attributes(*found);
    fuse_reply_attr(req, &st, attr_timeout);
}

// Only the control node may be "truncated" (shells open it with O_TRUNC or
// call truncate first); there is nothing to cut, so size 0 is accepted.
void Filesystem::setattr(fuse_req_t req, fuse_ino_t ino, const struct stat& attr, int to_set) {
    const Node* found = node(ino);
    if (!found) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
        if (ino != control_ino) {
            fuse_reply_err(req, EACCES);
            return;
        }
        if (attr.st_size != 0) {
            fuse_reply_err(req, EINVAL);
            return;
        }
    }
    const struct stat st = attributes(*found);
    fuse_reply_attr(req, &st, attr_timeout);
}

void Filesystem::readlink(fuse_req_t req, fuse_ino_t ino) {
    const Node* found = node(ino);
    if (!found || !found->target) {
        fuse_reply_err(req, found ? EINVAL : ENOENT);
        return;
    }
    fuse_reply_readlink(req, found->target);
}

void Filesystem::readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
    const Node* dir = node(ino);
    if (!dir || !S_ISDIR(dir->mode)) {
        fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
        return;
    }
    struct Entry {
        const char* name;
        const Node* node;
    };
    std::vector<Entry> entries = {{".", dir}, {"..", node(dir->parent)}};
    for (fuse_ino_t child = root_ino + 1; child <= control_ino; ++child)
        if (const Node* n = node(child); n && n->parent == ino)
            entries.push_back({n->name, n});

    std::vector<char> buffer(size);
    size_t used = 0;
    for (size_t i = static_cast<size_t>(off); i < entries.size(); ++i) {
        const struct stat st = attributes(*entries[i].node);
        const size_t need = fuse_add_direntry(req, buffer.data() + used, size - used,
                                              entries[i].name, &st, static_cast<off_t>(i + 1));
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buffer.data(), used);
}

void Filesystem::open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    const Node* found = node(ino);
    if (!found || !S_ISREG(found->mode)) {
        fuse_reply_err(req, found ? EISDIR : ENOENT);
        return;
    }
    fi->direct_io = 1;
    fi->keep_cache = 0;
    if (ino == spigrp_all_ino) {
        // root passes the kernel's mode check, so the file refuses itself.
        if ((fi->flags & O_ACCMODE) != O_RDONLY) {
            fuse_reply_err(req, EACCES);
            return;
        }
        fi->noflush = 1;
        fi->fh = keep_open(std::make_unique<OpenListing>());
    } else {
        auto file = std::make_unique<OpenControl>(nullptr);
        OpenControl* raw = file.get();
        file->stream = ControlStream(
            [this, raw](std::string_view line) {
                if (!raw->net_admin)
                    raw->net_admin = has_net_admin(raw->who.pid);
                raw->who.net_admin = *raw->net_admin;
                return run_command(line, raw->who);
            });
        fi->fh = keep_open(std::move(file));
    }
    if (fuse_reply_open(req, fi) != 0)
        release(nullptr, ino, fi); // the opener is gone: no release will come
}

// Replies are sent after the open file's lock is released: once the kernel
// has its answer, a release() may free the open file on another thread.
void Filesystem::read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      fuse_file_info* fi) {
    if (ino != spigrp_all_ino) {
        auto& file = open_file<OpenControl>(fi);
        std::string reply;
        {
            std::lock_guard lock(file.mutex);
            reply = file.stream.read_reply(size, off);
        }
        fuse_reply_buf(req, reply.data(), reply.size());
        return;
    }
    std::shared_ptr<const std::string> text;
    {
        auto& file = open_file<OpenListing>(fi);
        std::lock_guard lock(file.mutex);
        if (off == 0 || !file.text)
            file.text = listing_.spigrp();
        text = file.text;
    }
    reply_slice(req, *text, size, off);
}

void Filesystem::write(fuse_req_t req, fuse_ino_t ino, std::string_view data,
                       fuse_file_info* fi) {
    if (ino != control_ino) {
        fuse_reply_err(req, EBADF);
        return;
    }
    auto& file = open_file<OpenControl>(fi);
    ControlStream::WriteResult result;
    {
        std::lock_guard lock(file.mutex);
        file.who = caller_of(req);
        result = file.stream.write(data);
    }
    // A failure after lines of this write ran is a short write (see
    // control_stream.h): the writer's retry of the rest then gets the errno.
    if (result.error && result.accepted == 0)
        fuse_reply_err(req, result.error);
    else
        fuse_reply_write(req, result.accepted);
}

// close() of the control node runs a last line written without a newline,
// and reports its error; flush may come many times per open file.
void Filesystem::flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino != control_ino) {
        fuse_reply_err(req, 0);
        return;
    }
    auto& file = open_file<OpenControl>(fi);
    int error;
    {
        std::lock_guard lock(file.mutex);
        file.who = caller_of(req);
        error = file.stream.flush();
    }
    fuse_reply_err(req, error);
}

void Filesystem::release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino == control_ino) {
        auto& file = open_file<OpenControl>(fi);
        std::lock_guard lock(file.mutex);
        if (file.stream.has_partial_line())
            LOG_WARNING("control: an unfinished line was dropped at close");
    }
    forget_open(fi->fh);
    if (req)
        fuse_reply_err(req, 0);
}

ControlReply Filesystem::run_command(std::string_view line, const Caller& caller) {
    const Caller& who = caller; // net_admin as the open file found it
    ControlReply reply;
    if (!who.net_admin) {
        reply = {EPERM, "writing ipsec/control needs CAP_NET_ADMIN"};
    } else {
        try {
            reply = sink_->execute(line, who);
        } catch (const compat::Error& e) {
            reply = {e.code(), e.what()};
        } catch (const netlink::Error& e) {
            reply = {e.code(), e.what()};
        } catch (const std::bad_alloc&) {
            reply = {ENOMEM, "out of memory"};
        } catch (const std::exception& e) {
            reply = {EIO, e.what()};
        }
    }
    LOG_NOTICE("control: uid %u pid %d: \"%.*s\": %s", static_cast<unsigned>(who.uid),
               static_cast<int>(who.pid), static_cast<int>(line.size()), line.data(),
               reply.error ? reply.text.c_str() : "ok");
    return reply;
}

const fuse_lowlevel_ops& Filesystem::operations() {
    static const fuse_lowlevel_ops ops = [] {
        fuse_lowlevel_ops o{};
        o.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) {
            guarded(req, [&](Filesystem& fs) { fs.lookup(req, parent, name); });
        };
        o.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
            guarded(req, [&](Filesystem& fs) { fs.getattr(req, ino); });
        };
        o.setattr = [](fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                       fuse_file_info*) {
            guarded(req, [&](Filesystem& fs) { fs.setattr(req, ino, *attr, to_set); });
        };
        o.readlink = [](fuse_req_t req, fuse_ino_t ino) {
            guarded(req, [&](Filesystem& fs) { fs.readlink(req, ino); });
        };
        o.readdir = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
            guarded(req, [&](Filesystem& fs) { fs.readdir(req, ino, size, off); });
        };
        o.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
            guarded(req, [&](Filesystem& fs) { fs.open(req, ino, fi); });
        };
        o.read = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
            guarded(req, [&](Filesystem& fs) { fs.read(req, ino, size, off, fi); });
        };
        o.write = [](fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t,
                     fuse_file_info* fi) {
            guarded(req, [&](Filesystem& fs) { fs.write(req, ino, {buf, size}, fi); });
        };
        o.flush = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
            guarded(req, [&](Filesystem& fs) { fs.flush(req, ino, fi); });
        };
        o.release = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
            guarded(req, [&](Filesystem& fs) { fs.release(req, ino, fi); });
        };
        return o;
    }();
    return ops;
}

} // namespace fs
