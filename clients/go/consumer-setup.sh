#!/bin/sh
# Makes a service of its own that uses the Go client the way any Go program
# adds a dependency, outside the source tree:
#
#   cd OUT/consumer && go mod init example.com/filesgw-consumer
#   go get github.com/files-gateway/files-gateway/clients/go@VERSION   (from OUT/goproxy)
#   go mod tidy && go build && go test -c
#
# then leaves OUT/consumer/bin/{filesgw-consumer,files-go-example,scenario.test}
# for the tests to run. CTest runs it once per run (fixture go_consumer).
#   consumer-setup.sh OUT
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$1" && pwd)
module=$(sed -n 's/^module[[:space:]]*//p' "$here/go.mod")
version=$(cat "$here/VERSION")
go_out=$out; . "$here/goenv.sh"

# The module cache keeps a version once fetched; the build repacks this one
# at every build, so the cached copy goes first (read-only files, as Go leaves them).
for d in "$GOMODCACHE/cache/download/$module" "$GOMODCACHE/$module@$version"; do
  if [ -e "$d" ]; then chmod -R u+w "$d" && rm -rf "$d"; fi
done

dir="$out/consumer"
rm -rf "$dir"
mkdir -p "$dir/bin"
cp "$here/consumer"/*.go "$dir/"
cd "$dir"
go mod init example.com/filesgw-consumer
go get "$module@$version"
go mod tidy
go vet .
go build -o bin/filesgw-consumer .
go build -o bin/files-go-example "$module/example"
go test -c -o bin/scenario.test .

# The types are real: a program that misuses them does not compile, and the
# compiler names each misuse (consumer/typecheck/wrong.go.txt marks them).
mkdir -p typecheck
cp "$here/consumer/typecheck/wrong.go.txt" typecheck/main.go
if go build -o /dev/null ./typecheck > typecheck/out.txt 2>&1; then
  echo "consumer: typecheck/main.go compiled; it must not" >&2
  exit 1
fi
grep -o 'WANT: .*' typecheck/main.go | sed 's/^WANT: //' | while IFS= read -r want; do
  grep -qF "$want" typecheck/out.txt || { echo "consumer: the compiler did not refuse: $want" >&2; cat typecheck/out.txt >&2; exit 1; }
done
rm -rf typecheck
echo "consumer: $dir ($(grep -c . go.sum) go.sum lines)"
