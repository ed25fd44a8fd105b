// Building and reading netlink messages for XFRM, over libmnl.
//
// Request: a message under construction in a buffer of its own (wiped when
// it goes, since SA requests could carry keys).  Attributes: the attributes
// of a received message found at the offset its type dictates, with
// copying accessors, because netlink only aligns to 4 bytes and the XFRM
// structs hold 64-bit fields.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <linux/netlink.h>
#include <optional>
#include <string>
#include <vector>

namespace netlink {

class Request {
public:
    Request(std::uint16_t type, std::uint16_t flags);
    ~Request();
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    // The fixed header that follows the nlmsghdr; call at most once, first.
    template <class T> void put_header(const T& header) {
        put_header_bytes(&header, sizeof header);
    }
    void put_attribute(std::uint16_t type, const void* data, std::size_t size);
    template <class T> void put_attribute(std::uint16_t type, const T& value) {
        put_attribute(type, &value, sizeof value);
    }

    std::vector<std::uint8_t>& bytes() { return buffer_; }
    const nlmsghdr* header() const { return reinterpret_cast<const nlmsghdr*>(buffer_.data()); }

private:
    void put_header_bytes(const void* data, std::size_t size);
    std::vector<std::uint8_t> buffer_;
};

// Copies the fixed header of type T from the message payload; nullopt when
// the message is too short for it.
template <class T> std::optional<T> fixed_header(const nlmsghdr* nlh) {
    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(T))
        return std::nullopt;
    T value;
    std::memcpy(&value, NLMSG_DATA(nlh), sizeof value);
    return value;
}

class Attributes {
public:
    // The attributes of `nlh` starting after a fixed header of header_size
    // bytes (aligned).  Unknown and malformed attributes are skipped.
    Attributes(const nlmsghdr* nlh, std::size_t header_size);
    // The attributes nested inside another attribute's payload region.
    Attributes(const void* data, std::size_t size);

    bool has(std::uint16_t type) const { return type < max && found_[type].data; }
    std::size_t size(std::uint16_t type) const { return has(type) ? found_[type].size : 0; }
    const void* data(std::uint16_t type) const { return has(type) ? found_[type].data : nullptr; }

    // A copy of a struct attribute; nullopt if absent or too short.
    template <class T> std::optional<T> get(std::uint16_t type) const {
        if (size(type) < sizeof(T))
            return std::nullopt;
        T value;
        std::memcpy(&value, found_[type].data, sizeof value);
        return value;
    }

    static constexpr std::uint16_t max = 64;

private:
    void scan(const std::uint8_t* data, std::size_t size);

    struct Found {
        const void* data = nullptr;
        std::size_t size = 0;
    };
    std::array<Found, max> found_{};
};

} // namespace netlink
