// fs::log: the daemon's few lines for an operator.
//
// Lines go to stderr, or to syslog once the daemon is in the background.
// Under systemd (JOURNAL_STREAM names our stderr) each line starts with the
// "<N>" priority prefix journald understands, so levels survive without a
// syslog socket.  Nothing is logged per read at the default level (notice):
// only start-up, changes, resynchronisation and errors.
#pragma once

#include <string_view>

namespace fs::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Parses "error", "warning", "notice", "info", "debug"; false if unknown.
bool parse_level(std::string_view text, Level& level);

void set_level(Level level);
bool enabled(Level level);

// From now on to syslog (ident "klipsfs", facility daemon) instead of stderr.
void use_syslog();

// printf-style; a line ending is added.
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// Routes libfuse's own messages through write().
void capture_libfuse();

} // namespace fs::log

#define KLIPSFS_LOG(level, ...)                                                                    \
    do {                                                                                           \
        if (::fs::log::enabled(level))                                                             \
            ::fs::log::write(level, __VA_ARGS__);                                                  \
    } while (0)
#define LOG_ERROR(...) KLIPSFS_LOG(::fs::log::Level::error, __VA_ARGS__)
#define LOG_WARNING(...) KLIPSFS_LOG(::fs::log::Level::warning, __VA_ARGS__)
#define LOG_NOTICE(...) KLIPSFS_LOG(::fs::log::Level::notice, __VA_ARGS__)
#define LOG_INFO(...) KLIPSFS_LOG(::fs::log::Level::info, __VA_ARGS__)
#define LOG_DEBUG(...) KLIPSFS_LOG(::fs::log::Level::debug, __VA_ARGS__)
