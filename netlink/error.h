// netlink::Error: the one error type of the XFRM side.
//
// Everything in netlink/ reports failure by throwing this.  code() is the
// errno (the kernel's, negated back to positive, or the failing system
// call's); what() is a sentence a person can act on: what was attempted,
// and the kernel's extended-ACK text when it sent one, e.g.
// "add policy out 10.0.0.0/24 -> 10.0.1.0/24: File exists".
#pragma once

#include <stdexcept>
#include <string>

namespace netlink {

class Error : public std::runtime_error {
public:
    Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}

    int code() const noexcept { return code_; }

private:
    int code_;
};

} // namespace netlink
