// fs::ControlStream: one open file of ipsec/control, without FUSE.
//
// Writes arrive as arbitrary byte runs (stdio and sed split lines across
// write() calls); each complete line is one command, run inside the write
// that completes it.  The first failing line fails that write with its
// errno and drops the rest of what is buffered, so a failed command never
// drags later ones in.  A partial line waits for more bytes, or for flush()
// (close), which runs it.  Blank lines are skipped.  reply() is the text of
// the last command run, which a read() of the same open file returns.
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

    // 0 when every complete line succeeded, else the first failing errno.
    int write(std::string_view bytes);
    // Runs a leftover partial line; 0 when there was none or it succeeded.
    int flush();

    const std::string& reply() const { return reply_; }
    bool has_partial_line() const { return !pending_.empty(); }

private:
    int run(std::string_view line);

    Runner runner_;
    std::string pending_;
    std::string reply_;
};

} // namespace fs
