#!/usr/bin/env bash
# Prints the path of a versitygw binary (an S3-compatible server on a POSIX directory), building
# it once per machine if none is available. It is what the S3 snapshot-store tests run against.
# Order: $VERSITYGW, `versitygw` on PATH, the cached build, a fresh `go install`.
set -euo pipefail
VERSION=v1.8.0
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${BLACKSTART_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/blackstart}/versitygw-$VERSION"
link="$root/.tools/bin/versitygw"

if [ -n "${VERSITYGW:-}" ]; then
  [ -x "$VERSITYGW" ] || { echo "VERSITYGW=$VERSITYGW is not an executable" >&2; exit 1; }
  echo "$VERSITYGW"; exit 0
fi
if command -v versitygw >/dev/null 2>&1; then command -v versitygw; exit 0; fi
if [ ! -x "$cache/versitygw" ]; then
  command -v go >/dev/null 2>&1 || {
    echo "No versitygw found: set VERSITYGW, put 'versitygw' on PATH, or install Go (>= 1.25) to build $VERSION." >&2
    exit 1
  }
  mkdir -p "$cache"
  echo "Building versitygw $VERSION with go install (once; cached in $cache)..." >&2
  start=$(date +%s)
  build() { CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$cache" go install "github.com/versity/versitygw/cmd/versitygw@$VERSION"; }
  if ! build >&2 2>"$cache/build.log"; then
    if grep -q 'verifying module\|sum.golang.org\|checksum database' "$cache/build.log"; then
      echo "Checksum database unreachable: retrying with GOSUMDB=off (dependencies still checked against go.sum)." >&2
      GOSUMDB=off build >&2 2>>"$cache/build.log" || { cat "$cache/build.log" >&2; exit 1; }
    else
      cat "$cache/build.log" >&2; exit 1
    fi
  fi
  echo "versitygw $VERSION built in $(( $(date +%s) - start ))s" >&2
fi
mkdir -p "$(dirname "$link")"
ln -sf "$cache/versitygw" "$link"
echo "$link"
