#!/bin/sh
# Builds the Go module github.com/files-gateway/files-gateway/clients/go under
# the build tree, offline, and packs it as a module version in a file-based
# module proxy (the route a Go service takes: `go get MODULE@VERSION`):
#
#   OUT/goproxy/           GOPROXY=file://OUT/goproxy: Debian's gRPC, protobuf,
#                          genproto, x/net, x/sys, x/text (goproxy.py) and this module
#   OUT/module/            the module: go.mod, files/, files/pathutil/, example/,
#                          internal/, and filesv1/ generated from proto/ by
#                          protoc-gen-go / protoc-gen-go-grpc (never committed)
#   OUT/module/files/errors_gen.go, resources_gen.go   written by internal/errgen, internal/resgen
#   OUT/bin/files-go-example                           example/main.go
#
# Nothing is written into the source tree. CMake runs this (clients/go/CMakeLists.txt);
# by hand:  clients/go/build-module.sh --proto-root proto --out /tmp/go-out
set -eu

here=$(cd "$(dirname "$0")" && pwd)
proto_root=""
out=""
protoc=${PROTOC:-protoc}
go=${GO:-go}
gen_go=${PROTOC_GEN_GO:-$(command -v protoc-gen-go || true)}
gen_go_grpc=${PROTOC_GEN_GO_GRPC:-$(command -v protoc-gen-go-grpc || true)}
stamp=""
while [ $# -gt 0 ]; do
  case "$1" in
    --proto-root) proto_root=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --protoc) protoc=$2; shift 2 ;;
    --stamp) stamp=$2; shift 2 ;;
    *) echo "usage: $0 --proto-root DIR --out DIR [--protoc PATH] [--stamp FILE]" >&2; exit 2 ;;
  esac
done
[ -n "$proto_root" ] && [ -n "$out" ] || { echo "$0: --proto-root and --out are required" >&2; exit 2; }
for tool in "$gen_go" "$gen_go_grpc"; do
  [ -x "$tool" ] || { echo "$0: protoc-gen-go / protoc-gen-go-grpc not found (apt-get install protoc-gen-go protoc-gen-go-grpc)" >&2; exit 1; }
done
proto_root=$(cd "$proto_root" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
module=$(sed -n 's/^module[[:space:]]*//p' "$here/go.mod")
version=$(cat "$here/VERSION")

go_out=$out; . "$here/goenv.sh"

# Debian's sources as module versions, once (goproxy.py says which).
if [ ! -f "$out/goproxy/LABELS.json" ] || [ "$here/goproxy.py" -nt "$out/goproxy/LABELS.json" ]; then
  python3 "$here/goproxy.py" --out "$out/goproxy"
fi

# The module: the hand-written files mirrored (generated ones kept), stubs regenerated whole.
dest="$out/module"
mkdir -p "$dest"
for pkg in files files/pathutil internal/errgen internal/resgen example; do
  mkdir -p "$dest/$pkg"
  find "$dest/$pkg" -maxdepth 1 -type f -name '*.go' ! -name '*_gen.go' -delete
  for f in "$here/$pkg"/*.go; do
    [ -e "$f" ] && cp "$f" "$dest/$pkg/"
  done
done
cp "$here/go.mod" "$here/README.md" "$dest/"
cp "$here/README.md" "$dest/example/README.md" # example/readme_test.go compares

rm -rf "$dest/filesv1.new" "$out/.protoc-out"
mkdir -p "$dest/filesv1.new" "$out/.protoc-out"
# M options put every files/v1 proto in package filesv1 of this module, whatever
# the protos' go_package says.
mopts=""
for p in "$proto_root"/files/v1/*.proto; do
  mopts="$mopts,Mfiles/v1/$(basename "$p")=$module/filesv1;filesv1"
done
"$protoc" -I"$proto_root" -I/usr/include \
  --plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_go_grpc" \
  --go_out="paths=source_relative$mopts:$out/.protoc-out" \
  --go-grpc_out="paths=source_relative$mopts:$out/.protoc-out" \
  "$proto_root"/files/v1/*.proto
mv "$out/.protoc-out/files/v1"/*.go "$dest/filesv1.new/"
rm -rf "$out/.protoc-out" "$dest/filesv1"
mv "$dest/filesv1.new" "$dest/filesv1"

cd "$dest"
# One Go type per error class of the catalogue; one typed accessor per resource.
for gen in errgen:files/errors_gen.go resgen:files/resources_gen.go; do
  tool=${gen%%:*} file=${gen#*:}
  "$go" run ./internal/$tool -out "$file.new"
  if cmp -s "$file.new" "$file"; then rm -f "$file.new"; else mv "$file.new" "$file"; fi
done
"$go" build ./...
# The committed go.mod must be what `go mod tidy` makes of the module (the
# consumers' builds read it from the zip).
"$go" mod tidy
if ! cmp -s go.mod "$here/go.mod"; then
  echo "$0: clients/go/go.mod is not tidy; go mod tidy makes:" >&2
  diff "$here/go.mod" go.mod >&2 || true
  exit 1
fi
mkdir -p "$out/bin"
"$go" build -o "$out/bin/files-go-example" ./example

# The module version a consumer `go get`s (tests included, as `go mod` packs them).
python3 "$here/goproxy.py" --out "$out/goproxy" --add-module "$dest" --version "$version"

[ -z "$stamp" ] || touch "$stamp"
