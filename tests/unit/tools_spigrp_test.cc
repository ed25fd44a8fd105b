// ipsec spigrp's argument processing: every message and exit status of
// klips-text.md section 5, exactly, with host names from a fake resolver.
#include "compat/error.h"
#include "klipsfs_version.h"
#include "tools/spigrp_args.h"

#include <cerrno>
#include <gtest/gtest.h>
#include <sys/socket.h>

namespace tools {
namespace {

const std::string P = "/usr/libexec/ipsec/spigrp";

std::optional<compat::Address> fake_lookup(const std::string& name, int family) {
    if (name == "gw2" && family == AF_INET)
        return compat::parse_address("192.0.2.2", AF_INET);
    if (name == "gw6" && family == AF_INET6)
        return compat::parse_address("3049:1::2", AF_INET6);
    return std::nullopt;
}

SpigrpPlan plan(std::vector<std::string> args) {
    args.insert(args.begin(), P);
    return plan_spigrp(args, fake_lookup);
}

std::string saids(const SpigrpPlan& p) {
    std::string text;
    for (const compat::Said& said : p.sas)
        text += compat::format_said(said) + " ";
    return text;
}

TEST(SpigrpArgs, UsageIsKlipsText) {
    EXPECT_EQ(usage_text("spigrp"),
              "usage: Note: position of options and arguments is important!\n"
              "usage: spigrp [ --debug ] [ --label <label> ] af1 dst1 spi1 proto1 [ af2 dst2 "
              "spi2 proto2 [ af3 dst3 spi3 proto3 [ af4 dst4 spi4 proto4 ] ] ]\n"
              "usage: spigrp [ --debug ] [ --label <label> ] --said <SA1> [ <SA2> [ <SA3> "
              "[ <SA4> ] ] ]\n"
              "usage: spigrp --help\n"
              "usage: spigrp --version\n"
              "usage: spigrp\n"
              "        [ --debug ] is optional to any spigrp command.\n"
              "        [ --label <label> ] is optional to any spigrp command.\n");
}

TEST(SpigrpArgs, NoArgumentsLists) {
    for (auto args : {std::vector<std::string>{}, {"--label", "x"}, {"--debug"}}) {
        const SpigrpPlan p = plan(args);
        EXPECT_EQ(p.action, SpigrpAction::list);
        EXPECT_EQ(p.err, "");
    }
}

TEST(SpigrpArgs, HelpAndVersionExitOne) {
    SpigrpPlan p = plan({"--help"});
    EXPECT_EQ(p.action, SpigrpAction::exit);
    EXPECT_EQ(p.status, 1);
    EXPECT_EQ(p.out, usage_text(P));
    EXPECT_EQ(p.err, "");

    p = plan({"--label", "west", "--version"});
    EXPECT_EQ(p.status, 1);
    EXPECT_EQ(p.out, "");
    EXPECT_EQ(p.err, P + " --label west, klipsfs " KLIPSFS_VERSION "\n");
}

struct Refusal {
    std::vector<std::string> args;
    std::string err;
    bool usage;
};

TEST(SpigrpArgs, EveryRefusalHasKlipsWordsAndExitsOne) {
    const Refusal cases[] = {
        {{"--label"}, P + ": --label option requires an argument.\n", false},
        {{"--said"}, "expecting 3 or more args with --said, got 2.\n", true},
        {{"--said", "a", "b", "c", "d", "e"},
         "expecting 3 to 6 args with --said (at most 4 SAs), got 7.\n",
         true},
        {{"--foo"}, "expecting 5 or more args without --said, got 2.\n", true},
        {{"inet", "1.2.3.4", "0x100"}, "expecting 5 or more args without --said, got 4.\n", true},
        {{"inet", "1.2.3.4", "0x100", "esp", "inet"},
         "expecting 5 or more args without --said, got 6.\n",
         true},
        {{"--said", "esp.100"},
         P + ": Error, no @ in SA specifier converting --sa argument:esp.100\n",
         false},
        {{"--said", "esp.100@1.2.3.4", "ESP.101@1.2.3.4"},
         P + ": Error, SA specifier lacks valid protocol prefix converting --sa "
             "argument:ESP.101@1.2.3.4\n",
         false},
        {{"--said", "esp.100@nosuchhost"},
         P + ": Error, does not look numeric and name lookup failed converting --sa "
             "argument:esp.100@nosuchhost\n",
         false},
        // ttosa's order: the protocol is wrong before the name is looked up.
        {{"--said", "bad.100@nosuchhost"},
         P + ": Error, SA specifier lacks valid protocol prefix converting --sa "
             "argument:bad.100@nosuchhost\n",
         false},
        {{"--said", "esp.100@bad!name"},
         P + ": Error, illegal (non-DNS-name) character in name converting --sa "
             "argument:esp.100@bad!name\n",
         false},
        // Positional: proto, then spi, then af, then address (Openswan 2.6.24).
        {{"ipx", "1.2.3.4", "zz", "ESP"}, P + ": Badly formed proto: ESP\n", false},
        {{"ipx", "1.2.3.4", "0x1g", "esp"}, P + ": Badly formed spi: 0x1g\n", false},
        {{"ipx", "1.2.3.4", "08", "esp"}, P + ": Badly formed spi: 08\n", false},
        {{"ipx", "1.2.3.4", "0x100", "esp"}, P + ": Address family ipx not supported\n", false},
        {{"inet", "1.2.3.4", "1", "esp", "inet", "1.2.3.400", "2", "ah"},
         P + ": Error, byte overflow in dotted-decimal address converting 1th address "
             "argument:1.2.3.400\n",
         false},
        {{"inet", "::1", "0x100", "esp"},
         P + ": Error, non-ipv6 address may not contain `:' converting 0th address "
             "argument:::1\n",
         false},
        {{"inet", "gw9", "0x100", "esp"},
         P + ": Error, does not look numeric and name lookup failed converting 0th address "
             "argument:gw9\n",
         false},
        {{"inet6", "gw2", "0x100", "esp"},
         P + ": Error, does not look numeric and name lookup failed converting 0th address "
             "argument:gw2\n",
         false},
    };
    for (const Refusal& c : cases) {
        const SpigrpPlan p = plan(c.args);
        EXPECT_EQ(p.action, SpigrpAction::exit) << c.err;
        EXPECT_EQ(p.status, 1) << c.err;
        EXPECT_EQ(p.err, c.err);
        EXPECT_EQ(p.out, c.usage ? usage_text(P) : "") << c.err;
    }
}

TEST(SpigrpArgs, LabelRebindsTheProgramNameOfLaterMessages) {
    const SpigrpPlan p = plan({"--label", "west", "inet", "1.2.3.4", "1", "gre"});
    EXPECT_EQ(p.err, P + " --label west: Badly formed proto: gre\n");
    const SpigrpPlan q = plan({"--label", "west", "--said"});
    EXPECT_EQ(q.out, usage_text(P + " --label west"));
    // --debug counts only as the first argument.
    const SpigrpPlan r = plan({"--label", "west", "--debug"});
    EXPECT_EQ(r.err, "expecting 5 or more args without --said, got 2.\n");
    EXPECT_EQ(r.out, usage_text(P + " --label west"));
    EXPECT_EQ(r.status, 1);
}

TEST(SpigrpArgs, SasInEveryForm) {
    struct Case {
        std::vector<std::string> args;
        std::string sas;
    };
    const Case cases[] = {
        {{"inet", "192.0.2.1", "0x113", "tun"}, "tun.113@192.0.2.1 "},
        {{"inet", "gw2", "0x113", "tun", "inet", "gw2", "0x115", "esp", "inet", "gw2", "0x116",
          "ah"},
         "tun.113@192.0.2.2 esp.115@192.0.2.2 ah.116@192.0.2.2 "},
        {{"inet6", "3049:1::1", "0x233", "tun", "inet6", "gw6", "563", "esp"},
         "tun:233@3049:1::1 esp:233@3049:1::2 "},
        // strtoul's leniency: octal, a sign, an empty string (SPI 0).
        {{"inet", "1.2.3.4", "010", "comp", "inet", "1.2.3.4", "", "esp"},
         "comp.8@1.2.3.4 esp.0@1.2.3.4 "},
        {{"inet", "1.2.3.4", "-1", "esp"}, "esp.ffffffff@1.2.3.4 "},
        {{"--said", "tun.113@gw2", "esp0x115@192.0.2.2", "ah278@192.0.2.2", "comp:3d0@gw6"},
         "tun.113@192.0.2.2 esp.115@192.0.2.2 ah.116@192.0.2.2 comp:3d0@3049:1::2 "},
        {{"--said", "tun:233@3049:1::1"}, "tun:233@3049:1::1 "},
        {{"--said", "esp0x1@gw6"}, "esp:1@3049:1::2 "},
    };
    for (const Case& c : cases) {
        const SpigrpPlan p = plan(c.args);
        EXPECT_EQ(p.err, "") << c.sas;
        EXPECT_EQ(p.action, SpigrpAction::send) << c.sas;
        EXPECT_EQ(saids(p), c.sas);
    }
}

TEST(SpigrpArgs, OneSaUngroupsSeveralGroup) {
    EXPECT_EQ(control_line(plan({"--said", "esp0x115@192.0.2.2"}).sas),
              "ungroup esp.115@192.0.2.2\n");
    EXPECT_EQ(control_line(plan({"--said", "tun.113@gw2", "esp0x115@192.0.2.2"}).sas),
              "group tun.113@192.0.2.2 esp.115@192.0.2.2\n");
}

TEST(SpigrpArgs, DebugTraceInKlipsOrder) {
    const SpigrpPlan p = plan({"--debug", "--label", "w", "--said", "esp0x12345678@gw2"});
    EXPECT_EQ(p.out, "\"--debug\" option requested.\n"
                     "argc=5 (6 incl. --debug option).\n"
                     "using \"" +
                         P +
                         " --label w\" as a label.\n"
                         "...After check for --label option.\n"
                         "...After check for no option to print /proc/net/ipsec_spigrp.\n"
                         "...After check for --help option.\n"
                         "...After check for --version option.\n"
                         "processing 3 args with --said flag.\n"
                         "...After check for --said option.\n"
                         "processing 1 nspis.\n"
                         "processing spi #0.\n"
                         "said[0].dst=192.0.2.2.\n"
                         "SA 1 contains: \n"
                         "proto = 50\n"
                         "spi = 78563412\n" // KLIPS printed the network-order word
                         "edst = 192.0.2.2\n");
    const SpigrpPlan help = plan({"--debug", "--help"});
    EXPECT_EQ(help.out, "\"--debug\" option requested.\n"
                        "argc=2 (3 incl. --debug option).\n"
                        "...After check for --label option.\n"
                        "...After check for no option to print /proc/net/ipsec_spigrp.\n"
                        "\"--help\" option requested.\n" +
                            usage_text(P));
}

TEST(SpigrpArgs, ControlNodeFailuresInKlipsWordsThenKlipsfsReason) {
    EXPECT_EQ(write_failure_text("spigrp", -1, ENOENT, "esp.1@1.2.3.4: no such SA\n", true),
              "spigrp: klipsfs control write failed, returning -1 with errno=2.\n"
              "device does not exist.  See FreeS/WAN installation procedure.\n"
              "spigrp: esp.1@1.2.3.4: no such SA\n");
    EXPECT_EQ(write_failure_text("spigrp", -1, EEXIST, "x already has y outside it", true),
              "spigrp: klipsfs control write failed, returning -1 with errno=17.\n"
              "SA already in use.  Delete old one first.\n"
              "spigrp: x already has y outside it\n");
    EXPECT_EQ(write_failure_text("spigrp", -1, EINVAL, "", true),
              "spigrp: klipsfs control write failed, returning -1 with errno=22.\n"
              "Invalid argument, check kernel log messages for specifics.\n");
    EXPECT_EQ(write_failure_text("spigrp", -1, EPERM, "", false),
              "spigrp: klipsfs control write failed, returning -1 with errno=1.\n"
              "access denied.  You must be root to open this file.\n");
    EXPECT_EQ(write_failure_text("spigrp", -1, EBUSY, std::string("busy\0\0", 6), true),
              "spigrp: klipsfs control write failed, returning -1 with errno=16.\n"
              "Device or resource busy.\n"
              "spigrp: busy\n");
    // A short write (klipsfs gives one only when earlier lines of the same
    // write ran, and spigrp sends one line): EIO stands in for the errno.
    EXPECT_EQ(write_failure_text("spigrp", 12, EIO, "", true),
              "spigrp: klipsfs control write failed, returning 12 with errno=5.\n"
              "Input/output error.\n");
    EXPECT_EQ(control_node("/m"), "/m/ipsec/control");
    EXPECT_EQ(open_failure_text("spigrp", "/m", ENOENT, true),
              "spigrp: Trouble opening klipsfs control node /m/ipsec/control with error: "
              "not found.  Is klipsfs mounted?  (KLIPSFS_MOUNT names the mount point.)\n");
    EXPECT_EQ(open_failure_text("spigrp", "/m", EACCES, false),
              "spigrp: Trouble opening klipsfs control node /m/ipsec/control with error: "
              "access denied.  You must be root to open this file.\n");
    EXPECT_EQ(open_failure_text("spigrp", "/m", EACCES, true),
              "spigrp: Trouble opening klipsfs control node /m/ipsec/control with error: "
              "access denied.  Check permissions.  Should be 600.\n");
    EXPECT_EQ(open_failure_text("spigrp", "/m", ENOTCONN, true),
              "spigrp: Trouble opening klipsfs control node /m/ipsec/control with error: "
              "the klipsfs daemon has gone, leaving a stale mount at /m.  `fusermount3 -u /m` "
              "clears it; then start klipsfs again.\n");
    EXPECT_EQ(open_failure_text("spigrp", "/m", ELOOP, true),
              "spigrp: Trouble opening klipsfs control node /m/ipsec/control with error: "
              "Too many levels of symbolic links.\n");
}

TEST(SpigrpArgs, ListingFailuresNameTheMount) {
    EXPECT_EQ(listing_file("/m"), "/m/ipsec_spigrp");
    EXPECT_EQ(listing_missing_text("spigrp", "/m"),
              "spigrp: No spigrp - klipsfs is not mounted at /m (is the klipsfs daemon "
              "running?  KLIPSFS_MOUNT names another mount point)\n");
    EXPECT_EQ(listing_failure_text("spigrp", "/m", ENOENT), listing_missing_text("spigrp", "/m"));
    // The same sentence as at the control node.
    EXPECT_EQ(listing_failure_text("spigrp", "/m", ENOTCONN),
              "spigrp: /m/ipsec_spigrp: the klipsfs daemon has gone, leaving a stale mount at "
              "/m.  `fusermount3 -u /m` clears it; then start klipsfs again.\n");
    // Others as cat said them.
    EXPECT_EQ(listing_failure_text("spigrp", "/m", EACCES),
              "spigrp: /m/ipsec_spigrp: Permission denied\n");
}

} // namespace
} // namespace tools
