#!/bin/sh
# Lays out the Go client in a GOPATH (Debian's Go builds offline in GOPATH
# mode only) and builds it:
#   GOPATH/src/filesgateway/clients/go/filesv1   stubs protoc generates from proto/files/v1
#   GOPATH/src/filesgateway/clients/go/files     package files (copied) + errors_gen.go (errgen)
#   GOPATH/src/filesgateway/clients/go/...       pathutil, scenario tests, example, errgen
#   GOPATH/bin/files-go-example                  the README's example
# Nothing is written into the source tree. CMake runs this (clients/go/CMakeLists.txt);
# by hand:  clients/go/build-gopath.sh --proto-root proto --gopath /tmp/gopath
set -eu

here=$(cd "$(dirname "$0")" && pwd)
proto_root=""
gopath=""
protoc=${PROTOC:-protoc}
go=${GO:-go}
gen_go=${PROTOC_GEN_GO:-$(command -v protoc-gen-go || true)}
gen_go_grpc=${PROTOC_GEN_GO_GRPC:-$(command -v protoc-gen-go-grpc || true)}
stamp=""
while [ $# -gt 0 ]; do
  case "$1" in
    --proto-root) proto_root=$2; shift 2 ;;
    --gopath) gopath=$2; shift 2 ;;
    --protoc) protoc=$2; shift 2 ;;
    --stamp) stamp=$2; shift 2 ;;
    *) echo "usage: $0 --proto-root DIR --gopath DIR [--protoc PATH] [--stamp FILE]" >&2; exit 2 ;;
  esac
done
[ -n "$proto_root" ] && [ -n "$gopath" ] || { echo "$0: --proto-root and --gopath are required" >&2; exit 2; }
for tool in "$gen_go" "$gen_go_grpc"; do
  [ -x "$tool" ] || { echo "$0: protoc-gen-go / protoc-gen-go-grpc not found (apt-get install protoc-gen-go protoc-gen-go-grpc)" >&2; exit 1; }
done
proto_root=$(cd "$proto_root" && pwd)
mkdir -p "$gopath"
gopath=$(cd "$gopath" && pwd)

export GO111MODULE=off
export GOPATH="$gopath:/usr/share/gocode"
export GOCACHE="${GOCACHE:-$gopath/.gocache}"
export GOFLAGS=""
export GOENV=off

dest="$gopath/src/filesgateway/clients/go"

# Stubs, regenerated whole so that a removed proto leaves no stale file.
rm -rf "$dest/filesv1.new"
mkdir -p "$dest/filesv1.new"
out="$gopath/.protoc-out"
rm -rf "$out"
mkdir -p "$out"
"$protoc" -I"$proto_root" -I/usr/include \
  --plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_go_grpc" \
  --go_out="$out" --go-grpc_out="$out" \
  "$proto_root"/files/v1/*.proto
mv "$out/filesgateway/clients/go/filesv1"/*.go "$dest/filesv1.new/"
rm -rf "$out" "$dest/filesv1"
mv "$dest/filesv1.new" "$dest/filesv1"

# The hand-written packages, mirrored (generated files kept).
for pkg in files files/pathutil internal/errgen scenario example; do
  mkdir -p "$dest/$pkg"
  find "$dest/$pkg" -maxdepth 1 -type f -name '*.go' ! -name '*_gen.go' -delete
  for f in "$here/$pkg"/*.go; do
    [ -e "$f" ] && cp "$f" "$dest/$pkg/"
  done
done
cp "$here/README.md" "$dest/example/README.md" # example/readme_test.go compares

# One Go type per error class of the catalogue.
"$go" run filesgateway/clients/go/internal/errgen -out "$dest/files/errors_gen.go.new"
if ! cmp -s "$dest/files/errors_gen.go.new" "$dest/files/errors_gen.go" 2>/dev/null; then
  mv "$dest/files/errors_gen.go.new" "$dest/files/errors_gen.go"
else
  rm -f "$dest/files/errors_gen.go.new"
fi

"$go" build filesgateway/clients/go/...
mkdir -p "$gopath/bin"
"$go" build -o "$gopath/bin/files-go-example" filesgateway/clients/go/example

[ -z "$stamp" ] || touch "$stamp"
