// The netlink transport: socket options, request/answer loop, ext-ACK text.
#include "netlink/socket.h"

#include "netlink/error.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

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
        throw Error(errno,
                    std::string("netlink socket option ") + what + ": " + std::strerror(errno));
}

void wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
}

} // namespace

Socket::Socket(int netns_fd, std::initializer_list<unsigned> groups, int receive_buffer) {
    run_in_netns(netns_fd, [&] {
        fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_XFRM);
    });
    if (fd_ < 0)
        throw Error(errno,
                    std::string("cannot open an XFRM netlink socket: ") + std::strerror(errno));
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
                throw Error(errno, "cannot join XFRM multicast group " + std::to_string(g) + ": " +
                                       std::strerror(errno) +
                                       (errno == EPERM ? " (needs CAP_NET_ADMIN)" : ""));
        }
    } catch (...) {
        close(fd_);
        throw;
    }
}

Socket::~Socket() {
    if (fd_ >= 0)
        close(fd_);
}

Datagrams::Datagrams(std::size_t slots, std::size_t slot_size)
    : slot_size_(slot_size), memory_(slots * slot_size), entries_(slots), from_(slots), iov_(slots),
      msgs_(slots) {}

Datagrams::~Datagrams() {
    wipe();
}

void Datagrams::wipe() {
    for (std::size_t i = 0; i < count_; ++i)
        netlink::wipe(memory_.data() + i * slot_size_, std::min(entries_[i].size, slot_size_));
    count_ = 0;
}

std::size_t Socket::receive(Datagrams& into) {
    into.wipe();
    std::size_t slots = into.entries_.size();
    auto& from = into.from_;
    auto& iov = into.iov_;
    auto& msgs = into.msgs_;
    for (std::size_t i = 0; i < slots; ++i) {
        iov[i] = {into.memory_.data() + i * into.slot_size_, into.slot_size_};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n;
    do {
        n = recvmmsg(fd_, msgs.data(), static_cast<unsigned>(slots), MSG_DONTWAIT, nullptr);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n < 0)
        throw Error(errno, std::string("netlink receive: ") + std::strerror(errno));
    for (int i = 0; i < n; ++i) {
        auto& e = into.entries_[static_cast<std::size_t>(i)];
        e.size = msgs[static_cast<std::size_t>(i)].msg_len;
        e.sender = from[static_cast<std::size_t>(i)].nl_pid;
        e.truncated = msgs[static_cast<std::size_t>(i)].msg_hdr.msg_flags & MSG_TRUNC;
        if (e.truncated)
            e.size = into.slot_size_;
    }
    into.count_ = static_cast<std::size_t>(n);
    return into.count_;
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
        sent = sendto(fd_, request.data(), req->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
                      sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        throw Error(errno, what + ": cannot send: " + std::strerror(errno));

    for (;;) {
        while (!receive(replies_))
            wait_readable(fd_);
        if (replies_.truncated(0)) {
            replies_.wipe();
            throw Error(EMSGSIZE, what + ": an answer larger than the receive buffer");
        }
        // The buffer may hold keys: wipe it on every way out.
        struct Wiper {
            Datagrams& d;
            ~Wiper() { d.wipe(); }
        } wiper{replies_};
        std::uint32_t sender = replies_.sender(0);

        bool finished = false;
        int len = static_cast<int>(replies_.size(0));
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(replies_.data(0)); NLMSG_OK(nlh, len);
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
