# Builds a jar of the Java client with plain protoc / java / javac / jar (no Maven or
# Gradle on this platform). Run by clients/java/CMakeLists.txt as `cmake -P`:
#
#   MODE=client: generated stubs + ErrorCatalogGen output + src/main/java -> client jar
#                (with the files.v1 descriptor set as a resource)
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
  foreach(var PROTOC GRPC_JAVA_PLUGIN JAVA PROTO_ROOT PROTOBUF_INCLUDE PROTOBUF_JAR)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "build_jar.cmake: ${var} is not set")
    endif()
  endforeach()
  set(gen ${WORK}/gen)
  set(classes ${WORK}/classes)
  file(MAKE_DIRECTORY ${gen} ${classes})

  # 1. Every files.v1 service and message, as one descriptor set the client reads at run
  #    time (resources, actions, request fields, error catalogue).
  file(GLOB api_protos RELATIVE ${PROTO_ROOT} ${PROTO_ROOT}/files/v1/*.proto)
  list(SORT api_protos)
  set(descriptor_set ${WORK}/files_api.pb)
  run("protoc (descriptor set)" ${PROTOC} -I${PROTO_ROOT} -I${PROTOBUF_INCLUDE} --include_imports
      --descriptor_set_out=${descriptor_set} ${api_protos} google/rpc/status.proto
      google/rpc/error_details.proto)

  # 2. Compiled stubs: the options (custom options parse as extensions), TransferService
  #    with the File message and its imports, and google.rpc's Status / ErrorInfo /
  #    RetryInfo. The rest of files.v1 is used through DynamicMessage (compiling all
  #    ~1,700 generated classes costs minutes; see the README's decisions).
  set(compiled files/v1/options.proto files/v1/transfer.proto files/v1/file.proto
      files/v1/direct_connection_info.proto files/v1/file_action.proto
      files/v1/file_upload_part.proto files/v1/preview.proto files/v1/zip_list_entry.proto)
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

  # 3. The exception classes of the error catalogue.
  set(errors_java ${WORK}/gen-errors/com/filesgateway/client/exceptions/ApiErrorException.java)
  run("ErrorCatalogGen" ${JAVA} -cp ${PROTOBUF_JAR} ${SOURCE_DIR}/tools/ErrorCatalogGen.java
      ${descriptor_set} ${SOURCE_DIR}/src/main/templates/ApiErrorException.java.in ${errors_java})

  # 4. javac: generated stubs quietly, then our own code with every lint warning.
  compile(stubs ${classes} ${CLASSPATH} "-nowarn;-Xlint:none" ${gen})
  compile(client ${classes} "${classes}:${CLASSPATH}" "${lint}"
          ${SOURCE_DIR}/src/main/java ${WORK}/gen-errors)
  file(COPY ${descriptor_set} DESTINATION ${classes}/com/filesgateway/client/internal)
  set(jar_root ${classes})
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
