// Reducing `ip xfrm` output and mirror contents to comparable key fields.
#include "ip_xfrm.h"

#include <atomic>
#include <cstdio>
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

std::multiset<std::string> ip_states(const std::string& netns) {
    std::multiset<std::string> keys;
    for (const auto& line : lines(run(ip(netns) + " -o xfrm state list")))
        keys.insert(state_key_from_ip(line));
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

std::multiset<std::string> mirror_states(const netlink::Snapshot& snapshot) {
    std::multiset<std::string> keys;
    for (const XfrmState& s : snapshot.states())
        keys.insert(state_key(s));
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
