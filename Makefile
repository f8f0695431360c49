# The two commands of the README: `make demo` runs the main job, `make test`
# runs every check (what CI runs).
.PHONY: test demo build bench image

test:
	scripts/test

build:
	go build -o bin/headcount ./cmd/headcount

demo:
	go run ./cmd/headcount demo

bench:
	bench/run

image:
	scripts/image
