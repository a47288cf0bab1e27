# The two commands of the README. Each installs what it needs first.
.PHONY: run test deps build

deps:
	@scripts/install-deps pkg-config

build: deps
	swift build -c release --product highwater

# The main job: the default scenarios, writing a report to results/.
run: build
	.build/release/highwater env
	.build/release/highwater run --out results scenarios/threadpool-growth.yaml scenarios/leak-vs-plateau.yaml

test: deps
	swift test
