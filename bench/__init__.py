"""Load and micro benchmarks. Never run by CI: `make bench` (or `make bench BENCH_ARGS=name`).

Each `bench/bench_<name>.py` has a `main()` (taking the command line's options, such as
`--quick`, when it has any) and prints its figures as ratios against a baseline measured
in the same run: the machine is shared and noisy. `bench_load` also writes
docs/benchmarks.md; its parts are the other modules here.
"""
