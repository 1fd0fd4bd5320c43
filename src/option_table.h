#pragma once
/// Every option of the command line, written once: its name, value, one-line help, default
/// and the longer text of the manual page. options.cc builds Boost's options_description
/// (and so --help) from this table, and man_page.cc the OPTIONS section of start_server(1),
/// so the two cannot disagree (as systemd generates both from one source for its tools).
/// No Boost here: the man page generator does without it.
///
/// The defaults are read from Config and SupervisorSettings, where each is written
/// (options_help_test holds the printed defaults to the parsed ones).
///
/// Text markup, in `help` and `man` alike (man_page.h renders it; --help shows it as is,
/// less the backquotes):
///   `literal`   bold in the page: option names, values, commands, variables, files
///   *word*      italic in the page: a placeholder (FILE, SECONDS)
///   a blank line (two newlines) starts a new paragraph (man only)

#include <string>
#include <vector>

namespace starter {

struct OptionDoc {
  enum class Kind {
    kFlag,   ///< no value (a Boost bool_switch)
    kValue,  ///< one value; a repeat overrides (the last one wins, as Perl's Getopt::Long)
    kList,   ///< repeatable: every value is kept, in order (--port, --path)
  };
  std::string name;  ///< without the leading "--"
  Kind kind = Kind::kFlag;
  std::string value_name;    ///< SPEC, SECONDS...; empty for a flag
  std::string group;         ///< the OPTIONS subsection it belongs to
  std::string help;          ///< what it does, one sentence without the default (--help)
  std::string default_text;  ///< what --help prints as "(default: ...)"; empty: none
  std::string man;           ///< the page's text after `help`: interactions, failures, examples
};

/// The options in --help's order, grouped by `group` (consecutive).
std::vector<OptionDoc> option_table();

/// `text` without the markup, as --help prints it.
std::string plain_text(const std::string& text);

}  // namespace starter
