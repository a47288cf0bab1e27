#!/usr/bin/env bash
# Builds the SwiftNIO example server in release and records it with `highwater record` under three load phases
# (blocking work on a 40-thread pool, uploads spooled to a temp dir, a cache with no bound), then checks the
# expectations again from the results with `highwater check --results`. See the README's "A Swift server".
#   examples/swift-server/run.sh            (or `make example-swift`)
#   OUT=results/swift-server PORT=8080 WORKERS=40 examples/swift-server/run.sh
#   OUT=results/swift-server-arenas-2 examples/swift-server/run.sh --env MALLOC_ARENA_MAX=2   (more record options)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT:-$root/results/swift-server}
port=${PORT:-8080}
workers=${WORKERS:-40}

# Highwater's CLI and its allocation agent, then the server (swift-nio in release takes minutes the first time).
(cd "$root" && swift build -c release --product highwater && swift build -c release --product HighwaterAgent)
swift build -c release --package-path "$here"
highwater=$root/.build/release/highwater
server=$here/.build/release/swift-server

# The uploads' temp dir: as root a 64 MiB tmpfs, to see it fill; otherwise a plain directory.
tmp=$(mktemp -d)
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64m swift-server-tmp "$tmp"; then
    trap 'umount "$tmp"; rmdir "$tmp"' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi

set +e
"$highwater" record --out "$out" --agent --ready "http://127.0.0.1:$port/health" --watch-dir "$tmp" \
    --env TMPDIR="$tmp" --env PORT="$port" --env WORKERS="$workers" \
    --load "GET http://127.0.0.1:$port/work n=4000 c=40" \
    --load "POST http://127.0.0.1:$port/upload n=12 upload=8MiB..96MiB" \
    --load "GET http://127.0.0.1:$port/leak n=4000 c=1" \
    --expect 'arenas_max <= cores * 8' \
    --expect '01-*: growth.classification != linear' \
    --expect '03-*: growth.classification == linear' \
    "$@" -- "$server"
recorded=$?
"$highwater" check --results "$out"
checked=$?
echo "record exited $recorded, check exited $checked; the report: $out/report.md, $out/index.html"
# /work must not grow linearly and /leak must: exit as check did, as CI would.
exit $checked
