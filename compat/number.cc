// ttoul and ultot for 32-bit values: see number.h for why 32 bits.
#include "compat/number.h"

#include "compat/error.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <limits>

namespace compat {
namespace {

constexpr std::size_t max_hex_digits = 8; // a 32-bit unsigned long

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::uint32_t parse_hex(std::string_view text) {
    std::uint32_t value = 0;
    for (char c : text) {
        int digit = hex_value(c);
        if (digit < 0)
            throw Error("non-hex digit in hex number");
        value = value << 4 | static_cast<std::uint32_t>(digit);
    }

    // ttoul judges the length only once every digit is known to be good,
    // and counts leading zeros: 000000001 is too long too.
    if (text.size() > max_hex_digits)
        throw Error("hex number too long");
    return value;
}

std::uint32_t parse_digits(std::string_view text, int base) {
    constexpr std::uint32_t max = std::numeric_limits<std::uint32_t>::max();
    const std::uint32_t limit = max / static_cast<std::uint32_t>(base);
    const auto last_digit_limit = static_cast<int>(max - limit * static_cast<std::uint32_t>(base));

    std::uint32_t value = 0;
    for (char c : text) {
        int digit = c - '0';
        if (digit < 0 || digit >= base)
            throw Error("non-digit in number");
        if (value > limit || (value == limit && digit > last_digit_limit))
            throw Error("unsigned-long overflow");
        value = value * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(digit);
    }
    return value;
}

} // namespace

std::uint32_t parse_unsigned(std::string_view text, int base) {
    if (text.empty())
        throw Error("empty string");

    if (base == 0) {
        if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
            return parse_hex(text.substr(2));
        if (text.size() > 1 && text[0] == '0')
            return parse_digits(text.substr(1), 8);
        return parse_digits(text, 10);
    }
    if (base == 16)
        return parse_hex(text);
    if (base == 8 || base == 10)
        return parse_digits(text, base);
    throw Error("unsupported number base");
}

char* write_hex(char* out, std::uint32_t value, int min_digits) {
    int digits =
        std::max((static_cast<int>(std::bit_width(value)) + 3) / 4, std::max(min_digits, 1));
    char* end = out + digits;
    for (char* digit = end; digit != out; value >>= 4)
        *--digit = "0123456789abcdef"[value & 0xf];
    return end;
}

char* write_decimal(char* out, std::uint32_t value) {
    return std::to_chars(out, out + 10, value).ptr;
}

} // namespace compat
