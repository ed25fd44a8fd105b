// Unsigned numbers in text, both ways, as Openswan's ttoul read them and
// ultot wrote them.  Shared by the SAID and address code of compat; no I/O.
//
// ttoul checks against `unsigned long`.  klipsfs reads as a 32-bit host
// did, because an SPI is 32 bits: more than 8 hex digits is "hex number too
// long" (leading zeros count), a decimal or octal value past 2^32-1 is
// "unsigned-long overflow".  A 64-bit Openswan accepted such values and
// silently cut them to 32 bits, naming another SA than the one written.
#pragma once

#include <cstdint>
#include <string_view>

namespace compat {

// Reads all of `text` in `base` 8, 10 or 16, or in C style for base 0
// (`0x` hex, a leading `0` octal, else decimal).  Throws compat::Error
// (EINVAL) with ttoul's message.
std::uint32_t parse_unsigned(std::string_view text, int base);

// Writes `value` as lowercase hex, zero-padded to `min_digits`, and returns
// the end.  `out` needs room for 8 characters.
char* write_hex(char* out, std::uint32_t value, int min_digits = 1);

// Writes `value` in decimal and returns the end.  `out` needs room for 10.
char* write_decimal(char* out, std::uint32_t value);

} // namespace compat
