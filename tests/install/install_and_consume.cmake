# Installs zarrpp into a scratch prefix and proves what a user of the installed package needs:
#   - the files: versioned shared library with its SONAME links (or the static library), headers
#     with version.h, the CMake package config with its version file, the pkg-config file;
#   - the installed tool starts with an empty environment, also after the prefix is moved
#     (relative RPATH), and reports the version;
#   - find_package(zarrpp <version>) builds and runs a consumer; an incompatible version is
#     refused;
#   - pkg-config's flags build and run the same consumer;
#   - (shared builds) `cpack -G DEB` makes a package holding the library, headers and tool.
# Inputs: BUILD_DIR, SOURCE_DIR (the consumer), WORK_DIR, VERSION, SHARED (ON/OFF), TOOLS (ON/OFF).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUTPUT "${out}" PARENT_SCOPE)
endfunction()
function(expect_file path)
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "installed package lacks ${path}")
  endif()
endfunction()

set(P ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${P})
include(GNUInstallDirs)
set(LIB ${P}/${CMAKE_INSTALL_LIBDIR})
string(REGEX MATCH "^[0-9]+" MAJOR "${VERSION}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" MAJOR_MINOR "${VERSION}")

expect_file(${P}/include/zarrpp/array.h)
expect_file(${P}/include/zarrpp/version.h)
expect_file(${LIB}/cmake/zarrpp/zarrppConfig.cmake)
expect_file(${LIB}/cmake/zarrpp/zarrppConfigVersion.cmake)
expect_file(${LIB}/pkgconfig/zarrpp.pc)
file(READ ${P}/include/zarrpp/version.h version_h)
if(NOT version_h MATCHES "#define ZARRPP_VERSION_STRING \"${VERSION}\"")
  message(FATAL_ERROR "version.h does not say ${VERSION}:\n${version_h}")
endif()
if(SHARED)
  expect_file(${LIB}/libzarrpp.so.${VERSION})
  expect_file(${LIB}/libzarrpp.so.${MAJOR})
  expect_file(${LIB}/libzarrpp.so)
  if(NOT IS_SYMLINK ${LIB}/libzarrpp.so.${MAJOR} OR NOT IS_SYMLINK ${LIB}/libzarrpp.so)
    message(FATAL_ERROR "libzarrpp.so and libzarrpp.so.${MAJOR} must be symbolic links")
  endif()
  run(readelf -d ${LIB}/libzarrpp.so.${VERSION})
  if(NOT LAST_OUTPUT MATCHES "SONAME\\) +Library soname: \\[libzarrpp\\.so\\.${MAJOR}\\]")
    message(FATAL_ERROR "SONAME is not libzarrpp.so.${MAJOR}:\n${LAST_OUTPUT}")
  endif()
else()
  expect_file(${LIB}/libzarrpp.a)
  if(EXISTS ${LIB}/libzarrpp.so)
    message(FATAL_ERROR "a static build installed libzarrpp.so")
  endif()
endif()

# The installed tool, with nothing in the environment (no LD_LIBRARY_PATH, no PATH), then moved.
if(TOOLS)
  run(env -i ${P}/bin/zarrpp --version)
  if(NOT LAST_OUTPUT STREQUAL "zarrpp ${VERSION}\n")
    message(FATAL_ERROR "installed 'zarrpp --version' printed '${LAST_OUTPUT}'")
  endif()
  file(COPY ${P}/ DESTINATION ${WORK_DIR}/moved)
  run(env -i ${WORK_DIR}/moved/bin/zarrpp --version)
  run(env -i ${P}/bin/zarrpp --help)
  if(NOT LAST_OUTPUT MATCHES "zarrpp info")
    message(FATAL_ERROR "installed 'zarrpp --help' printed '${LAST_OUTPUT}'")
  endif()
endif()

# find_package with the exact version, then with one the package must refuse.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${P}
    -DCMAKE_BUILD_TYPE=Release -DZARRPP_REQUEST=${VERSION})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
if(NOT LAST_OUTPUT MATCHES "consumer: 6 elements round-tripped, zarrpp ${VERSION}")
  message(FATAL_ERROR "unexpected consumer output: ${LAST_OUTPUT}")
endif()
message(STATUS "find_package: ${LAST_OUTPUT}")
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build-any -DCMAKE_PREFIX_PATH=${P}
    -DZARRPP_REQUEST=${MAJOR_MINOR})
math(EXPR NEXT_MAJOR "${MAJOR} + 1")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build-wrong
                        -DCMAKE_PREFIX_PATH=${P} -DZARRPP_REQUEST=${NEXT_MAJOR}.0
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(zarrpp ${NEXT_MAJOR}.0) accepted version ${VERSION}")
endif()
if(NOT SHARED)
  run(readelf -d ${WORK_DIR}/build/consumer)
  if(LAST_OUTPUT MATCHES "libzarrpp")
    message(FATAL_ERROR "the consumer of the static library needs libzarrpp at run time")
  endif()
endif()

# pkg-config's flags alone build the consumer.
set(ENV{PKG_CONFIG_PATH} ${LIB}/pkgconfig)
if(SHARED)
  run(pkg-config --cflags --libs zarrpp)
else()
  run(pkg-config --static --cflags --libs zarrpp)
endif()
string(STRIP "${LAST_OUTPUT}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(c++ -O1 ${SOURCE_DIR}/main.cc -o ${WORK_DIR}/consumer-pc ${flags} -Wl,-rpath,${LIB})
run(${WORK_DIR}/consumer-pc)
if(NOT LAST_OUTPUT MATCHES "consumer: 6 elements round-tripped")
  message(FATAL_ERROR "unexpected pkg-config consumer output: ${LAST_OUTPUT}")
endif()
message(STATUS "pkg-config: ${LAST_OUTPUT}")

# A Debian package (shared builds with the tool).
if(SHARED AND TOOLS)
  find_program(DPKG_DEB dpkg-deb)
  if(DPKG_DEB)
    # Packages the tree installed above (cpack from the build directory would build every
    # target first; the package configuration is the same).
    run(cpack -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/deb
        -D CPACK_INSTALL_CMAKE_PROJECTS= "-D CPACK_INSTALLED_DIRECTORIES=${P}\;/usr")
    file(GLOB debs ${WORK_DIR}/deb/*.deb)
    list(LENGTH debs n)
    if(NOT n EQUAL 1)
      message(FATAL_ERROR "cpack made ${n} packages: ${debs}")
    endif()
    run(${DPKG_DEB} -c ${debs})
    foreach(f "usr/bin/zarrpp" "libzarrpp.so.${VERSION}" "usr/include/zarrpp/version.h")
      if(NOT LAST_OUTPUT MATCHES "${f}")
        message(FATAL_ERROR "the .deb lacks ${f}:\n${LAST_OUTPUT}")
      endif()
    endforeach()
    message(STATUS "cpack: ${debs}")
  else()
    message(STATUS "cpack: skipped, dpkg-deb is not installed")
  endif()
endif()
