# The consumer test (CTest java_client_consumer): a fresh Maven project under the build tree,
# outside the source tree, that depends on com.filesgateway:files-gateway-client by
# coordinates (resolved from the local repository the build's `mvn install` filled, and
# Debian's Maven repository for the rest), compiles with -Xlint:all -Werror, and runs with
# surefire: the shared scenario (ScenarioTest and its harness, copied in) plus ConsumerTest
# (issue 16's additions), against files-emulator and files-gateway from the build tree.
cmake_minimum_required(VERSION 3.22)
foreach(var CONSUMER_DIR SOURCE_DIR MVN MAVEN_SETTINGS MAVEN_REPO VERSION BIN SCENARIO SHARED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_test.cmake: ${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${CONSUMER_DIR})
set(tests ${CONSUMER_DIR}/src/test/java)
file(MAKE_DIRECTORY ${tests}/com/filesgateway/client)
set(CLIENT_VERSION ${VERSION})
configure_file(${SOURCE_DIR}/consumer/pom.xml.in ${CONSUMER_DIR}/pom.xml @ONLY)
file(COPY ${SOURCE_DIR}/consumer/src DESTINATION ${CONSUMER_DIR})
foreach(name ScenarioTest Harness Json)
  file(COPY ${SOURCE_DIR}/src/test/java/com/filesgateway/client/${name}.java
       DESTINATION ${tests}/com/filesgateway/client)
endforeach()

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env "MAVEN_OPTS=-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
          ${MVN} -o -B -s ${MAVEN_SETTINGS} -Dmaven.repo.local=${MAVEN_REPO}
          -Daether.offline.protocols=file -Dfilesgw.bin=${BIN} -Dfilesgw.scenario=${SCENARIO}
          -Dfilesgw.shared=${SHARED} -Dsurefire.printSummary=true test
  WORKING_DIRECTORY ${CONSUMER_DIR}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer project failed (${rc}); reports in "
          "${CONSUMER_DIR}/target/surefire-reports")
endif()
