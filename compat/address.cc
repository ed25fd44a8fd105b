// Numeric IP addresses in text: Openswan's ttoaddr without its DNS
// fallback, and addrtot's format 0, which is KLIPS's own IPv6 text.
//
// ttoaddr tried a text that did not look numeric as a host name.  klipsfs
// never resolves names here (compat is pure; tools/ resolves before it
// calls in), so such a text fails with the message ttoaddr gave when the
// lookup found nothing.
#include "compat/error.h"
#include "compat/number.h"
#include "compat/said.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <sys/socket.h>

namespace compat {
namespace {

constexpr std::size_t ipv6_groups = 8;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_name_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
}

Address ipv4(const std::array<std::uint8_t, 4>& bytes) {
    Address address{AF_INET, {}};
    std::copy(bytes.begin(), bytes.end(), address.bytes.begin());
    return address;
}

// The failure of a host-name lookup, without the lookup.  ttoaddr checked
// the characters first; non-ASCII bytes it let through (for UTF-8 names).
[[noreturn]] void fail_as_name(std::string_view text) {
    for (char c : text) {
        bool ascii = (static_cast<unsigned char>(c) & 0x80) == 0;
        if (ascii && !is_name_char(c))
            throw Error("illegal (non-DNS-name) character in name");
    }
    throw Error("does not look numeric and name lookup failed");
}

// `0x01020304` (network order) or `0h…` (host order, as ttoaddr read it
// on the host it ran on).  `digits` are the 8 after the 2-letter prefix.
Address read_hex_ipv4(std::string_view digits, bool host_order) {
    std::uint32_t value = parse_unsigned(digits, 16);
    std::array<std::uint8_t, 4> bytes{};
    if (host_order) {
        std::memcpy(bytes.data(), &value, bytes.size());
    } else {
        for (int i = 3; i >= 0; --i, value >>= 8)
            bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value);
    }
    return ipv4(bytes);
}

// Why dotted decimal failed.  A failure that does not `look_numeric` means
// "not dotted decimal at all": ttoaddr then tried the text as a name.
struct DottedFailure {
    const char* message = nullptr; // nullptr: no failure
    bool looks_numeric = true;
};

DottedFailure read_byte(std::string_view text, std::size_t& pos, std::uint8_t& byte) {
    // Stops after the first digit that passes 255, as ttoaddr's getbyte.
    int value = 0;
    std::size_t end = pos;
    while (end < text.size() && value <= 255 && is_digit(text[end]))
        value = value * 10 + (text[end++] - '0');
    if (end == pos)
        return {"non-numeric component in dotted-decimal address", false};

    pos = end;
    if (value > 255)
        return {"byte overflow in dotted-decimal address"};
    byte = static_cast<std::uint8_t>(value);
    return {};
}

// Dotted decimal, short forms included: `1.2.3` is 1.2.3.0, `10` is
// 10.0.0.0, and (a ttoaddr quirk kept) `1.2.3.` is 1.2.3.0.
DottedFailure read_dotted(std::string_view text, Address& address) {
    std::array<std::uint8_t, 4> bytes{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < bytes.size() && pos < text.size(); ++i) {
        DottedFailure failure = read_byte(text, pos, bytes[i]);
        if (failure.message != nullptr) {
            // Two good bytes make it dotted decimal, whatever follows.
            failure.looks_numeric = failure.looks_numeric || i > 1;
            return failure;
        }
        if (i < 3 && pos < text.size() && text[pos++] != '.')
            return {"syntax error in dotted-decimal address", i != 0};
    }
    if (pos != text.size())
        return {"extra garbage on end of dotted-decimal address"};

    address = ipv4(bytes);
    return {};
}

// One group of an IPv6 address at `pos`, or nothing for an empty field.
std::optional<std::uint16_t> read_group(std::string_view text, std::size_t& pos) {
    if (pos >= text.size() || text[pos] == ':')
        return std::nullopt;

    std::size_t end = pos;
    while (end < text.size() && end - pos < 4 && is_hex(text[end]))
        ++end;
    if (end == pos)
        throw Error("non-hex field in IPv6 numeric address");
    if (end < text.size() && end - pos == 4 && is_hex(text[end]))
        throw Error("field in IPv6 numeric address longer than 4 hex digits");

    auto group = static_cast<std::uint16_t>(parse_unsigned(text.substr(pos, end - pos), 16));
    pos = end;
    return group;
}

// Moves the groups read after a `::` at `gap` to the end, zeros between.
void widen_gap(std::array<std::uint16_t, ipv6_groups>& groups, std::size_t gap, std::size_t read) {
    std::size_t after_gap = read - (gap + 1);
    std::copy_backward(groups.begin() + static_cast<std::ptrdiff_t>(gap + 1),
                       groups.begin() + static_cast<std::ptrdiff_t>(read), groups.end());
    std::fill(groups.begin() + static_cast<std::ptrdiff_t>(gap),
              groups.end() - static_cast<std::ptrdiff_t>(after_gap), 0);
}

// ttoaddr's IPv6 syntax: hex groups, one `::`, no dotted IPv4 tail, no
// brackets.  A leading or trailing `::` counts as one empty field.
Address read_ipv6(std::string_view text) {
    std::size_t pos = 0;
    if (text[0] == ':') {
        if (text.size() == 1 || text[1] != ':')
            throw Error("illegal leading `:' in IPv6 numeric address");
        if (text.size() == 2)
            return Address{AF_INET6, {}};
        pos = 1;
    }
    if (text.back() == ':' && text[text.size() - 2] != ':')
        throw Error("illegal trailing `:' in IPv6 numeric address");

    std::array<std::uint16_t, ipv6_groups> groups{};
    std::optional<std::size_t> gap;
    std::size_t i = 0;
    for (; i < ipv6_groups && pos < text.size(); ++i) {
        std::optional<std::uint16_t> group = read_group(text, pos);
        if (!group && gap)
            throw Error("more than one :: in IPv6 numeric address");
        if (!group)
            gap = i;
        groups[i] = group.value_or(0);

        if (i < ipv6_groups - 1) {
            if (pos == text.size() && !gap)
                throw Error("IPv6 numeric address ends prematurely");
            if (pos != text.size() && text[pos++] != ':')
                throw Error("syntax error in IPv6 numeric address");
        }
    }
    if (pos != text.size())
        throw Error("extra garbage on end of IPv6 numeric address");
    if (gap && i == ipv6_groups)
        throw Error("non-abbreviating empty field in IPv6 numeric address");
    if (gap)
        widen_gap(groups, *gap, i);

    Address address{AF_INET6, {}};
    for (std::size_t g = 0; g < ipv6_groups; ++g) {
        address.bytes[2 * g] = static_cast<std::uint8_t>(groups[g] >> 8);
        address.bytes[2 * g + 1] = static_cast<std::uint8_t>(groups[g]);
    }
    return address;
}

// The decimal text of each byte value, its length in the last character:
// IPv4 text is most of a listing, so it is written by table.
constexpr std::array<std::array<char, 4>, 256> make_byte_texts() {
    std::array<std::array<char, 4>, 256> texts{};
    for (int value = 0; value < 256; ++value) {
        std::array<char, 4>& text = texts[static_cast<std::size_t>(value)];
        char length = 0;
        if (value >= 100)
            text[static_cast<std::size_t>(length++)] = static_cast<char>('0' + value / 100);
        if (value >= 10)
            text[static_cast<std::size_t>(length++)] = static_cast<char>('0' + value / 10 % 10);
        text[static_cast<std::size_t>(length++)] = static_cast<char>('0' + value % 10);
        text[3] = length;
    }
    return texts;
}

constexpr std::array<std::array<char, 4>, 256> byte_texts = make_byte_texts();

// Copies 4 characters per byte whatever its length: the caller's room for
// max_address_text characters leaves more than enough for that.
char* write_ipv4(char* out, const Address& address) {
    for (std::size_t i = 0; i < 4; ++i) {
        const std::array<char, 4>& text = byte_texts[address.bytes[i]];
        std::memcpy(out, text.data(), 4);
        out += text[3];
        *out++ = '.';
    }
    return out - 1;
}

char* write_groups(char* out, const std::array<std::uint16_t, ipv6_groups>& groups,
                   std::size_t begin, std::size_t end) {
    for (std::size_t g = begin; g < end; ++g) {
        if (g != begin)
            *out++ = ':';
        out = write_hex(out, groups[g]);
    }
    return out;
}

// addrtot compresses the *first* run of two or more zero groups, which is
// not always the longest that RFC 5952 and inet_ntop pick, and never
// writes a dotted IPv4 tail.
char* write_ipv6(char* out, const Address& address) {
    std::array<std::uint16_t, ipv6_groups> groups{};
    for (std::size_t g = 0; g < ipv6_groups; ++g)
        groups[g] =
            static_cast<std::uint16_t>(address.bytes[2 * g] << 8 | address.bytes[2 * g + 1]);

    std::size_t run = 0;
    while (run + 1 < ipv6_groups && !(groups[run] == 0 && groups[run + 1] == 0))
        ++run;
    if (run + 1 == ipv6_groups)
        return write_groups(out, groups, 0, ipv6_groups);

    std::size_t run_end = run + 2;
    while (run_end < ipv6_groups && groups[run_end] == 0)
        ++run_end;
    out = write_groups(out, groups, 0, run);
    *out++ = ':';
    *out++ = ':';
    return write_groups(out, groups, run_end, ipv6_groups);
}

} // namespace

Address parse_address(std::string_view text, int family) {
    if (text.empty())
        throw Error("empty string");
    if (family != 0 && family != AF_INET && family != AF_INET6)
        throw Error("invalid address family");

    if (family == AF_INET && text.size() == 10 && text[0] == '0') {
        if (text[1] == 'x' || text[1] == 'X')
            return read_hex_ipv4(text.substr(2), false);
        if (text[1] == 'h' || text[1] == 'H')
            return read_hex_ipv4(text.substr(2), true);
    }

    if (text.find(':') != std::string_view::npos) {
        if (family == AF_INET)
            throw Error("non-ipv6 address may not contain `:'");
        return read_ipv6(text);
    }

    if (family != AF_INET6) {
        Address address;
        DottedFailure failure = read_dotted(text, address);
        if (failure.message == nullptr)
            return address;
        if (failure.looks_numeric)
            throw Error(failure.message);
    }
    fail_as_name(text);
}

char* write_address(char* out, const Address& address) {
    if (address.family == AF_INET)
        return write_ipv4(out, address);
    if (address.family == AF_INET6)
        return write_ipv6(out, address);
    return std::copy_n("<invalid>", 9, out);
}

std::string format_address(const Address& address) {
    char text[max_address_text];
    return std::string(text, write_address(text, address));
}

} // namespace compat
