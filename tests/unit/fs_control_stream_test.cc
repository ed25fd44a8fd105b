// fs::ControlStream as a specification: bytes written to one open
// ipsec/control in, commands run and write()/close() results out.
#include "fs/control_stream.h"

#include <cerrno>
#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

namespace fs {
namespace {

// Records every line; a line "fail N" fails with errno N.
struct Recorder {
    std::vector<std::string> lines;

    ControlStream stream() {
        return ControlStream([this](std::string_view line) {
            lines.emplace_back(line);
            if (line.rfind("fail ", 0) == 0)
                return ControlReply{std::stoi(std::string(line.substr(5))), "it failed"};
            return ControlReply{0, "ok"};
        });
    }
};

using Lines = std::vector<std::string>;
using Result = ControlStream::WriteResult;

// What write() returns, as {errno, bytes accepted}.
std::pair<int, std::size_t> written(Result r) {
    return {r.error, r.accepted};
}
using Written = std::pair<int, std::size_t>;

TEST(ControlStream, CompleteLinesRunInOrderInsideTheWrite) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write("a\nb\n")), (Written{0, 4}));
    EXPECT_EQ(r.lines, (Lines{"a", "b"}));
    EXPECT_EQ(s.reply(), "ok\n");
}

TEST(ControlStream, PartialLineWaitsForTheRestOrForFlush) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write("gr")), (Written{0, 2}));
    EXPECT_EQ(written(s.write("oup x")), (Written{0, 5}));
    EXPECT_TRUE(r.lines.empty());
    EXPECT_TRUE(s.has_partial_line());
    EXPECT_EQ(s.flush(), 0);
    EXPECT_EQ(r.lines, (Lines{"group x"}));
    EXPECT_EQ(s.flush(), 0) << "flush may come again with nothing left";
    EXPECT_EQ(r.lines.size(), 1u);
}

TEST(ControlStream, FirstFailingLineFailsTheWriteAndDropsTheRest) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write("fail 17\nb\npartial")), (Written{EEXIST, 0}));
    EXPECT_EQ(r.lines, (Lines{"fail 17"}));
    EXPECT_EQ(s.reply(), "it failed\n");
    EXPECT_FALSE(s.has_partial_line());
    EXPECT_EQ(s.flush(), 0);
    EXPECT_EQ(written(s.write("c\n")), (Written{0, 2})) << "the open file stays usable";
    EXPECT_EQ(r.lines, (Lines{"fail 17", "c"}));
}

TEST(ControlStream, FailureAfterLinesThatRanIsAShortWriteUpToTheFailingLine) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write("a\nfail 17\nb\n")), (Written{EEXIST, 2}))
        << "a writer retries from the failing line, so \"a\" never runs twice";
    EXPECT_EQ(written(s.write("fail 17\nb\n")), (Written{EEXIST, 0}));
    EXPECT_EQ(r.lines, (Lines{"a", "fail 17", "fail 17"}));
}

TEST(ControlStream, ShortWriteCountsOnlyThisWritesBytes) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write("gro")), (Written{0, 3}));
    EXPECT_EQ(written(s.write("up\nfail 2\n")), (Written{ENOENT, 3}))
        << "\"up\\n\" completed the line that ran";
    EXPECT_EQ(written(s.write("fa")), (Written{0, 2}));
    EXPECT_EQ(written(s.write("il 2\nx\n")), (Written{ENOENT, 0}))
        << "the failing line began in an earlier write";
    EXPECT_EQ(r.lines, (Lines{"group", "fail 2", "fail 2"}));
}

TEST(ControlStream, ReadsContinueThroughTheReplyWhateverTheFileOffset) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.read_reply(100, 0), "") << "nothing run yet";
    ASSERT_EQ(s.write("fail 2\n").error, ENOENT);
    EXPECT_EQ(s.read_reply(3, 7), "it ") << "the offset counts the bytes written";
    EXPECT_EQ(s.read_reply(100, 10), "failed\n");
    EXPECT_EQ(s.read_reply(100, 17), "") << "then end of file";
    EXPECT_EQ(s.read_reply(100, 0), "it failed\n") << "offset 0 reads it again";
    ASSERT_EQ(s.write("x\n").error, 0);
    EXPECT_EQ(s.read_reply(100, 9), "ok\n") << "a new reply is read from its start";
}

TEST(ControlStream, FlushReportsTheLeftoverLinesError) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write("fail 16")), (Written{0, 7}));
    EXPECT_EQ(s.flush(), EBUSY);
}

TEST(ControlStream, BlankLinesAndCarriageReturnsAreIgnored) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write("\n  \t\nx\r\n\r\n").error, 0);
    EXPECT_EQ(r.lines, (Lines{"x"}));
}

TEST(ControlStream, OverlongPartialLineIsRefused) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(written(s.write(std::string(ControlStream::max_line + 1, 'x'))),
              (Written{EINVAL, 0}));
    EXPECT_FALSE(s.has_partial_line());
    EXPECT_TRUE(r.lines.empty());
    EXPECT_NE(s.reply().find("longer than"), std::string::npos);
}

} // namespace
} // namespace fs
