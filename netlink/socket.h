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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <linux/netlink.h>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <vector>

namespace netlink {

// The errno and text an NLMSG_ERROR (or a failed NLMSG_DONE) carries.
struct KernelError {
    int code = 0;             // positive errno; 0 for an ACK
    std::string message;      // NLMSGERR_ATTR_MSG, may be empty
    std::uint32_t offset = 0; // NLMSGERR_ATTR_OFFS, 0 if absent
};

// Decodes an NLMSG_ERROR or NLMSG_DONE message; pure, for tests too.
KernelError parse_kernel_error(const nlmsghdr* nlh);

// "what: kernel message" or "what: strerror" when the kernel gave none.
std::string error_text(const std::string& what, const KernelError& error);

// Zeroes memory in a way the compiler may not drop.
void wipe(void* data, std::size_t size);

// Memory for received datagrams, reused from one receive to the next.
// What a receive wrote is wiped by wipe(), by the next receive and on
// destruction.
class Datagrams {
public:
    // slots: datagrams one receive may return (one system call, recvmmsg);
    // slot_size: the largest datagram accepted.
    explicit Datagrams(std::size_t slots = 1, std::size_t slot_size = 64 * 1024);
    ~Datagrams();
    Datagrams(const Datagrams&) = delete;
    Datagrams& operator=(const Datagrams&) = delete;

    std::size_t slots() const { return entries_.size(); }
    std::size_t count() const { return count_; }
    const std::uint8_t* data(std::size_t i) const { return memory_.data() + i * slot_size_; }
    std::size_t size(std::size_t i) const { return entries_[i].size; }
    std::uint32_t sender(std::size_t i) const { return entries_[i].sender; }
    // The datagram did not fit its slot: its messages are lost.
    bool truncated(std::size_t i) const { return entries_[i].truncated; }

    void wipe();

private:
    friend class Socket;
    struct Entry {
        std::size_t size = 0;
        std::uint32_t sender = 0;
        bool truncated = false;
    };
    std::size_t slot_size_;
    std::vector<std::uint8_t> memory_;
    std::vector<Entry> entries_;
    std::size_t count_ = 0;
    // recvmmsg's arguments, kept to spare an allocation per receive.
    std::vector<sockaddr_nl> from_;
    std::vector<iovec> iov_;
    std::vector<mmsghdr> msgs_;
};

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

    // Reads, without blocking, as many queued datagrams as `into` has
    // slots, in one system call; returns how many (0: none queued).  Throws
    // Error; ENOBUFS (the socket overflowed, events were lost) is thrown
    // with that code for the caller to handle.
    std::size_t receive(Datagrams& into);

private:
    int fd_ = -1;
    std::uint32_t port_ = 0;
    std::uint32_t seq_ = 0;
    // 64 KiB: the kernel sizes dump batches to the largest buffer a reader
    // has used, up to 32 KiB.
    Datagrams replies_{1, 64 * 1024};
};

// Runs `work` with the calling context switched to the network namespace
// `netns_fd` (-1: no switch).  It runs on a short-lived thread, since
// setns() changes only the calling thread and this one must stay put.
void run_in_netns(int netns_fd, const std::function<void()>& work);

} // namespace netlink
