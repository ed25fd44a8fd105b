// klipsfs: the daemon.  Mirrors the kernel's XFRM, serves the KLIPS tree.
//
//   klipsfs [-f] [-d] [-s] [--said-form=FORM] [--netns NAME] [--state-file PATH]
//           [--log-level LEVEL] [-o OPTION[,...]]... [MOUNTPOINT]
//   klipsfs -h|--help | -V|--version
//
// FORM is man (also man-page, 0) or kernel (also x); MOUNTPOINT defaults to
// /run/klipsfs, PATH to /var/lib/klipsfs/groups.
//
// Start-up order matters for errors: the options are checked, the mirror
// makes its first full copy of XFRM (the step that fails without
// CAP_NET_ADMIN), the file system is mounted, and only then does a
// background daemon detach, so every start-up error still reaches the
// terminal and the exit status.  The fork happens first, before any thread
// exists, and the parent waits for the child's word.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/control_sink.h"
#include "fs/filesystem.h"
#include "fs/listing.h"
#include "fs/log.h"
#include "fs/probe.h"
#include "fs/session.h"
#include "klipsfs_version.h"
#include "netlink/error.h"
#include "netlink/mirror.h"

namespace {

constexpr const char* default_mountpoint = "/run/klipsfs";
constexpr const char* default_state_file = "/var/lib/klipsfs/groups";

struct Options {
    std::string mountpoint = default_mountpoint;
    bool foreground = false;
    bool debug = false;
    bool single_thread = false;
    compat::SaidForm said_form = compat::SaidForm::man_page;
    std::string netns;
    std::string state_file = default_state_file;
    fs::log::Level log_level = fs::log::Level::notice;
    std::vector<std::string> fuse_options;
};

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "Usage: klipsfs [OPTION]... [MOUNTPOINT]\n"
                 "Serve KLIPS's ipsec_spigrp from the kernel's XFRM over FUSE.\n"
                 "MOUNTPOINT defaults to %s.\n"
                 "\n"
                 "  -f, --foreground       stay in the foreground, log to stderr\n"
                 "  -d, --debug            trace every FUSE request (implies -f)\n"
                 "  -s, --single-thread    serve requests in one thread\n"
                 "      --said-form=FORM   man (or man-page, 0): esp.187a101b@192.168.2.110\n"
                 "                         (default, as ipsec_spigrp(5)); kernel (or x):\n"
                 "                         esp0x187a101b@... (as the Openswan kernel printed)\n"
                 "      --netns=NAME       follow network namespace NAME (/run/netns/NAME;\n"
                 "                         a NAME with a '/' is a path, e.g. /proc/PID/ns/net)\n"
                 "      --state-file=PATH  keep groups not bound to an eroute in PATH\n"
                 "                         (default %s; empty: no file)\n"
                 "      --log-level=LEVEL  error, warning, notice (default), info, debug\n"
                 "  -o OPTION[,...]        more FUSE mount options (may be repeated)\n"
                 "  -h, --help             show this help and exit\n"
                 "  -V, --version          show the version and exit\n",
                 default_mountpoint, default_state_file);
}

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "klipsfs: %s\nTry 'klipsfs --help' for more information.\n",
                 message.c_str());
    std::exit(2);
}

compat::SaidForm parse_said_form(const std::string& text) {
    if (text == "man" || text == "man-page" || text == "0")
        return compat::SaidForm::man_page;
    if (text == "kernel" || text == "x")
        return compat::SaidForm::kernel;
    usage_error("--said-form: '" + text + "' is neither 'man' nor 'kernel'");
}

Options parse_options(int argc, char** argv) {
    enum { said_form_opt = 256, netns_opt, log_level_opt, state_file_opt };
    static const option long_options[] = {
        {"foreground", no_argument, nullptr, 'f'},
        {"debug", no_argument, nullptr, 'd'},
        {"single-thread", no_argument, nullptr, 's'},
        {"said-form", required_argument, nullptr, said_form_opt},
        {"netns", required_argument, nullptr, netns_opt},
        {"log-level", required_argument, nullptr, log_level_opt},
        {"state-file", required_argument, nullptr, state_file_opt},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, ":fdso:hV", long_options, nullptr)) != -1;) {
        switch (opt) {
        case 'f': options.foreground = true; break;
        case 'd': options.debug = options.foreground = true; break;
        case 's': options.single_thread = true; break;
        case 'o': options.fuse_options.push_back(optarg); break;
        case said_form_opt: options.said_form = parse_said_form(optarg); break;
        case netns_opt: options.netns = optarg; break;
        case state_file_opt: options.state_file = optarg; break;
        case log_level_opt:
            if (!fs::log::parse_level(optarg, options.log_level))
                usage_error(std::string("--log-level: unknown level '") + optarg + "'");
            break;
        case 'h': print_usage(stdout); std::exit(0);
        case 'V': std::printf("klipsfs %s\n", KLIPSFS_VERSION); std::exit(0);
        case ':': usage_error(std::string("option '") + argv[optind - 1] + "' needs a value");
        default: usage_error(std::string("unknown option '") + argv[optind - 1] + "'");
        }
    }
    if (optind < argc)
        options.mountpoint = argv[optind++];
    if (optind < argc)
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    return options;
}

// The mount point as an absolute path without symlinks: the daemon leaves
// its working directory in background mode, and unmounts by this path.
std::string check_mountpoint(const std::string& path) {
    struct stat st{};
    if (stat(path.c_str(), &st) != 0)
        throw std::runtime_error("mount point " + path + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
        throw std::runtime_error("mount point " + path + ": not a directory");
    char* resolved = realpath(path.c_str(), nullptr);
    if (!resolved)
        throw std::runtime_error("mount point " + path + ": " + std::strerror(errno));
    std::string absolute(resolved);
    std::free(resolved);
    return absolute;
}

// A relative path, made absolute against the directory klipsfs started in.
std::string absolute_path(const std::string& path) {
    if (path.empty() || path.front() == '/')
        return path;
    return std::filesystem::absolute(path).lexically_normal().string();
}

int open_netns(const std::string& name) {
    if (name.empty())
        return -1;
    const std::string path = name.find('/') == std::string::npos ? "/run/netns/" + name : name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error("network namespace " + name + " (" + path +
                                 "): " + std::strerror(errno));
    return fd;
}

// Background mode: the parent waits until the child reports "mounted" (a
// byte on the pipe) and exits 0, or until the child dies, and exits with
// its status.  Returns the pipe's write end in the child.
int fork_background() {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    const pid_t child = fork();
    if (child < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (child > 0) {
        close(pipe_fds[1]);
        char byte;
        ssize_t n;
        while ((n = ::read(pipe_fds[0], &byte, 1)) < 0 && errno == EINTR) {
        }
        if (n == 1)
            std::exit(0);
        int status = 0;
        waitpid(child, &status, 0);
        std::exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
    }
    close(pipe_fds[0]);
    setsid();
    return pipe_fds[1];
}

void detach(int ready_fd) {
    const char byte = 1;
    if (::write(ready_fd, &byte, 1) != 1)
        LOG_WARNING("could not tell the starting process we are ready");
    close(ready_fd);
    fs::log::use_syslog();
    if (chdir("/") != 0)
        LOG_WARNING("chdir /: %s", std::strerror(errno));
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
}

// The signals that end the FUSE loop must reach the main thread only;
// threads started while they are blocked (the mirror's) inherit the block.
class SignalBlock {
public:
    SignalBlock() {
        sigset_t set;
        sigemptyset(&set);
        for (int sig : {SIGTERM, SIGINT, SIGHUP})
            sigaddset(&set, sig);
        pthread_sigmask(SIG_BLOCK, &set, &old_);
    }
    ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

private:
    sigset_t old_;
};

void log_start(const Options& options, const netlink::Mirror& mirror,
               const fs::KernelSupport& kernel) {
    LOG_NOTICE("klipsfs %s: mount point %s, network namespace %s", KLIPSFS_VERSION,
               options.mountpoint.c_str(),
               options.netns.empty() ? "of the daemon" : options.netns.c_str());
    LOG_NOTICE("kernel: %s", kernel.describe().c_str());
    if (const std::string missing = kernel.consequences(); !missing.empty())
        LOG_WARNING("%s", missing.c_str());
    const auto snapshot = mirror.snapshot();
    LOG_NOTICE("XFRM mirror ready: %zu states, %zu policies", snapshot->states().size(),
               snapshot->policies().size());
}

int run(Options options) {
    options.mountpoint = check_mountpoint(options.mountpoint);
    options.state_file = absolute_path(options.state_file);
    if (options.netns.find('/') != std::string::npos)
        options.netns = absolute_path(options.netns);
    const int ready_fd = options.foreground ? -1 : fork_background();
    const int netns_fd = open_netns(options.netns);

    netlink::MirrorOptions mirror_options;
    mirror_options.netns_fd = netns_fd;
    netlink::Mirror mirror(mirror_options);
    {
        SignalBlock block;
        mirror.start();
    }
    const fs::KernelSupport kernel = fs::probe_kernel();
    log_start(options, mirror, kernel);
    // Resynchronisations after lost events are what an operator needs to
    // know about; the periodic ones that found nothing are not reported.
    mirror.add_listener([](const netlink::MirrorChange& change) {
        if (change.resync && *change.resync != netlink::ResyncReason::periodic)
            LOG_NOTICE("XFRM mirror resynchronised (%s)", netlink::to_string(*change.resync));
    });

    fs::MirrorListing listing(mirror, options.said_form);
    fs::ControlContext context;
    context.mirror = &mirror;
    context.netns_fd = netns_fd;
    context.state_file = options.state_file;
    context.caps = kernel.caps();
    context.set_recorded_groups = [&listing](std::vector<compat::SaGroup> groups) {
        listing.set_recorded_groups(std::move(groups));
    };
    const std::unique_ptr<fs::ControlSink> sink = fs::make_control_sink(context);
    listing.warm_up();
    LOG_NOTICE("serving ipsec_spigrp (SAIDs in the %s form)%s",
               options.said_form == compat::SaidForm::kernel ? "kernel's 0x" : "ipsec_spigrp(5)",
               sink ? " and ipsec/control" : "; no ipsec/control (no control language)");

    fs::Filesystem filesystem(listing, sink.get());
    fs::SessionOptions session;
    session.mountpoint = options.mountpoint;
    session.debug = options.debug;
    session.single_thread = options.single_thread;
    session.fuse_options = options.fuse_options;
    session.on_mounted = [&] {
        LOG_NOTICE("mounted on %s", options.mountpoint.c_str());
        if (ready_fd >= 0)
            detach(ready_fd);
    };
    const int status = fs::serve(session, filesystem);
    mirror.stop();
    if (netns_fd >= 0)
        close(netns_fd);
    return status;
}

} // namespace

int main(int argc, char** argv) {
    // Each rendering of a large listing allocates a few megabytes and frees
    // them again; keeping that memory (rather than unmapping and faulting it
    // back in every time) makes renderings several times faster where page
    // faults are dear, as in the User-Mode Linux lab.
    // One arena for every thread: FUSE's worker threads take turns
    // rendering, and each with an arena of its own faulted in that memory
    // anew (in the lab the first change seen by each new worker took up to
    // 0.7 s to show, against 10 ms once warm).
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_ARENA_MAX, 1);

    const Options options = parse_options(argc, argv);
    fs::log::set_level(options.log_level);
    fs::log::capture_libfuse();
    try {
        return run(options);
    } catch (const netlink::Error& e) {
        LOG_ERROR("%s", e.what());
        if (e.code() == EPERM)
            LOG_ERROR("klipsfs needs CAP_NET_ADMIN (run it as root)");
    } catch (const std::exception& e) {
        LOG_ERROR("%s", e.what());
    }
    return 1;
}
