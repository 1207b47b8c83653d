# Installs the pinned npm packages of DIR/package-lock.json into
# DIR/node_modules with `npm ci`, unless the lockfile is unchanged since the
# last install (a stamp holds its hash): repeated runs need no network.
# Used by tests/conformance (the pinned files.com SDK) and tests/deploy
# (kubernetes-models). REQUIRE, when given, is a file below DIR that must exist
# for the install to count as done.
#   cmake -DNPM=/usr/bin/npm -DDIR=build/tests/deploy/schemas [-DREQUIRE=node_modules/x/package.json] -P npm_ci.cmake
file(SHA256 ${DIR}/package-lock.json lock_hash)
set(stamp ${DIR}/node_modules/.filesgw-lock-sha256)
if(EXISTS ${stamp})
  file(READ ${stamp} installed_hash)
  if(installed_hash STREQUAL lock_hash AND (NOT DEFINED REQUIRE OR EXISTS ${DIR}/${REQUIRE}))
    message(STATUS "${DIR}: npm packages already installed (lockfile unchanged)")
    return()
  endif()
endif()
execute_process(
  COMMAND ${NPM} ci --prefix ${DIR} --prefer-offline --no-audit --no-fund
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci in ${DIR} failed (${rc}): the npm registry or cache must have "
                      "the packages of package-lock.json")
endif()
file(WRITE ${stamp} ${lock_hash})
