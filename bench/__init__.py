"""Load and micro benchmarks. Never run by CI: `make bench` (or `make bench BENCH_ARGS=name`).

Each `bench/bench_<name>.py` has `main() -> None` and prints its figures as ratios
against a baseline measured in the same run: the machine is shared and noisy.
"""
