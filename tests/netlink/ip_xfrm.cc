// Reducing `ip xfrm` output and mirror contents to comparable text.
#include "ip_xfrm.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace netlink_test {

using netlink::XfrmPolicy;
using netlink::XfrmState;

std::string run(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe)
        throw std::runtime_error("cannot run: " + command);
    std::string out;
    char chunk[65536];
    std::size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0)
        out.append(chunk, n);
    int status = pclose(pipe);
    if (status != 0)
        throw std::runtime_error("failed (" + std::to_string(status) + "): " + command);
    return out;
}

std::string ip(const std::string& netns) {
    return netns.empty() ? "ip" : "ip -n " + netns;
}

namespace {

const char* proto_text(int proto) {
    switch (proto) {
    case IPPROTO_ESP:
        return "esp";
    case IPPROTO_AH:
        return "ah";
    case IPPROTO_COMP:
        return "comp";
    default:
        return nullptr;
    }
}

std::string proto_key(int proto) {
    const char* name = proto_text(proto);
    return name ? name : std::to_string(proto);
}

const char* mode_text(netlink::Mode mode) {
    static const char* const names[] = {"transport", "tunnel", "ro", "in_trigger", "beet"};
    auto n = static_cast<unsigned>(mode);
    return n < 5 ? names[n] : "?";
}

std::string hex(std::uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "%x", value);
    return text;
}

std::string mark_key(const netlink::Mark& mark) {
    if (!mark.value && !mark.mask)
        return "";
    return " mark " + hex(mark.value) + "/" + hex(mark.mask);
}

// ip prints the upper-layer protocol by name.
int upper_proto(const std::string& text) {
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
        return std::stoi(text);
    if (const protoent* p = getprotobyname(text.c_str()))
        return p->p_proto;
    if (text == "ipv6-icmp")
        return IPPROTO_ICMPV6;
    return -1;
}

std::vector<std::string> tokens(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string word;
    while (in >> word)
        if (word != "\\")
            out.push_back(word);
    return out;
}

// "0x00001234(4660)" or "0x00001234" -> 1234 as hex text
std::string spi_from_ip(const std::string& text) {
    return hex(static_cast<std::uint32_t>(std::stoul(text.substr(0, text.find('(')), nullptr, 0)));
}

std::string reqid_from_ip(const std::string& text) {
    return std::to_string(std::stoul(text.substr(0, text.find('(')), nullptr, 0));
}

// ip's own line breaks in -o mode are a backslash; split on whitespace
// after turning "\" into spaces.
std::string unescape(std::string line) {
    for (char& c : line)
        if (c == '\\' || c == '\t')
            c = ' ';
    return line;
}

std::string selector_key(const netlink::Selector& sel) {
    int family = sel.family ? sel.family : AF_INET;
    std::string key = netlink::to_string(sel.saddr, family) + "/" +
                      std::to_string(sel.prefixlen_s) + ">" +
                      netlink::to_string(sel.daddr, family) + "/" + std::to_string(sel.prefixlen_d);
    if (sel.proto)
        key += " proto " + std::to_string(sel.proto);
    if (sel.sport_mask)
        key += " sport " + std::to_string(sel.sport);
    if (sel.dport_mask)
        key += " dport " + std::to_string(sel.dport);
    return key;
}

} // namespace

std::string state_key(const XfrmState& s) {
    return netlink::to_string(s.saddr, s.id.family) + " " +
           netlink::to_string(s.id.daddr, s.id.family) + " " + proto_key(s.id.proto) + " " +
           hex(s.id.spi) + " " + std::to_string(s.reqid) + " " + mode_text(s.mode) +
           mark_key(s.mark);
}

std::string state_key_from_ip(const std::string& line) {
    auto t = tokens(unescape(line));
    std::string src, dst, proto, spi, reqid, mode, mark;
    for (std::size_t i = 0; i + 1 < t.size(); ++i) {
        const std::string& w = t[i];
        const std::string& v = t[i + 1];
        // Only the first of each: later "src"/"dst" belong to the selector.
        if (w == "src" && src.empty())
            src = v;
        else if (w == "dst" && dst.empty())
            dst = v;
        else if (w == "proto" && proto.empty())
            proto = v;
        else if (w == "spi" && spi.empty())
            spi = spi_from_ip(v);
        else if (w == "reqid" && reqid.empty())
            reqid = reqid_from_ip(v);
        else if (w == "mode" && mode.empty())
            mode = v;
        else if (w == "mark" && mark.empty()) {
            auto slash = v.find('/');
            mark = " mark " + hex(std::stoul(v.substr(0, slash), nullptr, 0)) + "/" +
                   hex(std::stoul(v.substr(slash + 1), nullptr, 0));
        }
    }
    return src + " " + dst + " " + proto + " " + spi + " " + reqid + " " + mode + mark;
}

std::string policy_key(const XfrmPolicy& p) {
    static const char* const dirs[] = {"in", "out", "fwd"};
    std::string key =
        selector_key(p.selector) + " dir " + dirs[static_cast<int>(p.dir) % 3] + " index " +
        std::to_string(p.index) + " priority " + std::to_string(p.priority) +
        (p.action == netlink::PolicyAction::block ? " block" : " allow") + mark_key(p.mark);
    if (p.if_id)
        key += " if_id " + hex(p.if_id);
    for (const auto& t : p.templates) {
        int family = t.family ? t.family : (p.selector.family ? p.selector.family : AF_INET);
        key += " [" + netlink::to_string(t.saddr, family) + ">" +
               netlink::to_string(t.daddr, family) + " " + proto_key(t.proto) + " " + hex(t.spi) +
               " " + std::to_string(t.reqid) + " " + mode_text(t.mode) +
               (t.optional ? " use" : " required") + "]";
    }
    return key;
}

std::string policy_key_from_ip(const std::string& line) {
    auto t = tokens(unescape(line));
    std::string key;
    std::size_t i = 0;
    // Selector: src A dst B [proto P] [sport N] [dport N] ... up to "dir".
    std::string proto, sport, dport;
    for (; i < t.size() && t[i] != "dir"; ++i) {
        if (i + 1 >= t.size())
            break;
        if (t[i] == "src")
            key = t[i + 1];
        else if (t[i] == "dst")
            key += ">" + t[i + 1];
        else if (t[i] == "proto")
            proto = " proto " + std::to_string(upper_proto(t[i + 1]));
        else if (t[i] == "sport")
            sport = " sport " + t[i + 1];
        else if (t[i] == "dport")
            dport = " dport " + t[i + 1];
    }
    key += proto + sport + dport;
    std::string dir, index, priority, action = " allow", mark, if_id, tmpls;
    for (; i + 1 < t.size() && t[i] != "tmpl"; ++i) {
        const std::string& v = t[i + 1];
        if (t[i] == "dir")
            dir = " dir " + v;
        else if (t[i] == "index")
            index = " index " + v;
        else if (t[i] == "priority")
            priority = " priority " + v;
        else if (t[i] == "action")
            action = " " + v;
        else if (t[i] == "mark") {
            auto slash = v.find('/');
            mark = " mark " + hex(std::stoul(v.substr(0, slash), nullptr, 0)) + "/" +
                   hex(std::stoul(v.substr(slash + 1), nullptr, 0));
        } else if (t[i] == "if_id")
            if_id = " if_id " + hex(std::stoul(v, nullptr, 0));
    }
    while (i < t.size() && t[i] == "tmpl") {
        std::string src, dst, tproto, spi = "0", reqid = "0", mode, level = "required";
        for (++i; i + 1 < t.size() && t[i] != "tmpl"; ++i) {
            const std::string& v = t[i + 1];
            if (t[i] == "src")
                src = v;
            else if (t[i] == "dst")
                dst = v;
            else if (t[i] == "proto")
                tproto = v;
            else if (t[i] == "spi")
                spi = spi_from_ip(v);
            else if (t[i] == "reqid")
                reqid = reqid_from_ip(v);
            else if (t[i] == "mode")
                mode = v;
            else if (t[i] == "level")
                level = v;
        }
        if (i + 1 == t.size() && t[i] != "tmpl")
            ++i;
        tmpls += " [" + src + ">" + dst + " " + tproto + " " + spi + " " + reqid + " " + mode +
                 " " + level + "]";
    }
    return key + dir + index + priority + action + mark + if_id + tmpls;
}

namespace {

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            out.push_back(line);
    return out;
}

} // namespace

namespace {

std::string limit_text(std::uint64_t limit) {
    return limit == netlink::infinite ? "INF" : std::to_string(limit);
}

// ip's strxf_time: local time, "-" for 0.
std::string time_text(std::uint64_t seconds) {
    if (seconds == 0)
        return "-";
    auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    localtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %T", &tm);
    return text;
}

std::string algorithm_text(const char* what, const netlink::Algorithm& a, std::uint32_t extra) {
    if (!a.present())
        return "";
    std::string text = std::string(" ") + what + " " + a.name + " " + std::to_string(a.key_bits);
    if (std::string(what) == "auth" || std::string(what) == "aead")
        text += "/" + std::to_string(extra);
    return text;
}

std::string encap_type_text(std::uint16_t type) {
    switch (type) {
    case 1:
        return "espinudp-nonike";
    case 2:
        return "espinudp";
    case 7:
        return "espintcp";
    default:
        return std::to_string(type);
    }
}

// The part of a state's line after the key fields, in one order for both
// sides.  Missing optional parts are empty strings.
struct StateDetailsText {
    std::string replay_window = "0";
    std::string flags = "0";
    std::string extra_flags, output_mark, if_id;
    std::string auth, aead, crypt, comp, encap, tfcpad, selector, ctx, dir;
    std::string lifetime, added = "-";

    std::string join() const {
        return " replay-window " + replay_window + " flags " + flags + extra_flags + output_mark +
               if_id + auth + aead + crypt + comp + encap + tfcpad + selector + " lifetime " +
               lifetime + " added " + added + ctx + dir;
    }
};

} // namespace

std::string state_text(const XfrmState& s, const std::map<int, std::string>& devices) {
    const netlink::StateDetails empty;
    const netlink::StateDetails& d = s.details ? *s.details : empty;
    StateDetailsText t;
    t.replay_window = std::to_string(d.replay_window);
    t.flags = hex(d.flags);
    if (d.extra_flags)
        t.extra_flags = " extra-flags " + hex(d.extra_flags);
    if (d.output_mark.value || d.output_mark.mask)
        t.output_mark = " output-mark " + hex(d.output_mark.value) + "/" + hex(d.output_mark.mask);
    if (s.if_id)
        t.if_id = " if_id " + hex(s.if_id);
    t.auth = algorithm_text("auth", d.auth, d.auth.trunc_bits);
    t.aead = algorithm_text("aead", d.aead, d.aead.icv_bits);
    t.crypt = algorithm_text("enc", d.crypt, 0);
    t.comp = algorithm_text("comp", d.comp, 0);
    if (d.encap)
        t.encap = " encap " + encap_type_text(d.encap->type) + " " +
                  std::to_string(d.encap->sport) + " " + std::to_string(d.encap->dport) + " " +
                  netlink::to_string(d.encap->original_address, s.id.family);
    if (d.tfcpad)
        t.tfcpad = " tfcpad " + std::to_string(d.tfcpad);
    // ip prints the selector unless it is all zero; in the state's family
    // when its own is unspecified.
    const netlink::Selector& sel = d.selector;
    if (!(sel == netlink::Selector{})) {
        int family = sel.family ? sel.family : s.id.family;
        t.selector = " sel " + netlink::to_string(sel.saddr, family) + "/" +
                     std::to_string(sel.prefixlen_s) + ">" + netlink::to_string(sel.daddr, family) +
                     "/" + std::to_string(sel.prefixlen_d);
        if (sel.proto)
            t.selector += " proto " + std::to_string(sel.proto);
        if (sel.sport_mask)
            t.selector += " sport " + std::to_string(sel.sport);
        if (sel.dport_mask)
            t.selector += " dport " + std::to_string(sel.dport);
        if (sel.ifindex > 0) {
            auto it = devices.find(sel.ifindex);
            t.selector +=
                " dev " + (it != devices.end() ? it->second : "if" + std::to_string(sel.ifindex));
        }
        t.selector += " uid " + std::to_string(sel.user);
    }
    const netlink::LifetimeConfig l = s.lifetime();
    t.lifetime = limit_text(l.soft_byte_limit) + " " + limit_text(l.hard_byte_limit) + " " +
                 limit_text(l.soft_packet_limit) + " " + limit_text(l.hard_packet_limit) + " " +
                 std::to_string(l.soft_add_expires_seconds) + " " +
                 std::to_string(l.hard_add_expires_seconds) + " " +
                 std::to_string(l.soft_use_expires_seconds) + " " +
                 std::to_string(l.hard_use_expires_seconds);
    t.added = time_text(s.counters.current.add_time);
    if (!d.security_context.empty())
        t.ctx = " ctx " + d.security_context;
    if (d.direction)
        t.dir = d.direction == 1 ? " dir in" : d.direction == 2 ? " dir out" : " dir ?";
    return state_key(s) + t.join();
}

namespace {

// One printed line of ip's record: -o joins them with "\".
std::vector<std::vector<std::string>> segments(const std::string& line) {
    std::vector<std::vector<std::string>> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = line.find('\\', start);
        std::string part = line.substr(start, end == std::string::npos ? end : end - start);
        for (char& c : part)
            if (c == '\t')
                c = ' ';
        auto words = tokens(part);
        if (!words.empty())
            out.push_back(std::move(words));
        if (end == std::string::npos)
            return out;
        start = end + 1;
    }
}

// "1000(bytes)," or "(INF)(bytes)" -> "1000" or "INF"
std::string limit_from_ip(const std::string& word) {
    if (word.rfind("(INF)", 0) == 0)
        return "INF";
    return std::to_string(std::stoull(word));
}

std::string algorithm_from_ip(const std::vector<std::string>& w) {
    // NAME [0xKEY] [(BITS bits)] [TRUNC|ICV]; the key is skipped, never kept.
    std::string type = w[0] == "auth-trunc" ? "auth" : w[0];
    std::string name = w.size() > 1 ? w[1] : "?";
    std::string bits = "0", extra = "0";
    for (std::size_t i = 2; i < w.size(); ++i) {
        if (w[i].rfind("0x", 0) == 0)
            continue; // key bytes
        if (w[i][0] == '(' && i + 1 < w.size() && w[i + 1] == "bits)")
            bits = std::to_string(std::stoul(w[i].substr(1))), ++i;
        else
            extra = std::to_string(std::stoul(w[i]));
    }
    std::string text = " " + type + " " + name + " " + bits;
    if (type == "auth" || type == "aead")
        text += "/" + extra;
    return text;
}

} // namespace

std::string state_text_from_ip(const std::string& line) {
    StateDetailsText t;
    std::string esn_window;
    bool header_seen = false;
    for (const auto& w : segments(line)) {
        const std::string& first = w[0];
        if (first == "replay-window" && w.size() > 1 && !header_seen) {
            // "replay-window N seq 0x.. flag NAMES... [extra_flag NAMES...] (0xBITS)";
            // the later "replay-window N replay N failed N" is a counter.
            header_seen = true;
            t.replay_window = w[1];
            std::string joined;
            for (const auto& word : w)
                joined += word + " ";
            for (const auto& word : w)
                if (word.rfind("(0x", 0) == 0 && word.size() == 12)
                    t.flags = hex(std::stoul(word.substr(3, 8), nullptr, 2));
            // ip glues "extra_flag" to the last flag name.
            auto extra = joined.find("extra_flag ");
            if (extra != std::string::npos) {
                std::uint32_t bits = 0;
                for (const auto& name : tokens(joined.substr(extra + 11))) {
                    if (name.rfind("(0x", 0) == 0)
                        break;
                    if (name == "dont-encap-dscp")
                        bits |= 1;
                    else if (name == "oseq-may-wrap")
                        bits |= 2;
                    else
                        bits |= static_cast<std::uint32_t>(std::stoul(name, nullptr, 16));
                }
                if (bits)
                    t.extra_flags = " extra-flags " + hex(bits);
            }
        } else if (first == "replay_window" && w.size() > 1) {
            esn_window = w[1].substr(0, w[1].find(','));
        } else if (first == "output-mark" && w.size() > 1) {
            auto slash = w[1].find('/');
            std::uint32_t mask =
                slash == std::string::npos
                    ? 0xffffffffu
                    : static_cast<std::uint32_t>(std::stoul(w[1].substr(slash + 1), nullptr, 0));
            t.output_mark =
                " output-mark " +
                hex(static_cast<std::uint32_t>(std::stoul(w[1].substr(0, slash), nullptr, 0))) +
                "/" + hex(mask);
        } else if (first == "if_id" && w.size() > 1) {
            t.if_id = " if_id " + hex(static_cast<std::uint32_t>(std::stoul(w[1], nullptr, 0)));
        } else if (first == "auth" || first == "auth-trunc") {
            t.auth = algorithm_from_ip(w);
        } else if (first == "aead") {
            t.aead = algorithm_from_ip(w);
        } else if (first == "enc") {
            t.crypt = algorithm_from_ip(w);
        } else if (first == "comp") {
            t.comp = algorithm_from_ip(w);
        } else if (first == "encap" && w.size() >= 9) {
            // "encap type T sport S dport D addr A"
            t.encap = " encap " + w[2] + " " + w[4] + " " + w[6] + " " + w[8];
        } else if (first == "tfcpad" && w.size() > 1) {
            t.tfcpad = " tfcpad " + w[1];
        } else if (first == "sel") {
            std::string src, dst, proto, sport, dport, dev, uid;
            for (std::size_t i = 1; i + 1 < w.size(); ++i) {
                const std::string& k = w[i];
                const std::string& v = w[i + 1];
                if (k == "src")
                    src = v;
                else if (k == "dst")
                    dst = v;
                else if (k == "proto")
                    proto = " proto " + std::to_string(upper_proto(v));
                else if (k == "sport" || k == "type")
                    sport = " sport " + v;
                else if (k == "dport" || k == "code")
                    dport = " dport " + v;
                else if (k == "key") {
                    auto key = std::stoul(v);
                    sport = " sport " + std::to_string(key >> 16);
                    dport = " dport " + std::to_string(key & 0xffff);
                } else if (k == "dev")
                    dev = " dev " + v;
                else if (k == "uid")
                    uid = " uid " + v;
                else
                    continue;
                ++i;
            }
            t.selector = " sel " + src + ">" + dst + proto + sport + dport + dev + uid;
        } else if (first == "limit:" && w.size() >= 5) {
            // "limit: soft X(bytes), hard Y(bytes)", then the same for packets
            t.lifetime +=
                (t.lifetime.empty() ? "" : " ") + limit_from_ip(w[2]) + " " + limit_from_ip(w[4]);
        } else if (first == "expire" && w.size() >= 6) {
            // "expire add: soft N(sec), hard N(sec)", then "expire use: ..."
            t.lifetime +=
                " " + std::to_string(std::stoull(w[3])) + " " + std::to_string(std::stoull(w[5]));
        } else if (first == "add" && w.size() > 1) {
            // "add DATE TIME use ..." or "add - use ..."
            t.added = w[1] == "-" ? "-" : w[1] + " " + (w.size() > 2 ? w[2] : "");
        } else if (first == "security" && w.size() > 2 && w[1] == "context") {
            t.ctx = " ctx " + w[2];
        } else if (first == "dir" && w.size() > 1) {
            t.dir = " dir " + w[1];
        }
    }
    if (!esn_window.empty())
        t.replay_window = esn_window; // the ESN window is the one that counts
    return state_key_from_ip(line) + t.join();
}

std::map<int, std::string> devices(const std::string& netns) {
    std::map<int, std::string> names;
    // "1: lo: <LOOPBACK,UP,...> ..." or "5: veth0@if4: ..."
    for (const auto& line : lines(run(ip(netns) + " -o link show"))) {
        auto colon = line.find(": ");
        if (colon == std::string::npos)
            continue;
        auto end = line.find_first_of(":@", colon + 2);
        names[std::stoi(line.substr(0, colon))] = line.substr(colon + 2, end - colon - 2);
    }
    return names;
}

std::multiset<std::string> ip_states(const std::string& netns) {
    std::multiset<std::string> keys;
    for (const auto& line : lines(run(ip(netns) + " -o -s xfrm state list")))
        keys.insert(state_text_from_ip(line));
    return keys;
}

std::multiset<std::string> ip_policies(const std::string& netns) {
    std::multiset<std::string> keys;
    for (const auto& line : lines(run(ip(netns) + " -o -s xfrm policy list")))
        if (line.find("dir socket") == std::string::npos &&
            line.find("socket ") == std::string::npos)
            keys.insert(policy_key_from_ip(line));
    return keys;
}

std::multiset<std::string> mirror_states(const netlink::Snapshot& snapshot,
                                         const std::string& netns) {
    std::map<int, std::string> names;
    for (const XfrmState& s : snapshot.states())
        if (s.details && s.details->selector.ifindex > 0) {
            names = devices(netns);
            break;
        }
    std::multiset<std::string> keys;
    for (const XfrmState& s : snapshot.states())
        keys.insert(state_text(s, names));
    return keys;
}

std::multiset<std::string> mirror_policies(const netlink::Snapshot& snapshot) {
    std::multiset<std::string> keys;
    for (const XfrmPolicy& p : snapshot.policies())
        if (!p.is_socket_policy())
            keys.insert(policy_key(p));
    return keys;
}

Netns::Netns() {
    static std::atomic<int> counter{0};
    name_ = "klipsfs-nl-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    run("ip netns add " + name_);
    fd_ = open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        run("ip netns del " + name_);
        throw std::runtime_error("cannot open netns " + name_);
    }
}

Netns::~Netns() {
    if (fd_ >= 0)
        close(fd_);
    try {
        run("ip netns del " + name_ + " 2>/dev/null");
    } catch (...) {
    }
}

MirrorThreadHold::MirrorThreadHold(netlink::Mirror& mirror) {
    mirror.add_listener([this](const netlink::MirrorChange&) {
        std::unique_lock lock(mutex_);
        held_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return !hold_; });
    });
}

bool MirrorThreadHold::wait_until_held(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [this] { return held_; });
}

void MirrorThreadHold::release() {
    std::lock_guard lock(mutex_);
    hold_ = false;
    changed_.notify_all();
}

} // namespace netlink_test
