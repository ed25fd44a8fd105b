// The control language: what each line means, and the message every bad
// line gets.
#include "compat/control.h"
#include "compat/error.h"

#include <gtest/gtest.h>

namespace compat {
namespace {

TEST(ControlLanguage, BlankAndCommentLinesAreNothing) {
    for (const char* line : {"", "\n", "   \t ", "# a comment", "   # indented comment\n"})
        EXPECT_FALSE(parse_command(line).has_value()) << line;
}

TEST(ControlLanguage, CommandsInCanonicalForm) {
    struct Case {
        const char* line;
        const char* canonical;
    };
    const Case cases[] = {
        {"group esp.100@192.0.2.1 ah.101@192.0.2.1", "group esp.100@192.0.2.1 ah.101@192.0.2.1"},
        {"group tun0x1001@192.0.2.1 comp.3d0@192.0.2.1\tesp0x100@192.0.2.1 ah257@192.0.2.1\n",
         "group tun.1001@192.0.2.1 comp.3d0@192.0.2.1 esp.100@192.0.2.1 ah.101@192.0.2.1"},
        {"  ungroup esp:9a35fc02@3049:1::1  # dissolve", "ungroup esp:9a35fc02@3049:1::1"},
        {"bind 10.1.0.0/16 10.2.0.0/24 tun.1001@192.0.2.1",
         "bind 10.1.0.0/16 10.2.0.0/24 tun.1001@192.0.2.1"},
        {"bind 10.1.0.7 0.0.0.0/0 esp.100@192.0.2.1",
         "bind 10.1.0.7/32 0.0.0.0/0 esp.100@192.0.2.1"},
        {"unbind 3049:1::/64 3049:2::1\r\n", "unbind 3049:1::/64 3049:2::1/128"},
    };
    for (const Case& c : cases) {
        const auto command = parse_command(c.line);
        ASSERT_TRUE(command.has_value()) << c.line;
        EXPECT_EQ(format_command(*command), c.canonical) << c.line;
        EXPECT_EQ(parse_command(format_command(*command)), command) << c.line;
    }
}

TEST(ControlLanguage, BadLinesNameTheProblem) {
    struct Case {
        const char* line;
        const char* message;
    };
    const Case cases[] = {
        {"link esp.100@192.0.2.1 ah.101@192.0.2.1",
         "unknown command \"link\"; the commands are group, ungroup, bind and unbind"},
        {"GROUP esp.100@192.0.2.1 ah.101@192.0.2.1",
         "unknown command \"GROUP\"; the commands are group, ungroup, bind and unbind"},
        {"group esp.100@192.0.2.1", "group needs 2 to 4 SAIDs, got 1 word"},
        {"group a b c d e", "group needs 2 to 4 SAIDs, got 5 words"},
        {"ungroup", "ungroup needs one SAID, got 0 words"},
        {"bind 10.0.0.0/8 esp.100@192.0.2.1", "bind needs SRC/LEN DST/LEN SAID, got 2 words"},
        {"unbind 10.0.0.0/8", "unbind needs SRC/LEN DST/LEN, got 1 word"},
        {"group esp.100@192.0.2.1 ESP.101@192.0.2.1",
         "bad SAID \"ESP.101@192.0.2.1\": SA specifier lacks valid protocol prefix"},
        {"ungroup esp.100", "bad SAID \"esp.100\": no @ in SA specifier"},
        {"bind 10.0.0.1/24 10.2.0.0/24 esp.100@192.0.2.1",
         "bad subnet \"10.0.0.1/24\": host bits set (the subnet is 10.0.0.0/24)"},
        {"bind 10.0.0.0/33 10.2.0.0/24 esp.100@192.0.2.1",
         "bad subnet \"10.0.0.0/33\": prefix length must be 0 to 32"},
        {"bind 10.0.0.0/ 10.2.0.0/24 esp.100@192.0.2.1",
         "bad subnet \"10.0.0.0/\": prefix length must be 0 to 32"},
        {"unbind 10.0.0.0/8 3049::/16",
         "unbind: 10.0.0.0/8 and 3049::/16 are of different address families"},
    };
    for (const Case& c : cases) {
        try {
            parse_command(c.line);
            ADD_FAILURE() << "accepted: " << c.line;
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()), c.message) << c.line;
            EXPECT_EQ(e.code(), EINVAL) << c.line;
        }
    }
}

} // namespace
} // namespace compat
