# The two commands of the README. Each installs what it needs first.
.PHONY: run test deps build bench example-swift install uninstall

# Debian packages to install; targets add their own.
DEPS = pkg-config

deps:
	@scripts/install-deps $(DEPS)

# The CLI and the allocation agent its hosted children preload (swift build takes one --product at a time).
build: deps
	swift build -c release --product highwater
	swift build -c release --product HighwaterAgent

# `highwater` on the PATH, with the allocation agent beside it (highwater finds libHighwaterAgent.so next to its own
# executable): PREFIX/bin/highwater and PREFIX/bin/libHighwaterAgent.so. `make install PREFIX=$HOME/.local` needs no root.
PREFIX ?= /usr/local
install: build
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 .build/release/highwater "$(DESTDIR)$(PREFIX)/bin/highwater"
	install -m 644 .build/release/libHighwaterAgent.so "$(DESTDIR)$(PREFIX)/bin/libHighwaterAgent.so"

uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/highwater" "$(DESTDIR)$(PREFIX)/bin/libHighwaterAgent.so"

# The main job: every scenario in scenarios/, writing a report to results/.
run: build
	.build/release/highwater env
	.build/release/highwater run --out results

# The tests also open a report in headless Chromium and an allocation profile in `go tool pprof`, hold the agent
# beside heaptrack (each skipped with the reason when it is absent), and record a real uvicorn + Starlette app from
# the project's venv (.venv).
# One test at a time: the tests measure real processes (their RSS, threads, arenas, how fast they end), and a test's
# waits and timings run on Swift's cooperative pool, one thread a core. In parallel on two cores, two tests busy
# with synchronous work held both threads for 40-60 s, so other tests' processes were seen only long after they had
# started or ended (a clean clone's CI run failed four such tests). One at a time it took 198 s against 150 s.
test: DEPS += chromium golang-go heaptrack prometheus pip:uvicorn pip:starlette pip:python-multipart
test: deps
	swift test --no-parallel

# Highwater's own costs, built apart from the product (see ARCHITECTURE.md).
# bench agent: the uvicorn server under wrk, beside heaptrack.
bench: DEPS += pip:psrecord wrk heaptrack pip:uvicorn pip:starlette
bench: deps
	swift build -c release --product highwater
	swift build -c release --product HighwaterAgent
	swift build -c release --product highwater-bench

# The README's Swift example: a SwiftNIO server (its own package, examples/swift-server) built in release and recorded
# under load; exits as `highwater check --results` does (its /leak phase is there to fail).
example-swift: deps
	examples/swift-server/run.sh
