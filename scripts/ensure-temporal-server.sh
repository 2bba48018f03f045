#!/usr/bin/env bash
# Builds (once per machine) the Temporal server, its SQL schema tool and the Web UI server from
# the Go module proxy, and prints the directory holding `temporal-server`, `temporal-sql-tool`
# and (when it built) `ui-server`. `BLACKSTART_TEMPORAL=postgres` runs these instead of the CLI's
# dev server. The server needs Go >= 1.26.10: GOTOOLCHAIN=go1.27.3 has the go command fetch that
# toolchain from the module proxy (the machine's own Go is older).
# Order: $TEMPORAL_SERVER_DIR, the cached build, a fresh `go install`.
set -euo pipefail
VERSION=v1.32.2
UI_VERSION=v2.58.1
TOOLCHAIN="${BLACKSTART_GOTOOLCHAIN:-go1.27.3}"
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${BLACKSTART_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/blackstart}/temporal-server-$VERSION"
link="$root/.tools/temporal-server"

if [ -n "${TEMPORAL_SERVER_DIR:-}" ]; then
  [ -x "$TEMPORAL_SERVER_DIR/temporal-server" ] && [ -x "$TEMPORAL_SERVER_DIR/temporal-sql-tool" ] || {
    echo "TEMPORAL_SERVER_DIR=$TEMPORAL_SERVER_DIR holds no temporal-server and temporal-sql-tool" >&2; exit 1; }
  echo "$TEMPORAL_SERVER_DIR"; exit 0
fi
install() { # module@version, binary name
  CGO_ENABLED=0 GOTOOLCHAIN="$TOOLCHAIN" GOBIN="$cache/.bin" go install "$1" >&2 2>>"$cache/build.log" && mv "$cache/.bin/$(basename "${1%@*}")" "$cache/$2"
}
if [ ! -x "$cache/temporal-server" ] || [ ! -x "$cache/temporal-sql-tool" ]; then
  command -v go >/dev/null 2>&1 || {
    echo "No Temporal server build found: install Go to build go.temporal.io/server $VERSION (or set TEMPORAL_SERVER_DIR)." >&2
    exit 1
  }
  mkdir -p "$cache/.bin"; : >"$cache/build.log"
  echo "Building the Temporal server $VERSION and its SQL tool with go install and $TOOLCHAIN (once; cached in $cache)..." >&2
  start=$(date +%s)
  install "go.temporal.io/server/cmd/server@$VERSION" temporal-server || { cat "$cache/build.log" >&2; exit 1; }
  install "go.temporal.io/server/cmd/tools/sql@$VERSION" temporal-sql-tool || { cat "$cache/build.log" >&2; exit 1; }
  echo "Temporal server $VERSION built in $(( $(date +%s) - start ))s" >&2
fi
# The schema files ship in the module: keep them beside the binaries for the schema tool.
if [ ! -d "$cache/schema" ]; then
  dir=$(GOTOOLCHAIN="$TOOLCHAIN" GOFLAGS=-mod=mod go mod download -json "go.temporal.io/server@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cp -r "$dir/schema" "$cache/schema" && chmod -R u+w "$cache/schema"
fi
# The Web UI server is optional: a failed build is reported, the server runs without it. Its
# go.mod requires two versions the module proxy refuses (403 "not available"), so it is built from
# a throwaway module whose replace directives pin the nearest versions the proxy serves. A failure
# is remembered with the recipe it failed with (first line of ui-server.failed): a new pin retries.
UI_PINS=(
  "go.temporal.io/api v1.64.0 => go.temporal.io/api v1.64.3"                   # v1.64.0 refused
  "github.com/labstack/echo/v4 v4.16.1 => github.com/labstack/echo/v4 v4.16.0" # v4.16.1 refused
)
ui_recipe="ui-server $UI_VERSION; $(printf '%s; ' "${UI_PINS[@]}")"
build_ui() {
  local tmp rc=0
  tmp=$(mktemp -d)
  { printf 'module blackstart.local/temporal-ui-server\n\ngo 1.27\n\n'; printf 'replace %s\n' "${UI_PINS[@]}"; } >"$tmp/go.mod"
  (cd "$tmp" && export GOTOOLCHAIN="$TOOLCHAIN" GOFLAGS=-mod=mod CGO_ENABLED=0 &&
    go get "github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION" &&
    go build -o "$cache/ui-server" github.com/temporalio/ui-server/v2/cmd/server) >>"$cache/build.log" 2>&1 || rc=$?
  rm -rf "$tmp"
  return $rc
}
if [ ! -x "$cache/ui-server" ] && command -v go >/dev/null 2>&1 &&
  { [ ! -f "$cache/ui-server.failed" ] || [ "$(head -1 "$cache/ui-server.failed")" != "$ui_recipe" ]; }; then
  echo "Building the Temporal UI server $UI_VERSION with $TOOLCHAIN (once; cached in $cache)..." >&2
  start=$(date +%s)
  if build_ui; then
    rm -f "$cache/ui-server.failed"
    echo "Temporal UI server $UI_VERSION built in $(( $(date +%s) - start ))s" >&2
  else
    { echo "$ui_recipe"; tail -5 "$cache/build.log"; } >"$cache/ui-server.failed"
    echo "The Temporal UI server did not build (see $cache/ui-server.failed)" >&2
  fi
fi
mkdir -p "$(dirname "$link")"
ln -sfn "$cache" "$link"
echo "$link"
