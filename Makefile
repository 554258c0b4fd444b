# The commands a person types. CI runs `make test` (through .ci/run).
.PHONY: help setup build collection lint test test-rust test-py lab lab-up lab-down lab-status bench clean

help:
	@echo "make lab        bring up the local DR lab and run the three modes in it"
	@echo "make test       install what is missing, then run every check CI runs"
	@echo "make setup      install apt packages, the musl target and the Python venv"
	@echo "make collection build the ocpdr.dr collection tarball into build/"
	@echo "make lab-up [SEED=N SCALE=N] | lab-status | lab-down   manage the lab by hand"
	@echo "make bench      run the benchmarks behind docs/BENCHMARKS.md"

setup:
	.ci/setup.sh

build:
	cargo build --workspace

collection: setup
	.ci/build-collection.sh

test: setup
	.ci/test.sh

bench: collection
	python3 tests/bench/bench_k8s_apply.py
	for script in tests/bench/*.sh; do "$$script" || exit 1; done
	for bench in tests/bench/*_bench.py; do build/venv/bin/python "$$bench" || exit 1; done

# The local DR lab (tests/lab): SEED=N and SCALE=N choose its data; state in build/lab.
LAB = PYTHONPATH=tests build/venv/bin/python -m lab
LAB_UP_ARGS = $(if $(SEED),--seed $(SEED)) $(if $(SCALE),--scale $(SCALE))

lab-up: setup
	$(LAB) up $(LAB_UP_ARGS)

lab-status:
	$(LAB) status

lab-down:
	$(LAB) down

clean:
	if [ -x build/venv/bin/python ]; then $(LAB) down; fi
	rm -rf build
	find collection/plugins/modules -type f ! -name "*.yml" -delete
	cargo clean
