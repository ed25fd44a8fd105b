// fs::log: stderr (journal-aware) or syslog, with a runtime level.
#define FUSE_USE_VERSION 34

#include "fs/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fuse_log.h>
#include <mutex>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

namespace fs::log {

namespace {

std::atomic<Level> threshold{Level::notice};
std::atomic<bool> to_syslog{false};
std::mutex stderr_lock;

// True when journald reads our stderr: JOURNAL_STREAM is "DEV:INODE" of it.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st{};
    if (!stream || fstat(STDERR_FILENO, &st) != 0)
        return false;
    unsigned long dev = 0, ino = 0;
    if (std::sscanf(stream, "%lu:%lu", &dev, &ino) != 2)
        return false;
    return dev == st.st_dev && ino == st.st_ino;
}

const char* tag(Level level) {
    switch (level) {
    case Level::error: return "error: ";
    case Level::warning: return "warning: ";
    default: return "";
    }
}

void write_v(Level level, const char* format, va_list args) {
    if (to_syslog.load()) {
        vsyslog(static_cast<int>(level), format, args);
        return;
    }
    static const bool journal = stderr_is_journal();
    char text[2048];
    std::vsnprintf(text, sizeof text, format, args);
    std::lock_guard lock(stderr_lock);
    if (journal)
        std::fprintf(stderr, "<%d>%s%s\n", static_cast<int>(level), tag(level), text);
    else
        std::fprintf(stderr, "klipsfs: %s%s\n", tag(level), text);
}

void from_libfuse(enum fuse_log_level fuse_level, const char* format, va_list args) {
    Level level = fuse_level <= FUSE_LOG_ERR       ? Level::error
                  : fuse_level == FUSE_LOG_WARNING ? Level::warning
                  : fuse_level == FUSE_LOG_NOTICE  ? Level::notice
                  : fuse_level == FUSE_LOG_INFO    ? Level::info
                                                   : Level::debug;
    if (!enabled(level))
        return;
    // libfuse ends its messages with a newline of its own.
    char text[2048];
    std::vsnprintf(text, sizeof text, format, args);
    std::string_view view(text);
    while (!view.empty() && view.back() == '\n')
        view.remove_suffix(1);
    write(level, "libfuse: %.*s", static_cast<int>(view.size()), view.data());
}

} // namespace

bool parse_level(std::string_view text, Level& level) {
    static constexpr std::pair<std::string_view, Level> names[] = {
        {"error", Level::error}, {"warning", Level::warning}, {"notice", Level::notice},
        {"info", Level::info},   {"debug", Level::debug}};
    for (const auto& [name, value] : names)
        if (text == name) {
            level = value;
            return true;
        }
    return false;
}

void set_level(Level level) { threshold = level; }

bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(threshold.load()); }

void use_syslog() {
    openlog("klipsfs", LOG_PID, LOG_DAEMON);
    to_syslog = true;
}

void write(Level level, const char* format, ...) {
    va_list args;
    va_start(args, format);
    write_v(level, format, args);
    va_end(args);
}

void capture_libfuse() { fuse_set_log_func(from_libfuse); }

} // namespace fs::log
