"""Run every benchmark module, or those named on the command line; options (`--quick`)
go to the modules whose `main` takes them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    names = [arg for arg in argv if not arg.startswith("-")]
    options = [arg for arg in argv if arg.startswith("-")]
    available = sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(bench.__path__)
        if module.name.startswith("bench_")
    )
    chosen = names or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    for name in chosen:
        print(f"== {name}")
        run = importlib.import_module(f"bench.bench_{name}").main
        run(options) if inspect.signature(run).parameters else run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
