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

int ControlStream::write(std::string_view bytes) {
    pending_.append(bytes);

    std::size_t start = 0;
    for (std::size_t end; (end = pending_.find('\n', start)) != std::string::npos;) {
        const std::string line(without_cr(std::string_view(pending_).substr(start, end - start)));
        start = end + 1;
        if (const int error = run(line)) {
            pending_.clear();
            return error;
        }
    }
    pending_.erase(0, start);

    if (pending_.size() > max_line) {
        pending_.clear();
        reply_ = "line longer than " + std::to_string(max_line) + " bytes\n";
        return EINVAL;
    }
    return 0;
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
    reply_ = std::move(reply.text);
    if (reply_.empty() || reply_.back() != '\n')
        reply_ += '\n';
    return reply.error;
}

} // namespace fs
