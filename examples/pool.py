"""A thread pool churning numpy arrays: seed 004's server in a few lines, to sample with Highwater.

    highwater sample --out results/pool-40 -- python3 examples/pool.py 40
    highwater sample --out results/pool-1  -- python3 examples/pool.py 1

Each task allocates a few arrays of 64 KiB to 4 MiB, fills and sums them, and frees them all: nothing is kept.
With 40 workers each thread that allocates gets a glibc arena of its own (up to glibc's cap, 8 x cores) and the
arenas keep what was freed in them, so RSS rises until every arena has reached its high water and then stays:
a plateau, bounded by the arenas. With 1 worker one arena is reused and RSS stays flat.

Arguments: WORKERS (default 40), SECONDS to run (default 20).
"""
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def churn(seed):
    rng = random.Random(seed)
    arrays = [np.ones(rng.randint(8 << 10, 512 << 10), dtype=np.float64) for _ in range(rng.randint(2, 6))]
    total = sum(float(a.sum()) for a in arrays)
    del arrays
    return total


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    deadline = time.monotonic() + seconds
    submitted = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        while time.monotonic() < deadline:
            # Twice the workers in flight: every worker stays busy, and the queue stays bounded.
            while len(pending) < 2 * workers:
                pending.append(pool.submit(churn, submitted))
                submitted += 1
            pending = [f for f in pending if not f.done()]
            time.sleep(0.001)
    print(f"{submitted} tasks on {workers} workers in {seconds:g} s", file=sys.stderr)


if __name__ == "__main__":
    main()
