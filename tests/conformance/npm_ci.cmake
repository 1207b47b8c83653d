# Installs the pinned SDK into DIR/node_modules with `npm ci`, unless the
# lockfile is unchanged since the last install (a stamp holds its hash), so
# repeated test runs neither reinstall nor need the network.
#   cmake -DNPM=/usr/bin/npm -DDIR=build/tests/conformance -P npm_ci.cmake
file(SHA256 ${DIR}/package-lock.json lock_hash)
set(stamp ${DIR}/node_modules/.filesgw-lock-sha256)
if(EXISTS ${stamp})
  file(READ ${stamp} installed_hash)
  if(installed_hash STREQUAL lock_hash AND EXISTS ${DIR}/node_modules/files.com/package.json)
    message(STATUS "files.com SDK already installed (lockfile unchanged)")
    return()
  endif()
endif()
execute_process(
  COMMAND ${NPM} ci --prefix ${DIR} --prefer-offline --no-audit --no-fund
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci failed (${rc}): the npm registry or cache must have files.com")
endif()
file(WRITE ${stamp} ${lock_hash})
