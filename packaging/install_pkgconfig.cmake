# Run by `cmake --install` (install(CODE) in CMakeLists.txt): writes server_starter.pc for the
# prefix of this install, which `cmake --install --prefix` may have changed since configuring,
# so that one build can be installed anywhere. The paths stay absolute: a prefix relative to
# ${pcfiledir} would make pkg-config print -I/usr/lib/<triplet>/pkgconfig/../../../include for
# the package, which it no longer recognises as the system directory it leaves out.
#
# Set by the caller: STARTER_PC_TEMPLATE (packaging/server_starter.pc.in), STARTER_PC_STAGING
# (a file of the build tree), STARTER_LIBDIR and STARTER_INCLUDEDIR (each absolute, or
# relative to CMAKE_INSTALL_PREFIX), STARTER_VERSION.

set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${STARTER_${dir}}")
    set(pc_${dir} "${STARTER_${dir}}")
  else()
    set(pc_${dir} "\${prefix}/${STARTER_${dir}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${STARTER_LIBDIR}")
  set(destination "${STARTER_LIBDIR}/pkgconfig")
else()
  set(destination "${prefix}/${STARTER_LIBDIR}/pkgconfig")
endif()
configure_file("${STARTER_PC_TEMPLATE}" "${STARTER_PC_STAGING}" @ONLY)
# file(INSTALL) adds $DESTDIR and records the file in install_manifest.txt.
file(INSTALL DESTINATION "${destination}" TYPE FILE FILES "${STARTER_PC_STAGING}")
