# Sourced with the build folder (OUT) in $go_out: the Go environment of every Go
# command the build and the tests run. Module mode, offline: modules come from
# the file-based proxy OUT/goproxy only; checksums are those of these local
# copies (no checksum database offline), kept in the module cache OUT/gomodcache.
export GO111MODULE=on
export GOPROXY="file://$go_out/goproxy"
export GOSUMDB=off
export GOFLAGS=-mod=mod
export GOMODCACHE="$go_out/gomodcache"
export GOCACHE="$go_out/gocache"
export GOENV=off
export GOPATH="$go_out/gopath"
export GOWORK=off
export CGO_ENABLED=0
# The build repacks the client's module version at every build; Go 1.19
# indexes module-cache packages by version, assuming a version never
# changes, so the index is off (a released version never changes).
export GODEBUG=goindex=0
