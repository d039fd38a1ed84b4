# Builds the library alone as a static library (the documented library-only configuration:
# ZARRPP_BUILD_TESTS, ZARRPP_BUILD_BENCHMARKS and ZARRPP_BUILD_TOOLS OFF), then runs the install
# checks on it. Inputs: PROJECT_SOURCE, SOURCE_DIR (the consumer), WORK_DIR, VERSION, CHECK.
file(REMOVE_RECURSE ${WORK_DIR})
set(build ${WORK_DIR}/lib-build)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${PROJECT_SOURCE} -B ${build} -DCMAKE_BUILD_TYPE=Release
                        -DZARRPP_BUILD_SHARED=OFF -DZARRPP_BUILD_TESTS=OFF
                        -DZARRPP_BUILD_BENCHMARKS=OFF -DZARRPP_BUILD_TOOLS=OFF
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure failed:\n${out}\n${err}")
endif()
include(ProcessorCount)
ProcessorCount(jobs)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} -j ${jobs}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${build} -DSOURCE_DIR=${SOURCE_DIR}
                        -DWORK_DIR=${WORK_DIR}/check -DVERSION=${VERSION} -DSHARED=OFF -DTOOLS=OFF
                        -P ${CHECK}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install checks of the static build failed:\n${err}")
endif()
