# Builds the Java client. Run by clients/java/CMakeLists.txt as `cmake -P`:
#
#   MODE=client: protoc / grpc_java_plugin / ErrorCatalogGen / ResourceGen output, then
#                `mvn -o install` of pom.xml (Debian's Maven repository, no download),
#                then a -Xlint:all pass over our own code; copies the artifact to OUTPUT_JAR
#   MODE=tests:  src/test/java + examples against the client jar -> tests jar
#
# Generated sources live under WORK only; nothing generated is ever committed.
cmake_minimum_required(VERSION 3.22)

foreach(var MODE WORK OUTPUT_JAR JAVAC JAR_TOOL SOURCE_DIR CLASSPATH)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "build_jar.cmake: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "Java client: ${what} failed (${rc}):\n${out}${err}")
  endif()
  if(err)
    message("${err}")
  endif()
endfunction()

# javac over every .java below the given folders, from an argument file (the generated
# sources are too many for one command line).
function(compile what out_dir classpath flags)
  set(sources)
  foreach(dir ${ARGN})
    file(GLOB_RECURSE found ${dir}/*.java)
    list(APPEND sources ${found})
  endforeach()
  list(SORT sources)
  set(argfile ${WORK}/${what}.sources)
  string(REPLACE ";" "\n" lines "${sources}")
  file(WRITE ${argfile} "${lines}\n")
  file(MAKE_DIRECTORY ${out_dir})
  run("javac (${what})" ${JAVAC} -encoding UTF-8 --release 17 -proc:none ${flags}
      -cp ${classpath} -d ${out_dir} @${argfile})
endfunction()

set(lint -Xlint:all -Xlint:-serial -Xlint:-processing)
if(WERROR)
  list(APPEND lint -Werror)
endif()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

if(MODE STREQUAL "client")
  foreach(var PROTOC GRPC_JAVA_PLUGIN JAVA PROTO_ROOT PROTOBUF_INCLUDE PROTOBUF_JAR MVN
          MAVEN_SETTINGS MAVEN_REPO)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "build_jar.cmake: ${var} is not set")
    endif()
  endforeach()
  # Everything generated goes to WORK/generated: java/ (sources) and resources/; Maven
  # (pom.xml beside src/) compiles it with src/main/java into the artifact.
  set(gen ${WORK}/generated/java)
  set(res ${WORK}/generated/resources)
  file(MAKE_DIRECTORY ${gen} ${res}/com/filesgateway/client/internal)

  # 1. Every files.v1 service and message, as one descriptor set the client reads at run
  #    time (the by-name layer, the error catalogue) and the generators read now.
  file(GLOB api_protos RELATIVE ${PROTO_ROOT} ${PROTO_ROOT}/files/v1/*.proto)
  list(SORT api_protos)
  set(descriptor_set ${res}/com/filesgateway/client/internal/files_api.pb)
  run("protoc (descriptor set)" ${PROTOC} -I${PROTO_ROOT} -I${PROTOBUF_INCLUDE} --include_imports
      --descriptor_set_out=${descriptor_set} ${api_protos} google/rpc/status.proto
      google/rpc/error_details.proto)

  # 2. Typed messages: every files.v1 message as protoc's Java class (getters, builders),
  #    TransferService's gRPC stub, and google.rpc's Status / ErrorInfo / RetryInfo.
  #    error_catalog.proto is read from descriptors only: protoc's Java generator cannot
  #    compile it (ERROR_TYPE_INVALID_FILTER_PARAM_VALUE collides with the _VALUE constant
  #    of ERROR_TYPE_INVALID_FILTER_PARAM), and no other file imports it.
  set(compiled ${api_protos})
  list(REMOVE_ITEM compiled files/v1/error_catalog.proto)
  run("protoc (java)" ${PROTOC} -I${PROTO_ROOT} -I${PROTOBUF_INCLUDE} --java_out=${gen}
      ${compiled})
  run("protoc (grpc-java)" ${PROTOC} -I${PROTO_ROOT} -I${PROTOBUF_INCLUDE}
      --plugin=protoc-gen-grpc-java=${GRPC_JAVA_PLUGIN} --grpc-java_out=${gen}
      files/v1/transfer.proto)
  # google.rpc under a Java package of our own: the wire-identical copies must not collide
  # with Google's com.google.rpc classes (proto-google-common-protos) in an application.
  set(rpc_root ${WORK}/rpc-proto)
  foreach(name status error_details)
    file(READ ${PROTO_ROOT}/google/rpc/${name}.proto text)
    string(FIND "${text}" "option java_package = \"com.google.rpc\";" at)
    if(at LESS 0)
      message(FATAL_ERROR "google/rpc/${name}.proto: java_package \"com.google.rpc\" not found")
    endif()
    string(REPLACE "option java_package = \"com.google.rpc\";"
           "option java_package = \"com.filesgateway.client.internal.rpc\";" text "${text}")
    file(WRITE ${rpc_root}/google/rpc/${name}.proto "${text}")
  endforeach()
  run("protoc (google.rpc java)" ${PROTOC} -I${rpc_root} -I${PROTOBUF_INCLUDE}
      --java_out=${gen} google/rpc/status.proto google/rpc/error_details.proto)

  # 3. The exception classes of the error catalogue, and the typed resources.
  set(own_gen ${WORK}/generated/own)
  run("ErrorCatalogGen" ${JAVA} -cp ${PROTOBUF_JAR} ${SOURCE_DIR}/tools/ErrorCatalogGen.java
      ${descriptor_set} ${SOURCE_DIR}/src/main/templates/ApiErrorException.java.in
      ${own_gen}/com/filesgateway/client/exceptions/ApiErrorException.java)
  run("ResourceGen" ${JAVA} -cp ${PROTOBUF_JAR} ${SOURCE_DIR}/tools/ResourceGen.java
      ${descriptor_set} ${own_gen})
  file(COPY ${own_gen}/com DESTINATION ${gen})

  # 4. Maven, offline against Debian's repository (settings.xml names it; file:// is the
  #    one protocol allowed offline), installs com.filesgateway:files-gateway-client into
  #    MAVEN_REPO, where the consumer test resolves it by coordinates.
  file(REMOVE_RECURSE ${WORK}/target)
  run("mvn install" ${CMAKE_COMMAND} -E env "MAVEN_OPTS=-Xmx2g -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
      ${MVN} -o -q -B -s ${MAVEN_SETTINGS} -Dmaven.repo.local=${MAVEN_REPO}
      -Daether.offline.protocols=file -Dfilesgw.generated=${WORK}/generated
      -Dfilesgw.target=${WORK}/target -f ${SOURCE_DIR}/pom.xml install)

  # 5. Lint: Maven compiled protoc's output quietly; what we write (by hand or with our
  #    generators) must pass -Xlint:all (-Werror under FILESGW_WERROR).
  compile(lint ${WORK}/lint-classes "${WORK}/target/classes:${CLASSPATH}" "${lint}"
          ${SOURCE_DIR}/src/main/java ${own_gen})
  file(GLOB built_jar ${WORK}/target/files-gateway-client-*.jar)
  list(LENGTH built_jar n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "mvn install left ${n} jars in ${WORK}/target")
  endif()
  file(COPY_FILE ${built_jar} ${OUTPUT_JAR}.tmp)
  file(RENAME ${OUTPUT_JAR}.tmp ${OUTPUT_JAR})
  return()
elseif(MODE STREQUAL "tests")
  set(classes ${WORK}/classes)
  compile(tests ${classes} ${CLASSPATH} "${lint}" ${SOURCE_DIR}/src/test/java
          ${SOURCE_DIR}/examples)
  set(jar_root ${classes})
else()
  message(FATAL_ERROR "build_jar.cmake: unknown MODE ${MODE}")
endif()

get_filename_component(jar_dir ${OUTPUT_JAR} DIRECTORY)
file(MAKE_DIRECTORY ${jar_dir})
run("jar" ${JAR_TOOL} --create --file ${OUTPUT_JAR}.tmp -C ${jar_root} .)
file(RENAME ${OUTPUT_JAR}.tmp ${OUTPUT_JAR})
