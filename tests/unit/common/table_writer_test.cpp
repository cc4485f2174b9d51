// The tabwriter port: docker's table layout (minwidth 10, padding 3), Go's
// column-block rules and terminal widths.
#include "common/table_writer.hpp"

#include "test_support.hpp"

namespace {

using berth::align_tabs;
using berth::display_width;
using berth::TableWriter;
using berth::TabStyle;

TEST(TableWriter, EmptyDockerPsHeader) {
  // `docker ps` with no containers prints exactly this line.
  EXPECT_EQ(align_tabs("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n"),
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n");
}

TEST(TableWriter, ColumnsAreWidestCellPlusThreeAtLeastTen) {
  EXPECT_EQ(align_tabs("CONTAINER ID\tNAMES\n"
                       "3f2a9c1b7d4e\tweb\n"
                       "a1\ta-very-long-container-name\n"),
            "CONTAINER ID   NAMES\n"
            "3f2a9c1b7d4e   web\n"
            "a1             a-very-long-container-name\n");
}

TEST(TableWriter, TrailingCellIsNotPaddedButATrailingTabPads) {
  EXPECT_EQ(align_tabs("a\tb\n"), "a         b\n");
  EXPECT_EQ(align_tabs("a\tb\t\n"), "a         b         \n");
  EXPECT_EQ(align_tabs("a\t\tc\n"), "a                   c\n");  // an empty cell is padded too
  EXPECT_EQ(align_tabs("x\ty"), "x         y");                 // no newline added
  EXPECT_EQ(align_tabs(""), "");
}

TEST(TableWriter, ColumnBlocksFollowGo) {
  // The example of Go's text/tabwriter documentation: the b and c cells are
  // in different columns, because the line "a\t" breaks the block.
  TabStyle style{.min_width = 0, .tab_width = 8, .padding = 1, .pad_char = ' '};
  EXPECT_EQ(align_tabs("aaaa\tbbb\td\n"
                       "aa\tb\tdd\n"
                       "a\t\n"
                       "aa\tcccc\teee\n",
                       style),
            "aaaa bbb d\n"
            "aa   b   dd\n"
            "a    \n"
            "aa   cccc eee\n");
  // A line without tabs ends every column: what follows is measured anew.
  EXPECT_EQ(align_tabs("a\tb\nplain line\nlonger-cell\tc\n", style), "a b\nplain line\nlonger-cell c\n");
}

TEST(TableWriter, FormFeedStartsANewTable) {
  TabStyle style{.min_width = 0, .tab_width = 8, .padding = 1, .pad_char = ' '};
  EXPECT_EQ(align_tabs("a\tb\flonger\tc\n", style), "a b\nlonger c\n");
  EXPECT_EQ(align_tabs("a\tb\nlonger\tc\n", style), "a      b\nlonger c\n");
  EXPECT_EQ(align_tabs("a\vb\nlong\vc\n", style), "a    b\nlong c\n");  // '\v' ends a cell like '\t'
}

TEST(TableWriter, TabPadding) {
  TabStyle style{.min_width = 0, .tab_width = 8, .padding = 1, .pad_char = '\t'};
  EXPECT_EQ(align_tabs("a\tb\nlonger-than-8\tc\n", style), "a\t\tb\nlonger-than-8\tc\n");
}

TEST(TableWriter, WidthsAreTerminalColumns) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("\xe6\x97\xa5\xe6\x9c\xac"), 4u);  // 日本: two wide characters
  EXPECT_EQ(display_width("e\xcc\x81"), 1u);                 // e + combining acute
  EXPECT_EQ(display_width("\xc3\xa9"), 1u);                  // é
  EXPECT_EQ(display_width("\xf0\x9f\x90\xb3"), 2u);          // 🐳
  EXPECT_EQ(display_width("\xff"), 1u);                      // an invalid byte
  EXPECT_EQ(align_tabs("\xe6\x97\xa5\xe6\x9c\xac\tx\nab\ty\n", {.min_width = 0, .padding = 1}),
            "\xe6\x97\xa5\xe6\x9c\xac x\nab   y\n");
}

TEST(TableWriter, RowsOfCells) {
  TableWriter t;
  t.add_row({"VOLUME NAME", "DRIVER"});
  t.add_row({"data", "local"});
  t.add_row({"with\ttab", "a\nb"});  // cannot break the layout
  EXPECT_EQ(t.str(),
            "VOLUME NAME   DRIVER\n"
            "data          local\n"
            "with tab      a b\n");
}

}  // namespace
