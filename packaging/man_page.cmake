# Makes start_server(1) from the built binary: help2man reads its --help and --version (whose
# text lives in src/options.cc only) and adds packaging/start_server.h2m. Run by the build:
#
#   cmake -DHELP2MAN=... -DPROGRAM=.../start_server -DINCLUDE=.../start_server.h2m
#         -DVERSION=0.1.0 -DOUTPUT=start_server.1 -P man_page.cmake
#
# The date in the page comes from SOURCE_DATE_EPOCH when it is set (help2man honours it), so
# package builds are reproducible.
foreach(var HELP2MAN PROGRAM INCLUDE VERSION OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "man_page.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND "${PROGRAM}" --help OUTPUT_VARIABLE help RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "man_page.cmake: ${PROGRAM} --help exited ${status}")
endif()
# help2man takes an option line apart at the first run of two spaces. Boost leaves a single
# space after an option that ends exactly where the description column begins, and the page
# would then show the description's first word as part of the option.
string(REGEX MATCHALL "\n  --[^\n;]*" option_lines "${help}")
foreach(line IN LISTS option_lines)
  if(NOT line MATCHES "^\n  --[a-z-]+( [A-Z_]+)?(  |$)")
    string(STRIP "${line}" line)
    message(FATAL_ERROR "man_page.cmake: one space between option and description in --help, "
                        "which help2man cannot split: '${line}' (see describe_options())")
  endif()
endforeach()

# The footer names the version alone: the whole --version line does not fit beside the date.
execute_process(
  COMMAND "${HELP2MAN}" --no-info --no-discard-stderr --section=1
          "--source=start_server ${VERSION}" "--include=${INCLUDE}"
          "--output=${OUTPUT}.tmp" "${PROGRAM}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "man_page.cmake: help2man exited ${status}")
endif()

# help2man makes "Exit status:" and its indented lines a subsection of OPTIONS (where it
# stands in --help); man-pages(7) wants an EXIT STATUS section right after OPTIONS.
file(READ "${OUTPUT}.tmp" page)
string(REPLACE ".SS \"Exit status:\"" ".SH \"EXIT STATUS\"" page "${page}")
if(NOT page MATCHES "\n\\.SH \"EXIT STATUS\"\n")
  message(FATAL_ERROR "man_page.cmake: no 'Exit status:' section in --help")
endif()
file(WRITE "${OUTPUT}" "${page}")
file(REMOVE "${OUTPUT}.tmp")
