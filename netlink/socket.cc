// The netlink transport: socket options, request/answer loop, ext-ACK text.
#include "netlink/socket.h"

#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "netlink/error.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace netlink {

void wipe(void* data, std::size_t size) {
    if (size)
        explicit_bzero(data, size);
}

KernelError parse_kernel_error(const nlmsghdr* nlh) {
    KernelError result;
    std::size_t payload = nlh->nlmsg_len >= NLMSG_HDRLEN ? nlh->nlmsg_len - NLMSG_HDRLEN : 0;
    const auto* data = static_cast<const std::uint8_t*>(NLMSG_DATA(nlh));
    std::size_t tlv_offset = 0;

    if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (payload < sizeof(nlmsgerr)) {
            // Uncapped ACKs may be followed by nothing; a short one is bogus.
            if (payload < sizeof(int))
                return {EPROTO, "truncated netlink error message", 0};
        }
        int error = 0;
        std::memcpy(&error, data, sizeof error);
        result.code = -error;
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || payload < sizeof(nlmsgerr))
            return result;
        nlmsghdr echoed;
        std::memcpy(&echoed, data + sizeof(int), sizeof echoed);
        // Without NLM_F_CAPPED the whole request is echoed before the TLVs.
        tlv_offset = (nlh->nlmsg_flags & NLM_F_CAPPED)
                         ? sizeof(nlmsgerr)
                         : sizeof(int) + NLMSG_ALIGN(echoed.nlmsg_len);
    } else if (nlh->nlmsg_type == NLMSG_DONE) {
        if (payload < sizeof(int))
            return result;
        int status = 0;
        std::memcpy(&status, data, sizeof status);
        result.code = status < 0 ? -status : 0;
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
            return result;
        tlv_offset = sizeof(int);
    } else {
        return result;
    }

    // The TLVs are ordinary netlink attributes.
    std::size_t pos = NLMSG_ALIGN(tlv_offset);
    while (pos + sizeof(nlattr) <= payload) {
        nlattr attr;
        std::memcpy(&attr, data + pos, sizeof attr);
        if (attr.nla_len < sizeof(nlattr) || pos + attr.nla_len > payload)
            break;
        const auto* value = data + pos + NLA_HDRLEN;
        std::size_t length = attr.nla_len - NLA_HDRLEN;
        switch (attr.nla_type & NLA_TYPE_MASK) {
        case NLMSGERR_ATTR_MSG:
            result.message.assign(reinterpret_cast<const char*>(value),
                                  strnlen(reinterpret_cast<const char*>(value), length));
            break;
        case NLMSGERR_ATTR_OFFS:
            if (length >= 4)
                std::memcpy(&result.offset, value, 4);
            break;
        default:
            break;
        }
        pos += NLA_ALIGN(attr.nla_len);
    }
    return result;
}

std::string error_text(const std::string& what, const KernelError& error) {
    // The kernel's own sentence is more precise than strerror; when it
    // names no errno-like cause, keep the errno text in brackets.
    if (!error.message.empty())
        return what + ": " + error.message + " (" + std::strerror(error.code) + ")";
    return what + ": " + std::strerror(error.code);
}

void run_in_netns(int netns_fd, const std::function<void()>& work) {
    if (netns_fd < 0) {
        work();
        return;
    }
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            if (setns(netns_fd, CLONE_NEWNET) != 0)
                throw Error(errno, std::string("cannot enter the network namespace: ") +
                                       std::strerror(errno));
            work();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure)
        std::rethrow_exception(failure);
}

namespace {

void set_option(int fd, int level, int name, int value, const char* what) {
    if (setsockopt(fd, level, name, &value, sizeof value) != 0)
        throw Error(errno, std::string("netlink socket option ") + what + ": " +
                               std::strerror(errno));
}

void wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
}

} // namespace

Socket::Socket(int netns_fd, std::initializer_list<unsigned> groups, int receive_buffer)
    : buffer_(buffer_size) {
    run_in_netns(netns_fd, [&] {
        fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_XFRM);
    });
    if (fd_ < 0)
        throw Error(errno, std::string("cannot open an XFRM netlink socket: ") +
                               std::strerror(errno));
    try {
        set_option(fd_, SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
        // Requests carry keys: do not have the kernel echo them back.
        set_option(fd_, SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
        set_option(fd_, SOL_SOCKET, SO_SNDBUF, 1 << 20, "SO_SNDBUF");
        if (receive_buffer > 0 &&
            setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof(int)) != 0)
            set_option(fd_, SOL_SOCKET, SO_RCVBUF, receive_buffer, "SO_RCVBUF");

        sockaddr_nl local{};
        local.nl_family = AF_NETLINK;
        if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
            throw Error(errno, std::string("cannot bind the XFRM netlink socket: ") +
                                   std::strerror(errno));
        socklen_t length = sizeof local;
        if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length) != 0)
            throw Error(errno, std::string("getsockname: ") + std::strerror(errno));
        port_ = local.nl_pid;

        for (unsigned group : groups) {
            int g = static_cast<int>(group);
            if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0)
                throw Error(errno, "cannot join XFRM multicast group " + std::to_string(g) +
                                       ": " + std::strerror(errno) +
                                       (errno == EPERM ? " (needs CAP_NET_ADMIN)" : ""));
        }
    } catch (...) {
        close(fd_);
        throw;
    }
}

Socket::~Socket() {
    wipe(buffer_.data(), buffer_.size());
    if (fd_ >= 0)
        close(fd_);
}

bool Socket::receive(std::vector<std::uint8_t>& buffer, std::uint32_t* sender) {
    buffer.resize(buffer_size);
    sockaddr_nl from{};
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    for (;;) {
        ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            buffer.clear();
            return false;
        }
        if (n < 0)
            throw Error(errno, std::string("netlink receive: ") + std::strerror(errno));
        if (msg.msg_flags & MSG_TRUNC) {
            wipe(buffer.data(), buffer.size());
            throw Error(EMSGSIZE, "netlink message larger than the receive buffer");
        }
        buffer.resize(static_cast<std::size_t>(n));
        if (sender)
            *sender = from.nl_pid;
        return true;
    }
}

void Socket::transact(std::vector<std::uint8_t>& request, const std::string& what,
                      const std::function<void(const nlmsghdr*)>& each,
                      const std::function<void()>& between) {
    auto* req = reinterpret_cast<nlmsghdr*>(request.data());
    req->nlmsg_seq = ++seq_;
    req->nlmsg_pid = port_;
    bool dump = req->nlmsg_flags & NLM_F_DUMP;

    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
        sent = sendto(fd_, request.data(), req->nlmsg_len, 0,
                      reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        throw Error(errno, what + ": cannot send: " + std::strerror(errno));

    for (;;) {
        std::uint32_t sender = 0;
        while (!receive(buffer_, &sender))
            wait_readable(fd_);
        // The buffer may hold keys: wipe it on every way out.
        struct Wiper {
            std::vector<std::uint8_t>& b;
            ~Wiper() { wipe(b.data(), b.size()); }
        } wiper{buffer_};

        bool finished = false;
        int len = static_cast<int>(buffer_.size());
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data()); NLMSG_OK(nlh, len);
             nlh = NLMSG_NEXT(nlh, len)) {
            if (sender != 0 || nlh->nlmsg_seq != seq_ || nlh->nlmsg_pid != port_)
                continue; // stale answer to an earlier, abandoned request
            if (nlh->nlmsg_type == NLMSG_NOOP)
                continue;
            if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
                KernelError error = parse_kernel_error(nlh);
                if (error.code != 0)
                    throw Error(error.code, error_text(what, error));
                finished = true;
                continue; // keep scanning: wipe-and-skip whatever follows
            }
            if (each)
                each(nlh);
            if (!dump && !(req->nlmsg_flags & NLM_F_ACK))
                finished = true;
        }
        if (between)
            between();
        if (finished)
            return;
    }
}

} // namespace netlink
