// fs::ControlService: compat's control language carried out on the kernel.
#include "fs/control_service.h"

#include "compat/control_state.h"
#include "compat/error.h"
#include "fs/log.h"
#include "netlink/error.h"
#include "netlink/mirror.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <unordered_set>

namespace fs {

namespace {

// How long a change this service made may stay unseen by the mirror before
// the mirror's word is taken again (and a resync asked for).  The mirror
// normally shows a change within milliseconds.
constexpr std::chrono::seconds pending_limit{2};

netlink::Address address_of(const compat::Address& address) {
    netlink::Address out;
    out.bytes = address.bytes;
    return out;
}

netlink::Mode mode_of(compat::Mode mode) {
    return mode == compat::Mode::tunnel ? netlink::Mode::tunnel : netlink::Mode::transport;
}

bool same_eroute(const compat::KernelPolicy& a, const compat::KernelPolicy& b) {
    return a.dir == b.dir && a.src == b.src && a.dst == b.dst && a.upper_proto == b.upper_proto &&
           a.mark == b.mark && a.if_id == b.if_id;
}

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void make_directories(const std::string& dir) {
    if (dir.empty() || mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST)
        return;
    if (errno != ENOENT)
        throw_errno("mkdir " + dir);
    make_directories(dir.substr(0, dir.find_last_of('/')));
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw_errno("mkdir " + dir);
}

void write_all(int fd, const std::string& text, const std::string& path) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("write " + path);
        done += static_cast<std::size_t>(n);
    }
}

// The file's text; nullopt when it does not exist.
std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT)
            return std::nullopt;
        throw_errno("open " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

// The time of each stage of a command, for the debug log.
void Stopwatch::lap(const char* stage) {
    const auto now = std::chrono::steady_clock::now();
    if (!laps_.empty())
        laps_ += ", ";
    laps_ += stage;
    laps_ +=
        " " +
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now - last_).count()) +
        " us";
    last_ = now;
}

namespace {

std::string caller_text(const Caller* who) {
    if (who == nullptr)
        return "kernel change";
    return "uid " + std::to_string(who->uid) + " pid " + std::to_string(who->pid);
}

} // namespace

netlink::XfrmPolicy to_xfrm_policy(const compat::KernelPolicy& policy) {
    netlink::XfrmPolicy out;
    const int family = policy.dst.address.family;
    out.selector.family = static_cast<std::uint16_t>(family);
    out.selector.saddr = address_of(policy.src.address);
    out.selector.daddr = address_of(policy.dst.address);
    out.selector.prefixlen_s = policy.src.prefix_len;
    out.selector.prefixlen_d = policy.dst.prefix_len;
    out.selector.proto = policy.upper_proto;
    out.dir = policy.dir == compat::Direction::in    ? netlink::Direction::in
              : policy.dir == compat::Direction::fwd ? netlink::Direction::fwd
                                                     : netlink::Direction::out;
    out.priority = policy.priority;
    out.mark = netlink::Mark{policy.mark.value, policy.mark.mask};
    out.if_id = policy.if_id;
    for (const compat::KernelTemplate& tmpl : policy.templates) {
        netlink::Template t;
        t.proto = static_cast<std::uint8_t>(tmpl.proto);
        t.spi = tmpl.spi;
        t.mode = mode_of(tmpl.mode);
        t.reqid = tmpl.reqid;
        t.optional = tmpl.optional;
        // Transport-mode templates carry no addresses; their family is the
        // policy's.
        t.family = static_cast<std::uint16_t>(tmpl.dst.family ? tmpl.dst.family : family);
        t.daddr = address_of(tmpl.dst);
        t.saddr = address_of(tmpl.src);
        out.templates.push_back(t);
    }
    return out;
}

void write_file_atomically(const std::string& path, const std::string& text) {
    const std::size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const std::string temp = path + ".tmp";

    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) {
        make_directories(dir);
        fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
    if (fd < 0)
        throw_errno("open " + temp);
    // No fsync of the file (see below): the rename alone makes the new text
    // replace the old whole for the next daemon.
    try {
        write_all(fd, text, temp);
    } catch (...) {
        close(fd);
        unlink(temp.c_str());
        throw;
    }
    close(fd);
    if (rename(temp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        unlink(temp.c_str());
        errno = saved;
        throw_errno("rename " + temp + " to " + path);
    }
    // No fsync of the file or the directory: the file only has to outlive
    // the daemon (a rename is atomic for that), not the machine; after a
    // crash or reboot the kernel's SAs are gone and the start-up check
    // dissolves every group anyway.  In the lab each system call costs
    // about 20 us, and an fsync much more.
}

ControlService::ControlService(const ControlContext& context)
    : context_(context), client_(netlink::ClientOptions{context.netns_fd}) {
    restore();
    listener_ = context_.mirror->add_listener([this](const netlink::MirrorChange&) {
        {
            std::lock_guard lock(wake_mutex_);
            changed_ = true;
        }
        wake_.notify_one();
    });
    worker_ = std::thread([this] { follow_mirror(); });
}

ControlService::~ControlService() {
    context_.mirror->remove_listener(listener_);
    {
        std::lock_guard lock(wake_mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
}

// The groups of the state file and of klipsfs's policies, checked against
// the kernel.  A state file that cannot be read or parsed is left alone
// (klipsfs starts without it) until the next change rewrites it.
void ControlService::restore() {
    std::lock_guard lock(mutex_);
    compat::StateFile state;
    const std::string& path = context_.state_file;
    if (!path.empty()) {
        try {
            if (const auto text = read_file(path)) {
                state = compat::parse_state(*text);
                state_text_ = *text;
                LOG_NOTICE("control: state file %s: %zu unbound groups, %zu tun SAs", path.c_str(),
                           state.unbound.size(), state.tuns.size());
            } else {
                LOG_NOTICE("control: no state file %s yet", path.c_str());
            }
        } catch (const std::exception& e) {
            LOG_ERROR("control: state file %s refused, starting without it: %s", path.c_str(),
                      e.what());
        }
    }

    compat::Restored restored = compat::restore_groups(state, view());
    for (const std::string& line : restored.log)
        LOG_NOTICE("control: %s", line.c_str());
    book_ = std::move(restored.book);
    LOG_NOTICE("control: %zu groups restored", book_.groups().size());

    state_ = compat::state_of(book_, view());
    const std::string text = compat::serialise_state(state_);
    // A daemon that never had groups leaves no file behind.
    const bool nothing_to_keep = state_text_.empty() && book_.groups().empty();
    if (!path.empty() && text != state_text_ && !nothing_to_keep) {
        try {
            write_file_atomically(path, text);
            state_text_ = text;
        } catch (const std::exception& e) {
            LOG_ERROR("control: %s", e.what());
        }
    }
    context_.set_recorded_groups({book_.groups().begin(), book_.groups().end()});
}

// The kernel as the next command must see it: the mirror's copy, rebuilt
// when it changed, with the changes the mirror has not shown yet.
const compat::KernelView& ControlService::view() {
    const std::uint64_t generation = context_.mirror->generation();
    if (!have_base_ || generation != base_generation_)
        rebuild_view();
    return view_;
}

void ControlService::rebuild_view() {
    const auto snapshot = context_.mirror->snapshot();
    base_ = kernel_view_of(*snapshot);
    base_generation_ = snapshot->generation();
    have_base_ = true;

    const auto now = std::chrono::steady_clock::now();
    bool overdue = false;
    std::erase_if(pending_, [&](const Pending& change) {
        const compat::KernelPolicy wanted = to_kernel_policy(change.policy);
        const bool present =
            std::any_of(base_.policies.begin(), base_.policies.end(),
                        [&](const compat::KernelPolicy& p) { return same_eroute(p, wanted); });
        if (present == change.present)
            return true;
        if (now >= change.until) {
            overdue = true;
            return true;
        }
        return false;
    });
    if (overdue) {
        LOG_WARNING("control: the XFRM mirror missed a policy change; resynchronising");
        context_.mirror->request_resync();
    }
    for (const Pending& change : pending_)
        overlay(change);
    view_ = compat::KernelView{base_.states, base_.policies, context_.caps};
}

void ControlService::overlay(const Pending& change) {
    const compat::KernelPolicy policy = to_kernel_policy(change.policy);
    std::erase_if(base_.policies,
                  [&](const compat::KernelPolicy& p) { return same_eroute(p, policy); });
    if (change.present)
        base_.policies.push_back(policy);
    view_ = compat::KernelView{base_.states, base_.policies, context_.caps};
}

// The outcome's kernel changes and state file, all or none.
void ControlService::carry_out(const compat::Outcome& outcome, Stopwatch& time) {
    struct Step {
        netlink::XfrmPolicy policy;
        bool added;
    };
    std::vector<Step> done;
    const auto snapshot = context_.mirror->snapshot();
    try {
        for (const compat::KernelPolicy& gone : outcome.remove) {
            const netlink::XfrmPolicy* known =
                gone.index != 0 ? snapshot->find_policy(gone.index) : nullptr;
            netlink::XfrmPolicy original = known ? *known : to_xfrm_policy(gone);
            client_.delete_policy(netlink::PolicyId::of(original));
            done.push_back({std::move(original), false});
        }
        for (const compat::KernelPolicy& policy : outcome.install) {
            netlink::XfrmPolicy added = to_xfrm_policy(policy);
            client_.add_policy(added);
            done.push_back({std::move(added), true});
        }
        time.lap("kernel");
        // A group made and dissolved again leaves the text as it was.
        if (outcome.state_file && !context_.state_file.empty() &&
            *outcome.state_file != state_text_)
            write_file_atomically(context_.state_file, *outcome.state_file);
        time.lap("state file");
    } catch (...) {
        for (auto step = done.rbegin(); step != done.rend(); ++step) {
            try {
                if (step->added) {
                    netlink::PolicyId id = netlink::PolicyId::of(step->policy);
                    id.index = 0;
                    client_.delete_policy(id);
                } else {
                    netlink::XfrmPolicy again = step->policy;
                    again.index = 0;
                    client_.add_policy(again);
                }
            } catch (const std::exception& e) {
                LOG_ERROR("control: could not undo a change to %s: %s",
                          netlink::describe(step->policy).c_str(), e.what());
            }
        }
        throw;
    }

    const auto until = std::chrono::steady_clock::now() + pending_limit;
    for (Step& step : done) {
        step.policy.index = 0;
        pending_.push_back(Pending{std::move(step.policy), step.added, until});
        overlay(pending_.back());
    }
}

void ControlService::commit(compat::Outcome outcome, const Caller* who) {
    // bind and unbind leave the groups as they were: the listing's copy
    // then stays (copying every group per command showed at 2,000 groups).
    const auto old_groups = book_.groups();
    const auto new_groups = outcome.book.groups();
    // (A book a command did not change shares its groups with the old one.)
    const bool same_groups =
        (old_groups.data() == new_groups.data() && old_groups.size() == new_groups.size()) ||
        std::equal(
            old_groups.begin(), old_groups.end(), new_groups.begin(), new_groups.end(),
            [](const compat::SaGroup& a, const compat::SaGroup& b) { return a.sas == b.sas; });
    book_ = std::move(outcome.book);
    if (outcome.state_file)
        state_text_ = std::move(*outcome.state_file);
    if (outcome.state)
        state_ = std::move(*outcome.state);
    if (!same_groups)
        context_.set_recorded_groups({book_.groups().begin(), book_.groups().end()});
    for (const std::string& line : outcome.log) {
        if (who)
            LOG_INFO("control: %s: %s", caller_text(who).c_str(), line.c_str());
        else
            LOG_NOTICE("control: %s", line.c_str());
    }
}

namespace {

// The kernel SAs a command names (tun SAs have no state).
std::vector<compat::Said> kernel_saids(const compat::Command& command) {
    std::vector<compat::Said> saids;
    std::visit(
        [&](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, compat::GroupCommand>)
                saids = c.sas;
            else if constexpr (std::is_same_v<T, compat::UngroupCommand>)
                saids = {c.sa};
            else if constexpr (std::is_same_v<T, compat::BindCommand>)
                saids = {c.first};
        },
        command);
    std::erase_if(saids, [](const compat::Said& s) { return s.proto == compat::Proto::tun; });
    return saids;
}

netlink::StateId state_id_of(const compat::Said& said) {
    netlink::StateId id;
    id.daddr = address_of(said.dst);
    id.spi = said.spi;
    id.proto = static_cast<std::uint8_t>(said.proto);
    id.family = static_cast<std::uint8_t>(said.dst.family);
    return id;
}

} // namespace

// After ENOENT: whether an SA the command names is in the kernel but not yet
// in the mirror (made by `ip xfrm state add` a moment before the command:
// the mirror learns of it asynchronously).  If so, waits for the mirror.
bool ControlService::caught_up_with(const compat::Command& command) {
    std::vector<compat::Said> missing;
    for (const compat::Said& said : kernel_saids(command))
        if (!compat::find_kernel_sa(view().sas, said) && client_.state_exists(state_id_of(said)))
            missing.push_back(said);
    if (missing.empty())
        return false;
    const auto deadline = std::chrono::steady_clock::now() + pending_limit;
    for (;;) {
        const std::uint64_t seen = context_.mirror->generation();
        if (std::all_of(missing.begin(), missing.end(), [&](const compat::Said& said) {
                return compat::find_kernel_sa(view().sas, said) != nullptr;
            }))
            return true;
        if (!context_.mirror->wait_for_change(seen, deadline))
            return false;
    }
}

ControlReply ControlService::execute(std::string_view line, const Caller& who) {
    std::lock_guard lock(mutex_);
    try {
        const std::optional<compat::Command> command = compat::parse_command(line);
        if (!command)
            return {0, "ok"};
        Stopwatch time;
        const compat::KernelView& kernel = view();
        time.lap("view");
        compat::Outcome outcome;
        try {
            outcome = compat::apply(*command, kernel, book_, state_);
        } catch (const compat::Error& e) {
            if (e.code() != ENOENT || !caught_up_with(*command))
                throw;
            outcome = compat::apply(*command, view(), book_, state_);
        }
        time.lap("apply");
        carry_out(outcome, time);
        ControlReply reply{0, outcome.reply};
        commit(std::move(outcome), &who);
        time.lap("commit");
        LOG_DEBUG("control: %s", time.text().c_str());
        return reply;
    } catch (const compat::Error& e) {
        return {e.code(), e.what()};
    } catch (const netlink::Error& e) {
        return {e.code(), e.what()};
    }
}

// A group some member of which is no longer a usable kernel state, checked
// by hashing so that each mirror change costs O(states + members).
namespace {

struct SaidHash {
    std::size_t operator()(const compat::Said& said) const {
        std::size_t h = std::hash<std::uint32_t>{}(said.spi) ^ static_cast<std::size_t>(said.proto);
        for (std::uint8_t byte : said.dst.bytes)
            h = h * 131 + byte;
        return h;
    }
};

// Which usable states there are, as one number: a sum of mixed hashes, so
// the order of states does not matter.  Changes when a state comes or goes
// (but for a collision, which only delays the check to the next change).
std::uint64_t fingerprint(const compat::KernelView& kernel) {
    std::uint64_t sum = 0;
    for (const compat::KernelSa& sa : kernel.sas) {
        if (sa.larval || sa.kernel_owned)
            continue;
        std::uint64_t h = SaidHash{}(sa.said) + 0x9e3779b97f4a7c15u;
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
        sum += h ^ (h >> 31);
    }
    return sum;
}

bool some_member_gone(const compat::GroupBook& book, const compat::KernelView& kernel) {
    std::unordered_set<compat::Said, SaidHash> usable;
    for (const compat::KernelSa& sa : kernel.sas)
        if (!sa.larval && !sa.kernel_owned)
            usable.insert(sa.said);
    for (const compat::SaGroup& group : book.groups())
        for (const compat::Said& said : group.sas)
            if (said.proto != compat::Proto::tun && !usable.contains(said))
                return true;
    return false;
}

} // namespace

void ControlService::follow_mirror() {
    for (;;) {
        {
            std::unique_lock lock(wake_mutex_);
            wake_.wait(lock, [this] { return changed_ || stopping_; });
            if (stopping_)
                return;
            changed_ = false;
        }
        std::lock_guard lock(mutex_);
        try {
            // Most changes are policies, or states of no group: skip those
            // without building a set of every state.
            const std::uint64_t states = fingerprint(view());
            if (states == states_checked_ || book_.groups().empty())
                continue;
            if (!some_member_gone(book_, view())) {
                states_checked_ = states;
                continue;
            }
            compat::Outcome outcome = compat::reconcile(view(), book_);
            Stopwatch time;
            carry_out(outcome, time);
            commit(std::move(outcome), nullptr);
        } catch (const std::exception& e) {
            LOG_ERROR("control: following a kernel change: %s", e.what());
        }
    }
}

} // namespace fs
