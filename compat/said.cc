// SAIDs in text: Openswan's ttosa (parse_said) and satot (format_said),
// numeric addresses only.  The rules, with their sources, are in
// spec/klips-text.md sections 3.1 to 3.6.
#include "compat/said.h"

#include "compat/error.h"
#include "compat/number.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <sys/socket.h>

namespace compat {
namespace {

constexpr std::size_t min_said_length = 5; // "ah0@0" is as short as it gets

struct ProtoName {
    std::string_view text;
    Proto proto;
};

// In ttosa's order of matching; matched as prefixes, case-sensitively.
constexpr std::array<ProtoName, 5> proto_names{{
    {"ah", Proto::ah},
    {"esp", Proto::esp},
    {"tun", Proto::tun},
    {"comp", Proto::comp},
    {"int", Proto::int_},
}};

struct IntName {
    std::string_view name;
    std::uint32_t spi;
};

// KLIPS's magic SAs of protocol int: the names satot gave them, which
// ttosa read back as SAs to 0.0.0.0.
constexpr std::array<IntName, 6> int_names{{
    {"%pass", 256},
    {"%drop", 257},
    {"%reject", 258},
    {"%hold", 259},
    {"%trap", 260},
    {"%trapsubnet", 261},
}};

// The SA a % name stands for.  (ttosa expanded the name to text such as
// "int259@0.0.0.0" and parsed that; the result is the same.)
Said parse_magic_name(std::string_view text) {
    const Address any4{AF_INET, {}};
    if (text == "%passthrough" || text == "%passthrough4")
        return {Proto::tun, 0, any4};
    if (text == "%passthrough6")
        return {Proto::tun, 0, Address{AF_INET6, {}}};
    for (const IntName& name : int_names)
        if (text == name.name)
            return {Proto::int_, name.spi, any4};
    throw Error("unknown % keyword");
}

const ProtoName& match_proto(std::string_view text) {
    for (const ProtoName& name : proto_names)
        if (name.text.size() < text.size() && text.starts_with(name.text))
            return name;
    throw Error("SA specifier lacks valid protocol prefix");
}

// The general form, <proto>[.:]<spi>@<address>.
Said parse_general(std::string_view text) {
    std::size_t at = text.find('@');
    if (at == std::string_view::npos)
        throw Error("no @ in SA specifier");

    Said said;
    const ProtoName& proto = match_proto(text);
    said.proto = proto.proto;
    std::size_t spi = proto.text.size();
    if (spi >= at)
        throw Error("no SPI in SA specifier");

    // '.' or ':' name the family and make the SPI hex; without them the SPI
    // is C-style and the family is guessed from the address.
    int family = text[spi] == '.' ? AF_INET : text[spi] == ':' ? AF_INET6 : 0;
    int base = family == 0 ? 0 : 16;
    if (family != 0)
        ++spi;
    if (spi >= at)
        throw Error("no SPI found in SA specifier");
    said.spi = parse_unsigned(text.substr(spi, at - spi), base);

    std::string_view address = text.substr(at + 1);
    if (family == 0)
        family = address.find(':') != std::string_view::npos ? AF_INET6 : AF_INET;
    said.dst = parse_address(address, family);
    return said;
}

bool is_passthrough(const Said& said) {
    if (said.proto != Proto::tun || said.spi != 0)
        return false;
    bool known_family = said.dst.family == AF_INET || said.dst.family == AF_INET6;
    return known_family && std::all_of(said.dst.bytes.begin(), said.dst.bytes.end(),
                                       [](std::uint8_t byte) { return byte == 0; });
}

char* write_text(char* out, std::string_view text) {
    return std::copy(text.begin(), text.end(), out);
}

// satot printed an unknown int SPI with "%%unk-%d" into 10 bytes: as a
// signed number, cut to 9 characters.  Kept exactly: `%unk-12345` comes
// out as `%unk-1234`, SPI 0xffffffff as `%unk--1`.
char* write_int_name(char* out, std::uint32_t spi) {
    for (const IntName& name : int_names)
        if (name.spi == spi)
            return write_text(out, name.name);

    char text[16] = "%unk-";
    char* end = std::to_chars(text + 5, text + sizeof text, static_cast<std::int32_t>(spi)).ptr;
    return write_text(out, std::string_view(text, std::min<std::size_t>(end - text, 9)));
}

char* write_proto(char* out, Proto proto) {
    for (const ProtoName& name : proto_names)
        if (name.proto == proto)
            return write_text(out, name.text);
    out = write_text(out, "unk");
    return write_decimal(out, static_cast<std::uint8_t>(proto));
}

char* write_spi(char* out, std::uint32_t spi, SaidForm form) {
    switch (form) {
    case SaidForm::man_page:
        return write_hex(out, spi);
    case SaidForm::padded:
        return write_hex(out, spi, 8);
    case SaidForm::kernel:
        return write_hex(write_text(out, "0x"), spi);
    case SaidForm::decimal:
        return write_decimal(out, spi);
    }
    return out;
}

} // namespace

Said parse_said(std::string_view text) {
    if (text.empty())
        throw Error("empty string");
    // ttosa checks the length before it expands % names: "%foo" is too
    // short, "%fooo" an unknown keyword.
    if (text.size() < min_said_length)
        throw Error("string too short to be SA identifier");
    if (text.front() == '%')
        return parse_magic_name(text);
    return parse_general(text);
}

char* write_said(char* out, const Said& said, SaidForm form) {
    if (is_passthrough(said))
        return write_text(out, said.dst.family == AF_INET ? "%passthrough4" : "%passthrough6");
    if (said.proto == Proto::int_)
        return write_int_name(out, said.spi);

    out = write_proto(out, said.proto);
    if (form == SaidForm::man_page || form == SaidForm::padded)
        *out++ = said.dst.family == AF_INET ? '.' : ':';
    out = write_spi(out, said.spi, form);
    *out++ = '@';
    return write_address(out, said.dst);
}

void append_said(std::string& out, const Said& said, SaidForm form) {
    char text[max_said_text];
    out.append(text, write_said(text, said, form));
}

std::string format_said(const Said& said, SaidForm form) {
    char text[max_said_text];
    return std::string(text, write_said(text, said, form));
}

} // namespace compat
