# Sourced with the build folder (OUT) as $1: the Go environment of every Go
# command the build and the tests run. Module mode, offline: modules come from
# the file-based proxy OUT/goproxy only; checksums are those of these local
# copies (no checksum database offline), kept in the module cache OUT/gomodcache.
export GO111MODULE=on
export GOPROXY="file://$1/goproxy"
export GOSUMDB=off
export GOFLAGS=-mod=mod
export GOMODCACHE="$1/gomodcache"
export GOCACHE="$1/gocache"
export GOENV=off
export GOPATH="$1/gopath"
export GOWORK=off
export CGO_ENABLED=0
