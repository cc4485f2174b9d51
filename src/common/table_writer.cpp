// A port of Go's text/tabwriter (as vendored by docker's CLI, flags 0): the
// same cell model and the same recursive column-block layout, so the output
// matches docker's byte for byte, odd cases (ragged rows, empty cells,
// trailing tabs) included.
#include "common/table_writer.hpp"

#include <algorithm>
#include <iterator>

#include "common/utf8.hpp"

namespace berth {
namespace {

struct Range {
  char32_t lo, hi;
};

// East Asian Wide/Fullwidth blocks and the emoji that go-runewidth counts 2
// (Unicode 15, merged into blocks: a terminal shows these two columns wide).
constexpr Range kWide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x3029},
    {0x3030, 0x303E},   {0x3041, 0x3098},   {0x309B, 0x33FF},   {0x3400, 0x4DBF},
    {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},
    {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},
    {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF},
    {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
    {0x1F200, 0x1F265}, {0x1F300, 0x1F3FA}, {0x1F400, 0x1F64F}, {0x1F680, 0x1F6FF},
    {0x1F7E0, 0x1F7F0}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD},
    {0x30000, 0x3FFFD},
};

// Combining marks, zero-width and format characters: they take no column.
constexpr Range kZero[] = {
    {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD},   {0x05BF, 0x05BF},
    {0x05C1, 0x05C2},   {0x05C4, 0x05C5},   {0x05C7, 0x05C7},   {0x0610, 0x061A},
    {0x064B, 0x065F},   {0x0670, 0x0670},   {0x06D6, 0x06DC},   {0x06DF, 0x06E4},
    {0x06E7, 0x06E8},   {0x06EA, 0x06ED},   {0x0E31, 0x0E31},   {0x0E34, 0x0E3A},
    {0x0E47, 0x0E4E},   {0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF},   {0x200B, 0x200F},
    {0x2028, 0x202E},   {0x2060, 0x206F},   {0x20D0, 0x20FF},   {0x302A, 0x302F},
    {0x3099, 0x309A},   {0xFE00, 0xFE0F},   {0xFE20, 0xFE2F},   {0xFEFF, 0xFEFF},
    {0x1F3FB, 0x1F3FF}, {0xE0000, 0xE0FFF},
};

template <size_t N>
bool in(const Range (&table)[N], char32_t r) {
  auto it = std::upper_bound(std::begin(table), std::end(table), r,
                             [](char32_t v, const Range& x) { return v < x.lo; });
  return it != std::begin(table) && r <= std::prev(it)->hi;
}

size_t rune_width(char32_t r) {
  if (r < 0x20 || (r >= 0x7F && r < 0xA0)) return 0;
  if (r < 0x300) return 1;
  if (in(kZero, r)) return 0;
  return in(kWide, r) ? 2 : 1;
}

struct Cell {
  size_t size = 0;   // bytes of text in buf_
  size_t width = 0;  // terminal columns
  bool htab = false;  // ended by '\t' (not '\v'); only DiscardEmptyColumns cares
};

// tabwriter.Writer minus the escapes, HTML filtering and flags docker does
// not use. Input is taken whole, so Write and Flush are one call.
class Aligner {
 public:
  Aligner(const TabStyle& style, std::string& out) : style_(style), out_(out) { lines_.emplace_back(); }

  void write(std::string_view text) {
    size_t n = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      char ch = text[i];
      if (ch != '\t' && ch != '\v' && ch != '\n' && ch != '\f') continue;
      append(text.substr(n, i - n));
      n = i + 1;
      size_t ncells = terminate_cell(ch == '\t');
      if (ch == '\n' || ch == '\f') {
        lines_.emplace_back();
        // A '\f' ends every column; a line of one cell ends them anyway, and
        // flushing there keeps the buffered text short, as tabwriter does.
        if (ch == '\f' || ncells == 1) flush();
      }
    }
    append(text.substr(n));
    flush();
  }

 private:
  void append(std::string_view s) {
    buf_ += s;
    cell_.size += s.size();
    cell_.width += display_width(s);
  }

  size_t terminate_cell(bool htab) {
    cell_.htab = htab;
    lines_.back().push_back(cell_);
    cell_ = Cell{};
    return lines_.back().size();
  }

  void flush() {
    if (cell_.size > 0) terminate_cell(false);
    format(0, 0, lines_.size());
    buf_.clear();
    cell_ = Cell{};
    lines_.assign(1, {});
    widths_.clear();
  }

  void write_padding(size_t textw, size_t cellw, bool use_tabs) {
    if (style_.pad_char == '\t' || use_tabs) {
      if (style_.tab_width == 0) return;  // tabs of no width cannot pad
      size_t tw = style_.tab_width;
      cellw = (cellw + tw - 1) / tw * tw;
      if (cellw > textw) out_.append((cellw - textw + tw - 1) / tw, '\t');
      return;
    }
    if (cellw > textw) out_.append(cellw - textw, style_.pad_char);
  }

  size_t write_lines(size_t pos, size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      const auto& line = lines_[i];
      for (size_t j = 0; j < line.size(); ++j) {
        const Cell& c = line[j];
        if (c.size > 0) {
          out_.append(buf_, pos, c.size);
          pos += c.size;
        }
        if (j < widths_.size()) write_padding(c.width, widths_[j], false);
      }
      if (i + 1 == lines_.size()) {
        out_.append(buf_, pos, cell_.size);  // the unterminated last line
        pos += cell_.size;
      } else {
        out_ += '\n';
      }
    }
    return pos;
  }

  // Lays out lines [line0, line1) whose first widths_.size() columns are
  // known: finds each block of consecutive lines that have a cell in the
  // next column, measures that column over the block and recurses into it.
  size_t format(size_t pos, size_t line0, size_t line1) {
    size_t column = widths_.size();
    // The last cell of a line is not tab-ended, so it is in no column.
    auto has_column = [&](size_t l) { return lines_[l].size() > column + 1; };
    for (size_t cur = line0; cur < line1; ++cur) {
      if (!has_column(cur)) continue;
      pos = write_lines(pos, line0, cur);
      line0 = cur;
      size_t width = style_.min_width;
      for (; cur < line1 && has_column(cur); ++cur)
        width = std::max(width, lines_[cur][column].width + style_.padding);
      widths_.push_back(width);
      pos = format(pos, line0, cur);
      widths_.pop_back();
      line0 = cur;
    }
    return write_lines(pos, line0, line1);
  }

  const TabStyle& style_;
  std::string& out_;
  std::string buf_;  // the text of all buffered cells, separators removed
  Cell cell_;        // the cell being read
  std::vector<std::vector<Cell>> lines_;
  std::vector<size_t> widths_;  // widths of the columns being laid out
};

}  // namespace

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) width += rune_width(utf8::decode(s, i));
  return width;
}

std::string align_tabs(std::string_view text, const TabStyle& style) {
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  Aligner(style, out).write(text);
  return out;
}

void TableWriter::add_row(const std::vector<std::string>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) text_ += '\t';
    for (char c : cells[i]) text_ += (c == '\t' || c == '\n' || c == '\v' || c == '\f') ? ' ' : c;
  }
  text_ += '\n';
}

}  // namespace berth
