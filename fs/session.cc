// serve(): libfuse session set-up and tear-down around the loop.
#include "fs/session.h"

#include <cstring>
#include <memory>
#include <stdexcept>

#include "fs/log.h"

namespace fs {

namespace {

struct SessionDeleter {
    void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};

// libfuse parses options from an argv; build one.
std::vector<std::string> fuse_argv(const SessionOptions& options) {
    std::vector<std::string> argv = {"klipsfs", "-o",
                                     "fsname=klipsfs,subtype=klipsfs,allow_other,"
                                     "default_permissions"};
    for (const std::string& option : options.fuse_options) {
        argv.push_back("-o");
        argv.push_back(option);
    }
    if (options.debug)
        argv.push_back("-d");
    return argv;
}

} // namespace

int serve(const SessionOptions& options, Filesystem& filesystem) {
    std::vector<std::string> argv = fuse_argv(options);
    std::vector<char*> pointers;
    for (std::string& arg : argv)
        pointers.push_back(arg.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(pointers.size()), pointers.data());

    const fuse_lowlevel_ops& ops = Filesystem::operations();
    std::unique_ptr<fuse_session, SessionDeleter> se(
        fuse_session_new(&args, &ops, sizeof ops, &filesystem));
    fuse_opt_free_args(&args);
    if (!se)
        throw std::runtime_error("cannot start a FUSE session (bad -o option?)");
    if (fuse_set_signal_handlers(se.get()) != 0)
        throw std::runtime_error("cannot install signal handlers");
    if (fuse_session_mount(se.get(), options.mountpoint.c_str()) != 0) {
        fuse_remove_signal_handlers(se.get());
        throw std::runtime_error("cannot mount on " + options.mountpoint);
    }
    if (options.on_mounted)
        options.on_mounted();

    int result;
    if (options.single_thread) {
        result = fuse_session_loop(se.get());
    } else {
        fuse_loop_config config{};
        config.clone_fd = 0;
        config.max_idle_threads = 10;
        result = fuse_session_loop_mt(se.get(), &config);
    }

    fuse_session_unmount(se.get());
    fuse_remove_signal_handlers(se.get());
    if (result > 0)
        LOG_NOTICE("signal %d: unmounted %s", result, options.mountpoint.c_str());
    else if (result < 0)
        LOG_ERROR("FUSE loop failed: %s", std::strerror(-result));
    return result < 0 ? 1 : 0;
}

} // namespace fs
