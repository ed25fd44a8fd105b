// Helpers for the host and lab tests that mount klipsfs (or the FUSE layer
// with fakes): start a daemon, wait for its mount with a deadline, stop it,
// and look at /proc/self/mountinfo.  Waiting is always polling with a
// deadline, never a fixed sleep.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs_test {

using Clock = std::chrono::steady_clock;

// The file system type of the mount at `path` ("fuse.klipsfs"), if any.
inline std::optional<std::string> mount_type(const std::string& path) {
    std::ifstream info("/proc/self/mountinfo");
    std::string line;
    std::optional<std::string> found;
    while (std::getline(info, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point, word;
        fields >> id >> parent >> devno >> root >> point;
        if (point != path)
            continue;
        while (fields >> word && word != "-") {
        }
        std::string type;
        fields >> type;
        found = type; // the last one is the top of the stack
    }
    return found;
}

// Polls `done` every millisecond until it is true or `timeout` passes.
template <typename Done> bool eventually(Done done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

inline std::string make_temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/klipsfs-test.XXXXXX";
    if (!mkdtemp(pattern.data()))
        return {};
    return pattern;
}

inline int run_command(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A daemon started with fork+exec, its stderr in a file.
class Daemon {
public:
    Daemon() = default;
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    ~Daemon() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    void start(const std::vector<std::string>& argv, const std::string& stderr_path) {
        pid_ = fork();
        if (pid_ == 0) {
            const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (err >= 0)
                dup2(err, STDERR_FILENO);
            std::vector<char*> args;
            for (const std::string& arg : argv)
                args.push_back(const_cast<char*>(arg.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
    }

    pid_t pid() const { return pid_; }

    // True once `mountpoint` is a fuse.klipsfs mount; false if the daemon
    // died or the deadline passed.
    bool wait_mounted(const std::string& mountpoint,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        bool died = false;
        const bool done = eventually(
            [&] {
                if (pid_ > 0 && waitpid(pid_, &status_, WNOHANG) == pid_) {
                    pid_ = -1;
                    died = true;
                    return true;
                }
                return mount_type(mountpoint) == "fuse.klipsfs";
            },
            timeout);
        return done && !died;
    }

    // The exit status (or 128+signal), or -1 if it did not end in time.
    int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        if (pid_ < 0)
            return decode(status_);
        const bool ended = eventually([&] { return waitpid(pid_, &status_, WNOHANG) == pid_; },
                                      timeout);
        if (!ended)
            return -1;
        pid_ = -1;
        return decode(status_);
    }

    void signal(int sig) const {
        if (pid_ > 0)
            kill(pid_, sig);
    }

private:
    static int decode(int status) {
        if (WIFEXITED(status))
            return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    }

    pid_t pid_ = -1;
    int status_ = 0;
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace fs_test
