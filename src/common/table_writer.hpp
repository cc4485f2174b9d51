// Column alignment as Go's text/tabwriter does it, with docker's settings,
// so `berth ps` and friends line up exactly like `docker ps`.
//
// The model is tabwriter's "elastic tabstops": text is cut into cells, each
// ended by a tab, a line ends at '\n'. Tab-ended cells in consecutive lines
// form a column, as wide as its widest cell plus padding (at least
// min_width); the last cell of a line ends with no tab, belongs to no column
// and is never padded. A line with fewer cells ends the columns it lacks, so
// the columns after it are measured afresh. '\v' ends a cell like a tab and
// '\f' ends a line and every column (a new table starts).
//
// Widths are terminal columns (docker's fork of tabwriter measures with
// go-runewidth): East Asian wide characters count 2, combining marks 0.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

// tabwriter.NewWriter's parameters (flags are always 0). The defaults are
// docker's formatter: NewWriter(out, 10, 1, 3, ' ', 0).
struct TabStyle {
  size_t min_width = 10;  // a column's width, padding included, is at least this
  size_t tab_width = 1;   // width of a '\t' when pad_char is '\t'
  size_t padding = 3;     // added to the widest cell of a column
  char pad_char = ' ';    // '\t' pads with tabs, each worth tab_width
};

// Aligns the tab-ended cells of text (see above).
std::string align_tabs(std::string_view text, const TabStyle& style = {});

// Terminal columns s takes (runewidth.StringWidth): wide East Asian
// characters and emoji 2, combining marks, zero-width and control characters
// 0, the rest 1; an invalid UTF-8 byte counts 1.
size_t display_width(std::string_view s);

// Rows of cells to aligned text, one line per row, for commands that have
// their cells at hand rather than a template's output. A tab, newline, '\v'
// or '\f' inside a cell becomes a space so it cannot start a cell or a line.
class TableWriter {
 public:
  explicit TableWriter(TabStyle style = {}) : style_(style) {}
  void add_row(const std::vector<std::string>& cells);
  // The rows aligned; every line, the last too, ends in '\n'.
  std::string str() const { return align_tabs(text_, style_); }

 private:
  TabStyle style_;
  std::string text_;
};

}  // namespace berth
