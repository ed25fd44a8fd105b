// ipsec spigrp's argument processing and messages (see spigrp_args.h).
#include "tools/spigrp_args.h"

#include "compat/control.h"
#include "compat/error.h"
#include "klipsfs_version.h"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>

namespace tools {

namespace {

__attribute__((format(printf, 1, 2))) std::string text(const char* format, ...) {
    va_list args;
    va_start(args, format);
    char buffer[1024];
    const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    return std::string(buffer, n < 0 ? 0 : std::min<std::size_t>(n, sizeof buffer - 1));
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// ttoaddr tries a name only when the text does not look like a number: no
// ':' anywhere, not the 0x form, and (for IPv4) not starting as dotted
// decimal does (digits, then nothing or a '.' and a digit).
bool looks_like_name(const std::string& s, int family) {
    if (s.find(':') != std::string::npos)
        return false;
    if (family == AF_INET6)
        return true;
    if (s.size() == 10 && s[0] == '0' && std::strchr("xXhH", s[1]) != nullptr)
        return false;
    std::size_t p = 0;
    while (p < s.size() && is_digit(s[p]))
        ++p;
    if (p == 0)
        return true;
    if (p == s.size())
        return false;
    return s[p] != '.' || p + 1 >= s.size() || !is_digit(s[p + 1]);
}

bool is_dns_name(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x80 && !std::isalnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    return true;
}

compat::Address look_up(const std::string& name, int family, const NameLookup& lookup) {
    if (!is_dns_name(name))
        throw compat::Error("illegal (non-DNS-name) character in name");
    for (int af : {AF_INET6, AF_INET}) {
        if (family != 0 && family != af)
            continue;
        if (auto address = lookup(name, af))
            return *address;
    }
    throw compat::Error("does not look numeric and name lookup failed");
}

// The address family a SAID's af character asks for (0: guess).
int said_family(const std::string& prefix) {
    for (const char* proto : {"ah", "esp", "tun", "comp", "int"}) {
        const std::size_t n = std::strlen(proto);
        if (prefix.compare(0, n, proto) == 0 && prefix.size() > n)
            return prefix[n] == '.' ? AF_INET : prefix[n] == ':' ? AF_INET6 : 0;
    }
    return 0;
}

} // namespace

compat::Address ttoaddr(const std::string& s, int family, const NameLookup& lookup) {
    if (s.empty())
        throw compat::Error("empty string");
    if (looks_like_name(s, family))
        return look_up(s, family, lookup);
    return compat::parse_address(s, family);
}

compat::Said ttosa(const std::string& s, const NameLookup& lookup) {
    try {
        return compat::parse_said(s);
    } catch (const compat::Error&) {
        const std::size_t at = s.find('@');
        if (s.empty() || s[0] == '%' || at == std::string::npos)
            throw;
        const std::string prefix = s.substr(0, at);
        const std::string address = s.substr(at + 1);
        const int family = said_family(prefix);
        if (address.empty() || !looks_like_name(address, family))
            throw;
        // ttosa checks the protocol and SPI before the address: so must we.
        compat::parse_said(prefix + (family == AF_INET6 ? "@::1" : "@0.0.0.1"));
        const compat::Address resolved = look_up(address, family, lookup);
        return compat::parse_said(prefix + "@" + compat::format_address(resolved));
    }
}

std::string usage_text(const std::string& p) {
    const char* s = p.c_str();
    return text("usage: Note: position of options and arguments is important!\n") +
           text("usage: %s [ --debug ] [ --label <label> ] af1 dst1 spi1 proto1 [ af2 dst2 spi2 "
                "proto2 [ af3 dst3 spi3 proto3 [ af4 dst4 spi4 proto4 ] ] ]\n",
                s) +
           text("usage: %s [ --debug ] [ --label <label> ] --said <SA1> [ <SA2> [ <SA3> "
                "[ <SA4> ] ] ]\n",
                s) +
           text("usage: %s --help\n", s) + text("usage: %s --version\n", s) +
           text("usage: %s\n", s) +
           text("        [ --debug ] is optional to any %s command.\n", s) +
           text("        [ --label <label> ] is optional to any %s command.\n", s);
}

namespace {

std::optional<compat::Proto> proto_named(const std::string& name) {
    if (name == "ah")
        return compat::Proto::ah;
    if (name == "esp")
        return compat::Proto::esp;
    if (name == "tun")
        return compat::Proto::tun;
    if (name == "comp")
        return compat::Proto::comp;
    return std::nullopt;
}

// Processes argv in KLIPS's program order.  Each step either returns a
// finished plan or leaves `plan` and `args` for the next one.
class Planner {
public:
    Planner(std::span<const std::string> argv, const NameLookup& lookup)
        : args_(argv.begin(), argv.end()), lookup_(lookup) {
        plan_.progname = args_.empty() ? "spigrp" : args_[0];
        if (args_.empty())
            args_.push_back(plan_.progname);
    }

    SpigrpPlan run() {
        take_debug();
        if (!take_label())
            return finish(1);
        trace("...After check for --label option.\n");
        if (argc() == 1) {
            plan_.action = SpigrpAction::list;
            return plan_;
        }
        trace("...After check for no option to print /proc/net/ipsec_spigrp.\n");
        if (args_[1] == "--help") {
            trace("\"--help\" option requested.\n");
            plan_.out += usage_text(plan_.progname);
            return finish(1);
        }
        trace("...After check for --help option.\n");
        if (args_[1] == "--version") {
            trace("\"--version\" option requested.\n");
            plan_.err += plan_.progname + ", klipsfs " KLIPSFS_VERSION "\n";
            return finish(1);
        }
        trace("...After check for --version option.\n");
        return take_sas();
    }

private:
    int argc() const { return static_cast<int>(args_.size()); }

    void trace(const std::string& line) {
        if (plan_.debug)
            plan_.out += line;
    }

    SpigrpPlan finish(int status) {
        plan_.action = SpigrpAction::exit;
        plan_.status = status;
        plan_.sas.clear();
        return plan_;
    }

    SpigrpPlan fail(const std::string& message) {
        plan_.err += message;
        return finish(1);
    }

    SpigrpPlan fail_with_usage(const std::string& message) {
        plan_.out += usage_text(plan_.progname);
        return fail(message);
    }

    void take_debug() {
        if (argc() > 1 && args_[1] == "--debug") {
            plan_.debug = true;
            trace("\"--debug\" option requested.\n");
            args_.erase(args_.begin() + 1);
        }
        trace(text("argc=%d (%d incl. --debug option).\n", argc(), argc() + 1));
    }

    bool take_label() {
        if (argc() <= 1 || args_[1] != "--label")
            return true;
        if (argc() <= 2) {
            plan_.err += plan_.progname + ": --label option requires an argument.\n";
            return false;
        }
        plan_.progname = args_[0] + " --label " + args_[2];
        trace("using \"" + plan_.progname + "\" as a label.\n");
        args_.erase(args_.begin() + 1, args_.begin() + 3);
        return true;
    }

    SpigrpPlan take_sas() {
        const bool said_opt = args_[1] == "--said";
        if (said_opt)
            trace(text("processing %d args with --said flag.\n", argc()));
        trace("...After check for --said option.\n");

        int nspis = 0;
        if (said_opt) {
            if (argc() < 3)
                return fail_with_usage(
                    text("expecting 3 or more args with --said, got %d.\n", argc()));
            // KLIPS had no upper check and overran a four-entry array.
            if (argc() > 6)
                return fail_with_usage(
                    text("expecting 3 to 6 args with --said (at most 4 SAs), got %d.\n", argc()));
            nspis = argc() - 2;
        } else {
            if (argc() < 5 || argc() > 17 || argc() % 4 != 1)
                return fail_with_usage(
                    text("expecting 5 or more args without --said, got %d.\n", argc()));
            nspis = argc() / 4;
        }
        trace(text("processing %d nspis.\n", nspis));

        for (int i = 0; i < nspis; ++i) {
            trace(text("processing spi #%d.\n", i));
            std::optional<compat::Said> said = said_opt ? said_arg(i) : quadruple(i);
            if (!said)
                return finish(1);
            trace_said(i, *said);
            plan_.sas.push_back(*said);
        }
        plan_.action = SpigrpAction::send;
        return plan_;
    }

    std::optional<compat::Said> said_arg(int i) {
        const std::string& arg = args_[i + 2];
        try {
            compat::Said said = ttosa(arg, lookup_);
            trace(text("said[%d].dst=%s.\n", i, compat::format_address(said.dst).c_str()));
            return said;
        } catch (const compat::Error& e) {
            plan_.err += text("%s: Error, %s converting --sa argument:%s\n", plan_.progname.c_str(),
                              e.what(), arg.c_str());
            return std::nullopt;
        }
    }

    // af dst spi proto, checked proto, spi, af, address as Openswan 2.6.24.
    std::optional<compat::Said> quadruple(int i) {
        const std::string& af = args_[i * 4 + 1];
        const std::string& dst = args_[i * 4 + 2];
        const std::string& spi = args_[i * 4 + 3];
        const std::string& proto = args_[i * 4 + 4];
        const char* p = plan_.progname.c_str();
        compat::Said said;
        if (const auto named = proto_named(proto))
            said.proto = *named;
        else
            return refuse(text("%s: Badly formed proto: %s\n", p, proto.c_str()));
        // strtoul as KLIPS: sign, blanks and an empty string pass; 32 bits kept.
        char* end = nullptr;
        said.spi = static_cast<std::uint32_t>(std::strtoul(spi.c_str(), &end, 0));
        if (end != spi.c_str() + spi.size())
            return refuse(text("%s: Badly formed spi: %s\n", p, spi.c_str()));
        const int family = af == "inet" ? AF_INET : af == "inet6" ? AF_INET6 : 0;
        if (family == 0)
            return refuse(text("%s: Address family %s not supported\n", p, af.c_str()));
        try {
            said.dst = ttoaddr(dst, family, lookup_);
        } catch (const compat::Error& e) {
            return refuse(text("%s: Error, %s converting %dth address argument:%s\n", p, e.what(),
                               i, dst.c_str()));
        }
        return said;
    }

    std::optional<compat::Said> refuse(const std::string& message) {
        plan_.err += message;
        return std::nullopt;
    }

    // KLIPS printed the SPI's network-order word as a host integer, so on
    // little-endian machines the bytes appear swapped; kept as it was.
    void trace_said(int i, const compat::Said& said) {
        trace(text("SA %d contains: \n", i + 1));
        trace(text("proto = %d\n", static_cast<int>(said.proto)));
        trace(text("spi = %08x\n", htonl(said.spi)));
        trace(text("edst = %s\n", compat::format_address(said.dst).c_str()));
    }

    std::vector<std::string> args_;
    const NameLookup& lookup_;
    SpigrpPlan plan_;
};

} // namespace

SpigrpPlan plan_spigrp(std::span<const std::string> argv, const NameLookup& lookup) {
    return Planner(argv, lookup).run();
}

std::string control_line(std::span<const compat::Said> sas) {
    if (sas.size() == 1)
        return compat::format_command(compat::UngroupCommand{sas[0]}) + "\n";
    return compat::format_command(compat::GroupCommand{{sas.begin(), sas.end()}}) + "\n";
}

std::string control_node(const std::string& mount) {
    return mount + "/ipsec/control";
}

std::string listing_file(const std::string& mount) {
    return mount + "/ipsec_spigrp";
}

std::string listing_missing_text(const std::string& progname, const std::string& mount) {
    return progname + ": No spigrp - klipsfs is not mounted at " + mount +
           " (is the klipsfs daemon running?  KLIPSFS_MOUNT names another mount point)\n";
}

namespace {

// ENOTCONN on a FUSE mount: the daemon is gone, the mount stays, and klipsfs
// cannot be mounted there again until it is cleared.
std::string stale_mount(const std::string& mount) {
    return "the klipsfs daemon has gone, leaving a stale mount at " + mount +
           ".  `fusermount3 -u " + mount + "` clears it; then start klipsfs again.\n";
}

std::string access_denied(bool root) {
    return root ? "access denied.  Check permissions.  Should be 600.\n"
                : "access denied.  You must be root to open this file.\n";
}

std::string errno_sentence(int error) {
    return std::string(std::strerror(error)) + ".\n";
}

} // namespace

std::string listing_failure_text(const std::string& progname, const std::string& mount, int error) {
    switch (error) {
    case ENOENT:
        return listing_missing_text(progname, mount);
    case ENOTCONN:
        return progname + ": " + listing_file(mount) + ": " + stale_mount(mount);
    default: // as cat said it
        return progname + ": " + listing_file(mount) + ": " + std::strerror(error) + "\n";
    }
}

std::string open_failure_text(const std::string& progname, const std::string& mount, int error,
                              bool root) {
    std::string message = progname + ": Trouble opening klipsfs control node " +
                          control_node(mount) + " with error: ";
    switch (error) {
    case ENOENT:
        return message + "not found.  Is klipsfs mounted?  (KLIPSFS_MOUNT names the mount "
                         "point.)\n";
    case EACCES:
    case EPERM:
        return message + access_denied(root);
    case ENOTCONN:
        return message + stale_mount(mount);
    default:
        return message + errno_sentence(error);
    }
}

std::string write_failure_text(const std::string& progname, long returned, int error,
                               const std::string& reply, bool root) {
    std::string message = text("%s: klipsfs control write failed, returning %ld with errno=%d.\n",
                               progname.c_str(), returned, error);
    switch (error) {
    case ENOENT:
        message += "device does not exist.  See FreeS/WAN installation procedure.\n";
        break;
    case EEXIST:
        message += "SA already in use.  Delete old one first.\n";
        break;
    case EINVAL:
        message += "Invalid argument, check kernel log messages for specifics.\n";
        break;
    case EACCES:
    case EPERM:
        message += access_denied(root);
        break;
    default:
        message += errno_sentence(error);
    }
    // klipsfs's own reason, one line: the first line of the reply.
    const std::string reason = reply.substr(0, reply.find_first_of(std::string("\n\0", 2)));
    if (!reason.empty())
        message += progname + ": " + reason + "\n";
    return message;
}

} // namespace tools
