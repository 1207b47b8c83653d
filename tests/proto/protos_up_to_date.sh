#!/bin/sh
# Fails when proto/files/v1 differs from what proto/generate.py makes from the
# spec; skipped (exit 77) where ../shared is absent.
# usage: protos_up_to_date.sh PYTHON3 SHARED_DIR SOURCE_DIR
python3=$1 shared=$2 source=$3
if [ ! -f "$shared/filescom-api/api.json" ]; then
  echo "SKIPPED: $shared/filescom-api/api.json not present; cannot check the protos"
  exit 77
fi
if ! "$python3" "$source/proto/generate.py" --check --api "$shared/filescom-api/api.json" \
     --out "$source/proto/files/v1"; then
  echo "committed protos are out of date with the spec: run proto/generate.py"
  exit 1
fi
