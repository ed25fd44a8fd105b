// klipsfs_fake_fs: klipsfs's FUSE layer (fs::Filesystem, fs::serve) with
// fakes in place of the XFRM mirror and the control language, so that the
// host tests can pin down the FUSE semantics without any kernel state.
//
//   klipsfs_fake_fs [--no-control] LISTING-FILE COMMAND-LOG MOUNTPOINT
//
// ipsec/spigrp/all serves LISTING-FILE as it is at each snapshot (each read
// at offset 0), so a test changes the "kernel" by rewriting that file.
// ipsec/control records every line it is given in COMMAND-LOG, one per
// line, and replies by the line's first word:
//   fail ERRNO TEXT   fails with errno ERRNO (a number) and reply TEXT
//   throw TEXT        throws std::runtime_error(TEXT)
//   anything else     succeeds with reply "ok"
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "fs/filesystem.h"
#include "fs/log.h"
#include "fs/session.h"

namespace {

class FileListing : public fs::ListingSource {
public:
    explicit FileListing(std::string path) : path_(std::move(path)) {}

    std::shared_ptr<const std::string> spigrp() override {
        std::ifstream in(path_);
        return std::make_shared<const std::string>(std::istreambuf_iterator<char>(in),
                                                   std::istreambuf_iterator<char>());
    }

private:
    std::string path_;
};

class RecordingSink : public fs::ControlSink {
public:
    explicit RecordingSink(std::string path) : path_(std::move(path)) {}

    fs::ControlReply execute(std::string_view line, const fs::Caller&) override {
        {
            std::lock_guard lock(mutex_);
            std::ofstream(path_, std::ios::app) << line << '\n';
        }
        if (line.rfind("fail ", 0) == 0) {
            const std::string rest(line.substr(5));
            const std::size_t space = rest.find(' ');
            return {std::stoi(rest.substr(0, space)),
                    space == std::string::npos ? "" : rest.substr(space + 1)};
        }
        if (line.rfind("throw ", 0) == 0)
            throw std::runtime_error(std::string(line.substr(6)));
        return {0, "ok"};
    }

private:
    std::mutex mutex_;
    std::string path_;
};

} // namespace

int main(int argc, char** argv) {
    int first = 1;
    bool control = true;
    if (argc > 1 && std::string(argv[1]) == "--no-control") {
        control = false;
        ++first;
    }
    if (argc - first != 3) {
        std::fprintf(stderr, "usage: klipsfs_fake_fs [--no-control] LISTING LOG MOUNTPOINT\n");
        return 2;
    }
    fs::log::capture_libfuse();
    FileListing listing(argv[first]);
    RecordingSink sink(argv[first + 1]);
    fs::Filesystem filesystem(listing, control ? &sink : nullptr);
    fs::SessionOptions session;
    session.mountpoint = argv[first + 2];
    try {
        return fs::serve(session, filesystem);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "klipsfs_fake_fs: %s\n", e.what());
        return 1;
    }
}
