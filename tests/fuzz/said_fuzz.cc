// libFuzzer target for SAID text (compat/said.h).  Checks, for any input:
//
// - parse_said and parse_address never crash: they return a value or throw
//   compat::Error with EINVAL and a message;
// - an SA that parses reads back as itself from each of the four satot
//   forms, the decimal one included (ttosa reads a SPI without '.' or ':'
//   in C style, and satot writes no leading zero).  int SAs are the
//   exception by design: a magic name (%hold, ...) carries no address, so
//   it reads back with 0.0.0.0, and an unknown int SPI prints as "%unk-N",
//   which ttosa never accepted;
// - formatting what was read back gives the same text again;
// - a spigrp line of one SA is its SAID, one space and '\n';
// - an address that parses reads back from its KLIPS text.
//
// Build and run: see tests/fuzz/compat.cmake.
#include "compat/error.h"
#include "compat/said.h"
#include "compat/spigrp.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <sys/socket.h>

namespace {

using compat::Said;
using compat::SaidForm;

void check(bool condition, const char* what, std::string_view text) {
    if (condition)
        return;
    std::fprintf(stderr, "said_fuzz: %s: \"%.*s\"\n", what, static_cast<int>(text.size()),
                 text.data());
    std::abort();
}

// An SA, or nothing when the text is refused with a proper error.
template <typename Parse> bool parses(Parse parse, std::string_view text) {
    try {
        parse();
        return true;
    } catch (const compat::Error& error) {
        check(error.code() == EINVAL, "error code is not EINVAL", text);
        check(*error.what() != '\0', "error without a message", text);
        return false;
    }
}

// What `text`, written by satot for `said`, must read back as.
void check_reads_back(const Said& said, const std::string& text) {
    Said back;
    bool ok = parses([&] { back = compat::parse_said(text); }, text);

    if (said.proto != compat::Proto::int_) {
        check(ok && back == said, "formatted SA does not read back", text);
        return;
    }
    bool named = said.spi >= 256 && said.spi <= 261;
    check(ok == named, "int SA name reads back wrongly", text);
    if (named) {
        Said expected{compat::Proto::int_, said.spi, compat::parse_address("0.0.0.0", AF_INET)};
        check(back == expected, "int SA name reads back as another SA", text);
    }
    if (ok)
        check(compat::format_said(back, SaidForm::kernel) ==
                  compat::format_said(said, SaidForm::kernel),
              "read-back SA formats differently", text);
}

void check_said(std::string_view input) {
    Said said;
    if (!parses([&] { said = compat::parse_said(input); }, input))
        return;

    for (SaidForm form :
         {SaidForm::man_page, SaidForm::padded, SaidForm::kernel, SaidForm::decimal}) {
        std::string text = compat::format_said(said, form);
        check_reads_back(said, text);

        // Lines of 1 to 9 SAIDs (past the formatter's buffer of 8): each
        // SAID, a space, then a newline.
        const std::vector<Said> group(1 + input.size() % 9, said);
        std::string line;
        compat::append_spigrp_line(line, group, form);
        std::string expected;
        for (std::size_t i = 0; i < group.size(); ++i)
            expected += text + " ";
        check(line == expected + "\n", "spigrp line is not each SAID and a space, then a newline",
              input);
    }
}

void check_address(std::string_view input) {
    compat::Address address;
    if (!parses([&] { address = compat::parse_address(input, 0); }, input))
        return;

    std::string text = compat::format_address(address);
    compat::Address back;
    bool ok = parses([&] { back = compat::parse_address(text, address.family); }, text);
    check(ok && back == address, "formatted address does not read back", text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    check_said(input);
    check_address(input);
    return 0;
}
