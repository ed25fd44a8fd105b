// Helpers shared by the SAID, address and spigrp tests: literal addresses
// and SAs that do not go through the code under test, readable printing,
// and the message of a failed parse.
#pragma once

#include "compat/error.h"
#include "compat/said.h"

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <sys/socket.h>

namespace compat {

inline Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return Address{AF_INET, {a, b, c, d}};
}

inline Address v6(std::array<std::uint16_t, 8> groups) {
    Address address{AF_INET6, {}};
    for (std::size_t i = 0; i < groups.size(); ++i) {
        address.bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
        address.bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i]);
    }
    return address;
}

// Raw fields, so that a failure never depends on the formatter under test.
inline void PrintTo(const Address& address, std::ostream* os) {
    *os << "family " << address.family << " bytes";
    for (std::uint8_t byte : address.bytes)
        *os << ' ' << int(byte);
}

inline void PrintTo(const Said& said, std::ostream* os) {
    *os << "proto " << int(said.proto) << " spi 0x" << std::hex << said.spi << std::dec << ' ';
    PrintTo(said.dst, os);
}

// The message of the compat::Error that `parse` throws, after checking its
// code is EINVAL; "(no error)" when it throws none.
template <typename Parse> std::string error_of(Parse parse) {
    try {
        parse();
    } catch (const Error& error) {
        if (error.code() != EINVAL)
            return "(code " + std::to_string(error.code()) + ") " + error.what();
        return error.what();
    }
    return "(no error)";
}

} // namespace compat
