// fs::ControlStream: one open file of ipsec/control, without FUSE.
//
// Writes arrive as arbitrary byte runs (stdio and sed split lines across
// write() calls); each complete line is one command, run inside the write
// that completes it.  The first failing line ends the write and drops the
// rest of what is buffered, so a failed command never drags later ones in:
// when lines of the same write ran before it, the write is short (it
// accepts the bytes up to the end of the last line that ran), so that a
// writer's retry of the rest starts at the failing line and gets its errno,
// and no command runs twice; otherwise the write fails with its errno.  A
// partial line waits for more bytes, or for flush() (close), which runs it.
// Blank lines are skipped.  The reply is the text of the last command run,
// which read()s of the same open file return (read_reply).
//
// Not thread-safe: the FUSE side locks each open file.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "fs/control_sink.h"

namespace fs {

class ControlStream {
public:
    // Runs one line: the sink plus the FUSE side's checks (CAP_NET_ADMIN).
    using Runner = std::function<ControlReply(std::string_view line)>;

    // A partial line longer than this fails the write with EINVAL.
    static constexpr std::size_t max_line = 64 * 1024;

    explicit ControlStream(Runner runner) : runner_(std::move(runner)) {}

    struct WriteResult {
        int error = 0;             // errno of the failing line, or 0
        std::size_t accepted = 0;  // bytes of this write taken (all when error is 0)
    };
    WriteResult write(std::string_view bytes);
    // Runs a leftover partial line; 0 when there was none or it succeeded.
    int flush();

    const std::string& reply() const { return reply_; }
    // Up to size bytes of the reply for a read at offset off.  Offset 0
    // (pread at 0, lseek(0)) reads it from its start; any other offset
    // continues where the last read of this reply stopped, whatever the
    // file position (which counts the bytes written before), so a plain
    // read() after a write gets the whole reply, then end of file.
    std::string_view read_reply(std::size_t size, long long off);
    bool has_partial_line() const { return !pending_.empty(); }

private:
    int run(std::string_view line);
    void set_reply(std::string text);

    Runner runner_;
    std::string pending_;
    std::string reply_;
    std::size_t reply_read_ = 0; // bytes of reply_ already read
};

} // namespace fs
