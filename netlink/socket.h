// netlink::Socket: the transport under Client and Mirror.
//
// One NETLINK_XFRM socket, opened in a chosen network namespace, with the
// options mature netlink code sets (extended ACKs, capped ACKs, CLOEXEC,
// large buffers).  It sends requests with fresh sequence numbers and reads
// every message of every datagram until the request is answered: an ACK, a
// NLMSG_ERROR (thrown as netlink::Error with the kernel's extended-ACK
// text) or the NLMSG_DONE of a dump.  It knows nothing of states and
// policies.  Every receive buffer is wiped after use, since XFRM replies
// and events carry keys.
#pragma once

#include <linux/netlink.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace netlink {

// The errno and text an NLMSG_ERROR (or a failed NLMSG_DONE) carries.
struct KernelError {
    int code = 0;          // positive errno; 0 for an ACK
    std::string message;   // NLMSGERR_ATTR_MSG, may be empty
    std::uint32_t offset = 0; // NLMSGERR_ATTR_OFFS, 0 if absent
};

// Decodes an NLMSG_ERROR or NLMSG_DONE message; pure, for tests too.
KernelError parse_kernel_error(const nlmsghdr* nlh);

// "what: kernel message" or "what: strerror" when the kernel gave none.
std::string error_text(const std::string& what, const KernelError& error);

// Zeroes memory in a way the compiler may not drop.
void wipe(void* data, std::size_t size);

class Socket {
public:
    // groups: XFRMNLGRP_* numbers to join (an event socket); none for a
    // request socket.  receive_buffer: SO_RCVBUF(FORCE) bytes, 0 = default.
    Socket(int netns_fd, std::initializer_list<unsigned> groups = {}, int receive_buffer = 0);
    ~Socket();
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int fd() const { return fd_; }
    std::uint32_t port() const { return port_; }

    // Sends `request` (a complete netlink message; its seq and pid are set
    // here) and reads until it is answered.  Each reply message other than
    // ACK/ERROR/DONE goes to `each`; `between` runs after every datagram
    // (the mirror drains its event socket there during a long dump).
    // Throws Error with "what: ..." on failure.
    void transact(std::vector<std::uint8_t>& request, const std::string& what,
                  const std::function<void(const nlmsghdr*)>& each = {},
                  const std::function<void()>& between = {});

    // One non-blocking read of a datagram into `buffer` (resized to fit
    // the data).  Returns false when nothing is queued.  Throws Error;
    // ENOBUFS (events lost) is thrown with code ENOBUFS for the caller to
    // handle.  *sender is the sending port (0 = the kernel).
    bool receive(std::vector<std::uint8_t>& buffer, std::uint32_t* sender);

    // Receive buffers are this large: the kernel sizes dump batches to the
    // largest buffer a reader has used, up to 32 KiB.
    static constexpr std::size_t buffer_size = 64 * 1024;

private:
    int fd_ = -1;
    std::uint32_t port_ = 0;
    std::uint32_t seq_ = 0;
    std::vector<std::uint8_t> buffer_;
};

// Runs `work` with the calling context switched to the network namespace
// `netns_fd` (-1: no switch).  It runs on a short-lived thread, since
// setns() changes only the calling thread and this one must stay put.
void run_in_netns(int netns_fd, const std::function<void()>& work);

} // namespace netlink
