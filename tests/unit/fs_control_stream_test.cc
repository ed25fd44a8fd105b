// fs::ControlStream as a specification: bytes written to one open
// ipsec/control in, commands run and write()/close() results out.
#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fs/control_stream.h"

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

TEST(ControlStream, CompleteLinesRunInOrderInsideTheWrite) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write("a\nb\n"), 0);
    EXPECT_EQ(r.lines, (Lines{"a", "b"}));
    EXPECT_EQ(s.reply(), "ok\n");
}

TEST(ControlStream, PartialLineWaitsForTheRestOrForFlush) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write("gr"), 0);
    EXPECT_EQ(s.write("oup x"), 0);
    EXPECT_TRUE(r.lines.empty());
    EXPECT_TRUE(s.has_partial_line());
    EXPECT_EQ(s.flush(), 0);
    EXPECT_EQ(r.lines, (Lines{"group x"}));
    EXPECT_EQ(s.flush(), 0) << "flush may come again with nothing left";
    EXPECT_EQ(r.lines.size(), 1u);
}

TEST(ControlStream, FirstFailureFailsTheWriteAndDropsTheRest) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write("a\nfail 17\nb\npartial"), EEXIST);
    EXPECT_EQ(r.lines, (Lines{"a", "fail 17"}));
    EXPECT_EQ(s.reply(), "it failed\n");
    EXPECT_FALSE(s.has_partial_line());
    EXPECT_EQ(s.flush(), 0);
    EXPECT_EQ(s.write("c\n"), 0) << "the open file stays usable";
    EXPECT_EQ(r.lines, (Lines{"a", "fail 17", "c"}));
}

TEST(ControlStream, FlushReportsTheLeftoverLinesError) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write("fail 16"), 0);
    EXPECT_EQ(s.flush(), EBUSY);
}

TEST(ControlStream, BlankLinesAndCarriageReturnsAreIgnored) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write("\n  \t\nx\r\n\r\n"), 0);
    EXPECT_EQ(r.lines, (Lines{"x"}));
}

TEST(ControlStream, OverlongPartialLineIsRefused) {
    Recorder r;
    ControlStream s = r.stream();
    EXPECT_EQ(s.write(std::string(ControlStream::max_line + 1, 'x')), EINVAL);
    EXPECT_FALSE(s.has_partial_line());
    EXPECT_TRUE(r.lines.empty());
    EXPECT_NE(s.reply().find("longer than"), std::string::npos);
}

} // namespace
} // namespace fs
