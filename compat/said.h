// SAIDs: the text names of security associations, as KLIPS wrote and read
// them (Openswan's ttosa/satot/addrtot).
//
// Pure code: no I/O, no DNS.  Parsing accepts every form Openswan's ttosa
// accepts with a numeric address; formatting produces every satot form and
// KLIPS's own IPv6 address text.  The rules, with sources, are in
// spec/klips-text.md sections 3.1 to 3.6.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace compat {

// IP protocol numbers of the KLIPS SA kinds.
enum class Proto : std::uint8_t {
    tun = 4,    // IP-in-IP
    esp = 50,
    ah = 51,
    int_ = 61,  // KLIPS "magic" SAs: %pass, %drop, %trap, ...
    comp = 108, // IPComp; its SPI is the CPI
};

// An IPv4 or IPv6 address.  IPv4 uses bytes[0..3]; the rest stay zero.
struct Address {
    int family = 0; // AF_INET or AF_INET6; 0 only in a default-made value
    std::array<std::uint8_t, 16> bytes{};

    auto operator<=>(const Address&) const = default;
};

// An SA's identity: protocol, SPI (host byte order) and destination.
struct Said {
    Proto proto = Proto::esp;
    std::uint32_t spi = 0;
    Address dst;

    auto operator<=>(const Said&) const = default;
};

// The satot formats.  `man_page` is satot's format 0 (`esp.187a101b@1.2.3.4`,
// as ipsec_spigrp(5) shows), `kernel` is 'x' (`esp0x187a101b@1.2.3.4`, as the
// Openswan kernel printed), `padded` is 'f', `decimal` is 'd'.
enum class SaidForm { man_page, padded, kernel, decimal };

// Parses `text` as ttosa does, numeric addresses only.  Throws compat::Error
// (EINVAL) whose message is ttosa's own for the failing rule.  A SPI beyond
// 32 bits is refused as a 32-bit Openswan refused it (compat/number.h).
Said parse_said(std::string_view text);

// Parses a numeric address for `family` (AF_INET, AF_INET6, or 0 to guess
// from the text), with ttoaddr's messages on failure.
Address parse_address(std::string_view text, int family);

// KLIPS's address text: dotted IPv4; IPv6 with the first run of two or more
// zero groups compressed and never in dotted form.
std::string format_address(const Address& address);

// The same, written at `out` (room for max_address_text characters); returns
// the end.  No allocation: the fast path behind append_said.
inline constexpr std::size_t max_address_text = 39; // 8 groups of 4, 7 colons
char* write_address(char* out, const Address& address);

// satot: the SAID text, magic names (%hold, %passthrough4, ...) included.
std::string format_said(const Said& said, SaidForm form = SaidForm::man_page);

// The same, appended to `out` without temporary strings: the fast path used
// when rendering large listings.
void append_said(std::string& out, const Said& said, SaidForm form);

// The same, written at `out` (room for max_said_text characters); returns
// the end.  Lets a caller fill one buffer with many SAIDs.
inline constexpr std::size_t max_said_text = 17 + max_address_text; // "unk2554294967295@"
char* write_said(char* out, const Said& said, SaidForm form);

} // namespace compat
