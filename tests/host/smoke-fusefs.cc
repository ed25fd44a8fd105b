// smoke-fusefs: the smallest FUSE file system, for the smoke tests that prove
// FUSE mounts work on the host and inside the lab (tests/host/smoke-fuse.sh).
// It serves a read-only root with one file, "hello", whose text is fixed
// (kText below; the tests compare it byte for byte).  Nothing of klipsfs is
// in here on purpose: when this fails, FUSE itself is broken, not klipsfs.
//
//   klipsfs_smoke_fusefs MOUNTPOINT -f      (any libfuse3 options work)
#define FUSE_USE_VERSION 31

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fuse.h>
#include <string_view>
#include <sys/stat.h>

namespace {

constexpr std::string_view kFilePath = "/hello";
constexpr std::string_view kText = "klipsfs smoke file system\n";

int get_attr(const char* path, struct stat* st, fuse_file_info*) {
    *st = {};
    if (std::string_view{path} == "/") {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    if (std::string_view{path} == kFilePath) {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = static_cast<off_t>(kText.size());
        return 0;
    }
    return -ENOENT;
}

int read_dir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
             fuse_readdir_flags) {
    if (std::string_view{path} != "/")
        return -ENOTDIR;

    const auto no_flags = static_cast<fuse_fill_dir_flags>(0);
    fill(buf, ".", nullptr, 0, no_flags);
    fill(buf, "..", nullptr, 0, no_flags);
    fill(buf, kFilePath.data() + 1, nullptr, 0, no_flags);
    return 0;
}

int open_file(const char* path, fuse_file_info* fi) {
    if (std::string_view{path} != kFilePath)
        return -ENOENT;
    if ((fi->flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    return 0;
}

int read_file(const char* path, char* buf, size_t size, off_t offset, fuse_file_info*) {
    if (std::string_view{path} != kFilePath)
        return -ENOENT;
    if (offset < 0 || static_cast<size_t>(offset) >= kText.size())
        return 0;

    const size_t count = std::min(size, kText.size() - static_cast<size_t>(offset));
    std::memcpy(buf, kText.data() + offset, count);
    return static_cast<int>(count);
}

} // namespace

int main(int argc, char* argv[]) {
    fuse_operations ops{};
    ops.getattr = get_attr;
    ops.readdir = read_dir;
    ops.open = open_file;
    ops.read = read_file;
    return fuse_main(argc, argv, &ops, nullptr);
}
