# Builds the consumer project (consumer/) the three ways a C++ service adopts
# the client, each outside the source tree, under WORK:
#   1. cmake --install of this build into PREFIX, then a CMake project with
#      find_package(FilesGateway) -> WORK/cmake/consumer
#   2. the same main.cc compiled with pkg-config's flags -> WORK/consumer-pkgconfig
#   3. a CMake project that add_subdirectory()s the checkout: configured (not
#      built: it would compile the client a second time)
# cmake -DSOURCE=checkout -DBINARY=build -DPREFIX=dir -DWORK=dir -P consumer.cmake
foreach(var SOURCE BINARY PREFIX WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer.cmake needs -D${var}=...")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

file(REMOVE_RECURSE ${PREFIX} ${WORK})
file(MAKE_DIRECTORY ${WORK})
run("cmake --install" ${CMAKE_COMMAND} --install ${BINARY} --prefix ${PREFIX})
foreach(f include/files-gateway/clients/cpp/client.h include/files-gateway/clients/cpp/typed_gen.h
          lib/libfilesgw_cpp_client.a lib/cmake/FilesGateway/FilesGatewayConfig.cmake
          lib/pkgconfig/files-gateway-client.pc)
  if(NOT EXISTS ${PREFIX}/${f})
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()

set(here ${CMAKE_CURRENT_LIST_DIR})
file(COPY ${here}/CMakeLists.txt ${here}/main.cc DESTINATION ${WORK}/src)
set(launcher)
find_program(CCACHE ccache)
if(CCACHE)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE})
endif()
run("find_package consumer: configure" ${CMAKE_COMMAND} -S ${WORK}/src -B ${WORK}/cmake
    -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_BUILD_TYPE=Release ${launcher})
run("find_package consumer: build" ${CMAKE_COMMAND} --build ${WORK}/cmake)

set(ENV{PKG_CONFIG_PATH} ${PREFIX}/lib/pkgconfig)
execute_process(COMMAND pkg-config --cflags --libs files-gateway-client
                RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config files-gateway-client failed: ${err}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run("pkg-config consumer: build" ${CCACHE} c++ -std=c++17 -O1 ${WORK}/src/main.cc
    -o ${WORK}/consumer-pkgconfig ${flags})

file(MAKE_DIRECTORY ${WORK}/subdir)
file(WRITE ${WORK}/subdir/CMakeLists.txt "cmake_minimum_required(VERSION 3.22)
project(subdir_consumer LANGUAGES CXX)
add_subdirectory(${SOURCE} files-gateway)
add_executable(consumer ${WORK}/src/main.cc)
target_link_libraries(consumer PRIVATE filesgw::cpp_client)
foreach(t files-gateway files-emulator)
  if(TARGET \${t})
    message(FATAL_ERROR \"add_subdirectory built \${t}: only the client is wanted\")
  endif()
endforeach()
")
run("add_subdirectory consumer: configure" ${CMAKE_COMMAND} -S ${WORK}/subdir -B ${WORK}/subdir/build
    -DFILESGW_SHARED_DIR=${SOURCE}/../shared)

# The types are real: a username is not an integer, and the compiler says so.
file(WRITE ${WORK}/wrong.cc "#include <cstdint>
#include \"clients/cpp/client.h\"
int main() {
  filesgw::client::Client client;
  int64_t id = client.Users().Find(1).username();
  return static_cast<int>(id);
}
")
execute_process(COMMAND c++ -std=c++17 -fsyntax-only ${WORK}/wrong.cc ${flags}
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "cannot convert|no viable conversion|invalid conversion")
  message(FATAL_ERROR "assigning a username to an int64_t compiled (or failed for another reason):\n${err}")
endif()
message(STATUS "a wrongly typed assignment does not compile: ok")
