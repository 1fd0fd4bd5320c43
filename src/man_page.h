#pragma once
/// start_server(1) from its two sources: the hand-written sections of docs/start_server.1.in
/// and the OPTIONS made from option_table.h, the table --help is made from. Pure; the
/// program packaging/make_man_page.cc runs it at build time.

#include <string>
#include <string_view>

namespace starter {

/// One paragraph of option_table.h's markup as roff: `literal` bold, *word* italic, the
/// hyphens of options and literals as \- (so that they copy as ASCII), backslashes escaped,
/// and a line that would start with '.' or '\'' protected. Newlines become spaces.
std::string roff_text(std::string_view text);

/// The body of the OPTIONS section: a subsection per group, a tagged paragraph per option
/// with its help, its default and its longer text.
std::string man_options();

/// The template with "@OPTIONS@" (a line of its own) replaced by man_options(), and
/// "@VERSION@" and "@DATE@" by `version` and `date`. Throws std::invalid_argument when the
/// template has no @OPTIONS@ line, or more than one.
std::string render_man_page(std::string_view page_template, const std::string& version,
                            const std::string& date);

}  // namespace starter
