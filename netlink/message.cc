// Request building and attribute reading (see message.h).
#include "netlink/message.h"

#include "netlink/error.h"
#include "netlink/socket.h"

#include <libmnl/libmnl.h>

namespace netlink {

namespace {
// Enough for a policy with six templates, a mark, an if_id and a context.
constexpr std::size_t request_capacity = 4096;
} // namespace

Request::Request(std::uint16_t type, std::uint16_t flags) : buffer_(request_capacity) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buffer_.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
}

Request::~Request() {
    wipe(buffer_.data(), buffer_.size());
}

void Request::put_header_bytes(const void* data, std::size_t size) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(buffer_.data());
    void* body = mnl_nlmsg_put_extra_header(nlh, size);
    std::memcpy(body, data, size);
}

void Request::put_attribute(std::uint16_t type, const void* data, std::size_t size) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(buffer_.data());
    if (!mnl_attr_put_check(nlh, buffer_.size(), type, size, data))
        throw Error(EMSGSIZE, "netlink request too large");
}

Attributes::Attributes(const nlmsghdr* nlh, std::size_t header_size) {
    std::size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(header_size);
    if (nlh->nlmsg_len > start)
        scan(reinterpret_cast<const std::uint8_t*>(nlh) + start, nlh->nlmsg_len - start);
}

Attributes::Attributes(const void* data, std::size_t size) {
    scan(static_cast<const std::uint8_t*>(data), size);
}

void Attributes::scan(const std::uint8_t* data, std::size_t size) {
    std::size_t pos = 0;
    while (pos + NLA_HDRLEN <= size) {
        nlattr attr;
        std::memcpy(&attr, data + pos, sizeof attr);
        if (attr.nla_len < NLA_HDRLEN || pos + attr.nla_len > size)
            return;
        std::uint16_t type = attr.nla_type & NLA_TYPE_MASK;
        if (type < max)
            found_[type] = {data + pos + NLA_HDRLEN, attr.nla_len - std::size_t{NLA_HDRLEN}};
        pos += NLA_ALIGN(attr.nla_len);
    }
}

} // namespace netlink
