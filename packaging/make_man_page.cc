// make_man_page TEMPLATE VERSION DATE OUTPUT: writes start_server(1) (man_page.h). Run by
// the build; a build host program, so a cross build cannot make the page (CMakeLists.txt).
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "man_page.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: make_man_page TEMPLATE VERSION DATE OUTPUT\n";
    return 2;
  }
  const std::string output = argv[4];
  try {
    std::ifstream in(argv[1]);
    if (!in) throw std::runtime_error(std::string("cannot read ") + argv[1]);
    std::ostringstream page_template;
    page_template << in.rdbuf();
    // Written aside and renamed, so that a failed run leaves no half page for make to trust.
    const std::string temporary = output + ".tmp";
    std::ofstream out(temporary, std::ios::trunc);
    out << starter::render_man_page(page_template.str(), argv[2], argv[3]);
    out.close();
    if (!out) throw std::runtime_error("cannot write " + temporary);
    if (std::rename(temporary.c_str(), output.c_str()) != 0)
      throw std::runtime_error("cannot rename " + temporary + " to " + output);
  } catch (const std::exception& e) {
    std::cerr << "make_man_page: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
