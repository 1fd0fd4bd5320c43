// start_server(1) is made from docs/start_server.1.in and option_table.h (man_page.h): every
// option the parser knows has its entry, the page has every section a user looks for, and
// the markup becomes the roff it should. tests/docs/man_page_test.sh renders the built page.

#include "man_page.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "option_table.h"
#include "options.h"

namespace starter {
namespace {

std::string read_template() {
  std::ifstream in(STARTER_MAN_TEMPLATE);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string escaped(const std::string& name) {
  std::string out;
  for (char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

TEST(ManPage, EveryOptionTheParserKnowsHasAnEntryAndNoOther) {
  const std::string options = man_options();
  std::size_t entries = 0;
  for (std::size_t at = options.find(".TP\n"); at != std::string::npos;
       at = options.find(".TP\n", at + 1))
    ++entries;
  const std::vector<std::string> names = option_names();
  EXPECT_EQ(entries, names.size()) << options;
  for (const std::string& name : names)
    EXPECT_NE(options.find(".TP\n\\fB\\-\\-" + escaped(name) + "\\fR"), std::string::npos)
        << "--" << name << " has no entry in OPTIONS";
}

TEST(ManPage, EveryOptionSaysMoreThanHelpAndItsDefault) {
  const std::string options = man_options();
  for (const OptionDoc& o : option_table()) {
    EXPECT_FALSE(o.help.empty()) << o.name;
    EXPECT_FALSE(o.man.empty()) << o.name << ": the page needs interactions and failures";
    if (!o.default_text.empty()) {
      EXPECT_NE(options.find("Default: " + roff_text(o.default_text) + "."), std::string::npos)
          << o.name;
    }
  }
}

TEST(ManPage, HasEverySectionInOrder) {
  const std::string page = render_man_page(read_template(), "9.9.9", "2026-01-02");
  std::size_t at = 0;
  for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS",
                              ".SH SIGNALS", ".SH ENVIRONMENT", ".SH FILES", ".SH \"EXIT STATUS\"",
                              ".SH SYSTEMD", ".SH EXAMPLES", ".SH \"SEE ALSO\""}) {
    std::size_t found = page.find(std::string("\n") + section + "\n", at);
    ASSERT_NE(found, std::string::npos) << section << " missing or out of order";
    at = found;
  }
  EXPECT_NE(page.find("\"2026-01-02\" \"start_server 9.9.9\""), std::string::npos);
  for (const char* placeholder : {"@OPTIONS@", "@VERSION@", "@DATE@"})
    EXPECT_EQ(page.find(placeholder), std::string::npos) << placeholder << " is left";
  EXPECT_NE(page.find(man_options()), std::string::npos);
}

TEST(ManPage, ExitStatusCoversEveryMode) {
  const std::string page = read_template();
  std::size_t exit_status = page.find(".SH \"EXIT STATUS\"");
  ASSERT_NE(exit_status, std::string::npos);
  for (const char* mode : {"\\-\\-restart", "\\-\\-upgrade", "\\-\\-status", "\\-\\-stop"})
    EXPECT_NE(page.find(std::string(".SS \"") + mode + "\"", exit_status), std::string::npos)
        << mode;
}

TEST(ManPage, MarkupBecomesRoff) {
  EXPECT_EQ(roff_text("`--port`=*SPEC*"), "\\fB\\-\\-port\\fR=\\fISPEC\\fR");
  EXPECT_EQ(roff_text("re-read --kill-old-delay, not-an-option"),
            "re-read \\-\\-kill\\-old\\-delay, not-an-option");
  EXPECT_EQ(roff_text("`a-b` c\\d"), "\\fBa\\-b\\fR c\\ed");
  EXPECT_EQ(roff_text(".starts a request"), "\\&.starts a request");
  EXPECT_EQ(roff_text("'quoted'"), "\\&'quoted'");
  EXPECT_EQ(roff_text("one\nline"), "one line");
  EXPECT_THROW(roff_text("`open"), std::invalid_argument);
}

TEST(ManPage, TemplateWithoutOptionsIsRefused) {
  EXPECT_THROW(render_man_page(".TH X 1\n.SH NAME\n", "1", "d"), std::invalid_argument);
  EXPECT_THROW(render_man_page("x\n@OPTIONS@\n@OPTIONS@\n", "1", "d"), std::invalid_argument);
}

TEST(ManPage, HelpShowsTheTableWithoutMarkup) {
  const std::string help = help_text();
  EXPECT_EQ(help.find('`'), std::string::npos);
  for (const std::string& name : option_names())
    EXPECT_NE(help.find("  --" + name), std::string::npos) << name;
}

}  // namespace
}  // namespace starter
