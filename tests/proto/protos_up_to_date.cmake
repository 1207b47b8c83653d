# Fails when proto/files/v1 differs from what proto/generate.py makes from the
# spec; skipped (exit 77) where ../shared is absent.
if(NOT EXISTS "${SHARED}/filescom-api/api.json")
  message("SKIPPED: ${SHARED}/filescom-api/api.json not present; cannot check the protos")
  cmake_language(EXIT 77)
endif()
execute_process(
  COMMAND ${PYTHON3} ${SOURCE}/proto/generate.py --check
          --api ${SHARED}/filescom-api/api.json --out ${SOURCE}/proto/files/v1
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "committed protos are out of date with the spec")
endif()
