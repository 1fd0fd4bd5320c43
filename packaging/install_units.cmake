# Run by `cmake --install` (install(CODE) in CMakeLists.txt): installs the units with
# ExecStart=/ExecReload= naming the start_server this install puts in place. The checked-in
# units name /usr/bin/start_server, the package's path; a from-source install goes to
# /usr/local/bin, where /usr/bin/start_server would be Perl's, or nothing.
#
# Set by the caller: STARTER_UNITS_SOURCE (units/), STARTER_UNITS_STAGING (a directory of the
# build tree), STARTER_BINDIR, STARTER_UNITDIR and STARTER_EXAMPLES_DIR (each absolute, or
# relative to CMAKE_INSTALL_PREFIX, which `cmake --install --prefix` may have changed since
# configuring).

function(starter_under_prefix out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

starter_under_prefix(bindir "${STARTER_BINDIR}")
starter_under_prefix(unitdir "${STARTER_UNITDIR}")
starter_under_prefix(examplesdir "${STARTER_EXAMPLES_DIR}")
set(staging "${STARTER_UNITS_STAGING}")
file(MAKE_DIRECTORY "${staging}")

foreach(unit start_server@.service myapp.service myapp.socket myapp-notify-reload.service)
  file(READ "${STARTER_UNITS_SOURCE}/${unit}" text)
  string(REPLACE "/usr/bin/start_server" "${bindir}/start_server" text "${text}")
  file(WRITE "${staging}/${unit}" "${text}")
  if(unit STREQUAL "start_server@.service")
    set(destination "${unitdir}")
  else()
    set(destination "${examplesdir}")
  endif()
  # file(INSTALL) adds $DESTDIR and records the file in install_manifest.txt.
  file(INSTALL DESTINATION "${destination}" TYPE FILE FILES "${staging}/${unit}")
endforeach()
