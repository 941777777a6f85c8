#!/usr/bin/python3
"""Cluster soak: the kill -9 chaos of test_cluster (e) for many rounds.

    python3 tests/soak/cluster_soak.py [--proxyd build-rel/node/proxyd] [--rounds 500]
                                       [--seed N] [--nodes 3] [-v]

Starts a real N-node cluster, then for each round kills -9 a random node (every third round the
leader) while a writer thread PUTs distinct configs through random live nodes, and restarts it.
At the end it checks that every acknowledged write is applied on every node, that the stored
config is the last acknowledged write (or a later unacknowledged one), that no two acknowledged
writes share an index, and that a final write is served by every node. Prints one summary line;
exit 0 when every check held, 1 otherwise. Not part of the test command.
"""

import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from lib.cluster import Cluster, chaos  # noqa: E402
from lib.util import TestFailure  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxyd", default=os.path.join("build-rel", "node", "proxyd"))
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("-v", action="store_true", help="one line per round")
    a = ap.parse_args()
    os.environ["PROXYD"] = os.path.abspath(a.proxyd)
    seed = a.seed if a.seed is not None else int(time.time())
    rng = random.Random(seed)
    t0 = time.monotonic()
    log = (lambda m: print(m, flush=True)) if a.v else None
    try:
        with Cluster(a.nodes) as c:
            s = chaos(c, a.rounds, rng, log=log)
    except TestFailure as e:
        print("cluster soak FAILED seed=%d after %.0fs: %s" % (seed, time.monotonic() - t0, e))
        return 1
    print("cluster soak OK seed=%d nodes=%d rounds=%d leader_kills=%d acked=%d failed=%d "
          "top_index=%d final_index=%d last_acked=w%d last_sent=w%d %.0fs"
          % (seed, a.nodes, s["rounds"], s["leader_kills"], s["acked"], s["failed"],
             s["top_index"], s["final_index"], s["last_acked_k"], s["last_k"],
             time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
