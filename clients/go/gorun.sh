#!/bin/sh
# Runs a command in the Go environment of the build (goenv.sh), in DIR:
#   gorun.sh OUT DIR command args...
set -eu
here=$(cd "$(dirname "$0")" && pwd)
go_out=$1
cd "$2"
shift 2
. "$here/goenv.sh"
exec "$@"
