#include "man_page.h"

#include <cctype>
#include <stdexcept>

#include "option_table.h"

namespace starter {

namespace {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '=';
}

void replace_all(std::string& text, std::string_view from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

/// Paragraphs are separated by a blank line in option_table.h.
/// Each after the option's first one, indented as it is.
void add_paragraphs(std::string& out, std::string_view text) {
  while (!text.empty()) {
    std::size_t end = text.find("\n\n");
    out += ".IP\n" + roff_text(text.substr(0, end)) + "\n";
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 2);
  }
}

std::string sentence(std::string text) {
  if (!text.empty() && std::islower(static_cast<unsigned char>(text[0])))
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

}  // namespace

std::string roff_text(std::string_view text) {
  std::string out;
  bool bold = false, italic = false;
  bool option_word = false;  // inside a word that starts with '-': every hyphen is \-
  char previous = ' ';
  for (char c : text) {
    if (c == '`' && !italic) {
      bold = !bold;
      out += bold ? "\\fB" : "\\fR";
    } else if (c == '*' && !bold) {
      italic = !italic;
      out += italic ? "\\fI" : "\\fR";
    } else if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      if (!word_char(previous)) option_word = true;
      out += bold || option_word ? "\\-" : "-";
    } else {
      if (!word_char(c)) option_word = false;
      out += c == '\n' ? ' ' : c;
    }
    previous = c;
  }
  if (bold || italic)
    throw std::invalid_argument("unbalanced markup in the man page text: " + std::string(text));
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string man_options() {
  std::string out, group;
  for (const OptionDoc& o : option_table()) {
    if (o.group != group) {
      group = o.group;
      out += ".SS \"" + group + "\"\n";
    }
    out += ".TP\n\\fB" + roff_text("--" + o.name) + "\\fR";
    if (!o.value_name.empty()) out += "=\\fI" + o.value_name + "\\fR";
    out += "\n";
    std::string first = sentence(o.help);
    if (!o.default_text.empty()) first += " Default: " + o.default_text + ".";
    out += roff_text(first) + "\n";
    add_paragraphs(out, o.man);
  }
  return out;
}

std::string render_man_page(std::string_view page_template, const std::string& version,
                            const std::string& date) {
  std::string page(page_template);
  const std::string_view line = "\n@OPTIONS@\n";
  std::size_t at = page.find(line);
  if (at == std::string::npos)
    throw std::invalid_argument("the man page template has no @OPTIONS@ line");
  page.replace(at + 1, line.size() - 1, man_options());
  replace_all(page, "@VERSION@", version);
  replace_all(page, "@DATE@", date);
  if (page.find("@OPTIONS@") != std::string::npos)
    throw std::invalid_argument("the man page template has more than one @OPTIONS@");
  return page;
}

}  // namespace starter
