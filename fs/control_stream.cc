// ControlStream: line reassembly and per-line execution for ipsec/control.
#include "fs/control_stream.h"

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace fs {

namespace {

bool is_blank(std::string_view line) {
    return std::all_of(line.begin(), line.end(),
                       [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string_view without_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

} // namespace

ControlStream::WriteResult ControlStream::write(std::string_view bytes) {
    const std::size_t earlier = pending_.size(); // a partial line of earlier writes
    pending_.append(bytes);

    std::size_t start = 0;
    for (std::size_t end; (end = pending_.find('\n', start)) != std::string::npos;) {
        const std::string line(without_cr(std::string_view(pending_).substr(start, end - start)));
        if (const int error = run(line)) {
            pending_.clear();
            return {error, start > earlier ? start - earlier : 0};
        }
        start = end + 1;
    }
    pending_.erase(0, start);

    if (pending_.size() > max_line) {
        pending_.clear();
        set_reply("line longer than " + std::to_string(max_line) + " bytes");
        return {EINVAL, 0};
    }
    return {0, bytes.size()};
}

int ControlStream::flush() {
    if (pending_.empty())
        return 0;
    const std::string line(without_cr(pending_));
    pending_.clear();
    return run(line);
}

int ControlStream::run(std::string_view line) {
    if (is_blank(line))
        return 0;
    ControlReply reply = runner_(line);
    set_reply(std::move(reply.text));
    return reply.error;
}

void ControlStream::set_reply(std::string text) {
    reply_ = std::move(text);
    if (reply_.empty() || reply_.back() != '\n')
        reply_ += '\n';
    reply_read_ = 0;
}

std::string_view ControlStream::read_reply(std::size_t size, long long off) {
    const std::size_t from = off == 0 ? 0 : reply_read_;
    const std::string_view slice = std::string_view(reply_).substr(from, size);
    reply_read_ = from + slice.size();
    return slice;
}

} // namespace fs
