// compat::Error: the one error type of the KLIPS model.
//
// Errors are exceptions throughout klipsfs, caught at the seams (FUSE
// callbacks, the control node, main functions), where they become an errno
// and a message a person can act on.  `code` is that errno (EINVAL for bad
// text, ENOENT for an unknown SA, EEXIST, EBUSY, ...); what() is the message,
// without any strerror text appended.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace compat {

class Error : public std::runtime_error {
public:
    explicit Error(std::string message, int code = EINVAL)
        : std::runtime_error(std::move(message)), code_(code) {}

    int code() const noexcept { return code_; }

private:
    int code_;
};

} // namespace compat
