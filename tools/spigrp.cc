// ipsec spigrp: group and ungroup SAs, or list the groups, through klipsfs.
//
// The I/O half of the command: host-name lookups, writing one line to
// <mount>/ipsec/control, copying <mount>/ipsec_spigrp.  What to do and every
// message are decided in spigrp_args.cc.  The mount point is /run/klipsfs
// unless KLIPSFS_MOUNT names another.
#include "tools/spigrp_args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

std::optional<compat::Address> lookup_name(const std::string& name, int family) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_DGRAM; // one answer per address, not per socket type
    addrinfo* found = nullptr;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
        return std::nullopt;
    compat::Address address;
    address.family = family;
    if (family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
        std::memcpy(address.bytes.data(), &sin->sin_addr, 4);
    } else {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(found->ai_addr);
        std::memcpy(address.bytes.data(), &sin6->sin6_addr, 16);
    }
    freeaddrinfo(found);
    return address;
}

std::string mount_point() {
    const char* mount = std::getenv("KLIPSFS_MOUNT");
    return mount != nullptr && *mount != '\0' ? mount : "/run/klipsfs";
}

void print(std::FILE* stream, const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stream);
    std::fflush(stream);
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Like KLIPS's `cat /proc/net/ipsec_spigrp`: the exit status is the read's.
int list(const tools::SpigrpPlan& plan) {
    const std::string mount = mount_point();
    const std::string path = tools::listing_file(mount);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        print(stderr, tools::listing_failure_text(plan.progname, mount, errno));
        return 1;
    }
    char buffer[65536];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            print(stderr, tools::listing_failure_text(plan.progname, mount, errno));
            close(fd);
            return 1;
        }
        if (!write_all(STDOUT_FILENO, buffer, static_cast<std::size_t>(n))) {
            print(stderr, plan.progname + ": write error: " + std::strerror(errno) + "\n");
            close(fd);
            return 1;
        }
    }
    close(fd);
    return 0;
}

// After a failed write, klipsfs keeps its reply for a read on the same open
// file (design.md, "The control node").
std::string read_reply(int fd) {
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

int send(const tools::SpigrpPlan& plan) {
    const std::string mount = mount_point();
    const std::string path = tools::control_node(mount);
    const bool root = geteuid() == 0;
    if (plan.debug)
        print(stdout, "Opening klipsfs control node " + path + ".\n");
    // O_APPEND: klipsfs ignores offsets; a plain file (a fake mount) keeps
    // every line.
    const int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        print(stderr, tools::open_failure_text(plan.progname, mount, errno, root));
        return 1;
    }
    const std::string line = tools::control_line(plan.sas);
    if (plan.debug)
        print(stdout, "writing \"" + line.substr(0, line.size() - 1) + "\".\n");
    // One write: klipsfs applies a whole line, all or nothing, inside write().
    const ssize_t n = write(fd, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        const int error = n < 0 ? errno : EIO;
        print(stderr, tools::write_failure_text(plan.progname, n, error, read_reply(fd), root));
        close(fd);
        return 1;
    }
    close(fd);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv, argv + argc);
    const tools::SpigrpPlan plan = tools::plan_spigrp(args, lookup_name);
    print(stdout, plan.out);
    print(stderr, plan.err);
    switch (plan.action) {
    case tools::SpigrpAction::list:
        return list(plan);
    case tools::SpigrpAction::send:
        return send(plan);
    case tools::SpigrpAction::exit:
        break;
    }
    return plan.status;
}
