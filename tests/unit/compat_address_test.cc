// Addresses as ttoaddr read them (numeric only) and as addrtot wrote them:
// KLIPS's IPv6 text compresses the first run of zero groups, not the
// longest, and never writes a dotted IPv4 tail (spec/klips-text.md §3.4).
#include "compat/said.h"
#include "tests/unit/compat_said_testing.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace compat {
namespace {

TEST(FormatAddress, WritesIpv4DottedWithoutLeadingZeros) {
    EXPECT_EQ(format_address(v4(192, 168, 2, 110)), "192.168.2.110");
    EXPECT_EQ(format_address(v4(0, 0, 0, 0)), "0.0.0.0");
    EXPECT_EQ(format_address(v4(255, 255, 255, 255)), "255.255.255.255");
    EXPECT_EQ(format_address(v4(10, 0, 9, 1)), "10.0.9.1");
}

TEST(FormatAddress, CompressesTheFirstRunOfZeroGroupsNotTheLongest) {
    const std::vector<std::pair<std::array<std::uint16_t, 8>, std::string>> cases{
        {{0x2001, 0xdb8, 0, 0, 1, 0, 0, 0}, "2001:db8::1:0:0:0"},
        {{1, 0, 0, 2, 0, 0, 0, 3}, "1::2:0:0:0:3"},
        {{0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201}, "::ffff:c000:201"},
        {{0, 0, 0, 0, 0, 0, 0, 0}, "::"},
        {{0, 0, 0, 0, 0, 0, 0, 1}, "::1"},
        {{0xfe80, 0, 0, 0, 0, 0, 0, 0}, "fe80::"},
        {{0x3049, 1, 0, 0, 0, 0, 0, 1}, "3049:1::1"},
        {{0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa}, "2001:db8::a"},
        {{0, 0, 1, 0, 0, 0, 0, 0}, "::1:0:0:0:0:0"},
        {{1, 0, 2, 0, 3, 0, 4, 0}, "1:0:2:0:3:0:4:0"},
        {{1, 2, 3, 4, 5, 6, 0, 0}, "1:2:3:4:5:6::"},
        {{0xffff, 0xabcd, 0x10, 0x100, 0x1000, 1, 2, 3}, "ffff:abcd:10:100:1000:1:2:3"},
    };
    for (const auto& [groups, text] : cases) {
        SCOPED_TRACE(text);
        EXPECT_EQ(format_address(v6(groups)), text);
    }
}

TEST(FormatAddress, WritesInvalidForAnAddressWithoutFamily) {
    EXPECT_EQ(format_address(Address{}), "<invalid>");
}

TEST(WriteAddress, WritesTheTextAndReturnsItsEnd) {
    char text[max_address_text + 1] = "";
    char* end = write_address(text, v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa}));
    EXPECT_EQ(std::string(text, end), "2001:db8::a");

    const Address longest = v6({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff});
    EXPECT_EQ(write_address(text, longest) - text, static_cast<std::ptrdiff_t>(max_address_text));
}

TEST(ParseAddress, GuessesTheFamilyFromAColonWhenAskedTo) {
    EXPECT_EQ(parse_address("1.2.3.4", 0), v4(1, 2, 3, 4));
    EXPECT_EQ(parse_address("2001:DB8::A", 0), v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa}));
    EXPECT_EQ(parse_address("1:2:3:4:5:6:7:8", 0), v6({1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(parse_address("1::", AF_INET6), v6({1, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(parse_address("1:2:3::", AF_INET6), v6({1, 2, 3, 0, 0, 0, 0, 0}));
    EXPECT_EQ(parse_address("::2:3", AF_INET6), v6({0, 0, 0, 0, 0, 0, 2, 3}));
    EXPECT_EQ(parse_address("1:2:3:4:5:6:0:8", AF_INET6), v6({1, 2, 3, 4, 5, 6, 0, 8}));
}

TEST(ParseAddress, ReadsHexIpv4OnlyWhenTheFamilyIsIpv4) {
    EXPECT_EQ(parse_address("0x01020304", AF_INET), v4(1, 2, 3, 4));
    EXPECT_EQ(error_of([] { parse_address("0x01020304", 0); }),
              "does not look numeric and name lookup failed");
}

TEST(ParseAddress, RejectsWhatTtoaddrRejected) {
    EXPECT_EQ(error_of([] { parse_address("", 0); }), "empty string");
    EXPECT_EQ(error_of([] { parse_address("1.2.3.4", 99); }), "invalid address family");
    EXPECT_EQ(error_of([] { parse_address("1.2.3.4", AF_INET6); }),
              "does not look numeric and name lookup failed");
    EXPECT_EQ(error_of([] { parse_address("::1", AF_INET); }),
              "non-ipv6 address may not contain `:'");
    EXPECT_EQ(error_of([] { parse_address("1.2.3.4444", 0); }),
              "byte overflow in dotted-decimal address");
}

// ttoaddr wants a `::` to stand for two or more zero groups, which is also
// all that format_address ever compresses.
TEST(ParseAddress, RejectsADoubleColonForASingleZeroGroup) {
    EXPECT_EQ(error_of([] { parse_address("1:2:3:4:5:6::8", AF_INET6); }),
              "non-abbreviating empty field in IPv6 numeric address");
    EXPECT_EQ(error_of([] { parse_address("1::3:4:5:6:7:8", 0); }),
              "non-abbreviating empty field in IPv6 numeric address");
}

// Whatever format_address writes, parse_address reads back unchanged.
TEST(AddressRoundTrip, FormattedAddressesReadBack) {
    const std::vector<Address> addresses{
        v4(0, 0, 0, 0),
        v4(1, 2, 3, 4),
        v4(255, 255, 255, 255),
        v6({}),
        v6({0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201}),
        v6({1, 0, 0, 2, 0, 0, 0, 3}),
        v6({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}),
    };
    for (const Address& address : addresses) {
        std::string text = format_address(address);
        SCOPED_TRACE(text);
        EXPECT_EQ(parse_address(text, address.family), address);
        EXPECT_EQ(parse_address(text, 0), address);
    }
}

} // namespace
} // namespace compat
