#!/usr/bin/env python3
"""A/B of two ttfd binaries on one bench database: `ttfd bench api` run by each binary in
turn (A B A B ...), each run starting its own server from that binary, and the ratio table of
the GraphQL lines (B over A: medians of the rounds).

This machine's speed drifts between runs by up to 30 %, so only ratios measured in one
alternating run are compared, never absolute numbers across runs.

    scripts/bench-ab.py --baseline /tmp/ttfd-old --candidate target/release/ttfd \\
        --data-dir /var/tmp/ttfd-bench --rounds 3 -- --seconds 10 --ops leaderboard,user

The database must hold the bench users already (`ttfd bench --data-dir DIR load`). Arguments
after `--` go to `bench api` of both binaries, so use only options both know.

When B adds a migration, A refuses to start on a database B has migrated: give A a copy of the
data directory made before B's first run (`cp -a DIR DIR-a` with PostgreSQL stopped) as
`--baseline-data-dir`.
"""

import argparse
import statistics
import subprocess
import sys


def run(binary, data_dir, api_args):
    """One `bench api` run: {operation: (req/s, p50 ms, p99 ms)} of its GraphQL lines."""
    out = subprocess.run(
        [binary, "bench", "--data-dir", data_dir, "api", *api_args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    rows, op = {}, None
    for line in out.splitlines():
        # "<operation, padded to 30> <path> <clients> <req/s> <p50> <p99> <errors> [<of SQL>]"
        label, rest = line[:30].strip(), line[30:].split()
        if label:
            op = label
        if len(rest) >= 6 and rest[0] == "graphql" and op:
            rows[op] = (float(rest[2]), float(rest[3]), float(rest[4]))
    if not rows:
        sys.exit(f"{binary}: no GraphQL lines in its output:\n{out}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the old binary (A)")
    parser.add_argument("--candidate", required=True, help="the new binary (B)")
    parser.add_argument("--data-dir", required=True, help="the owned PostgreSQL with the bench users")
    parser.add_argument("--baseline-data-dir", help="A's own copy of it (default: --data-dir)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("api_args", nargs="*", help="passed to `bench api`")
    args = parser.parse_args()

    results = {"A": [], "B": []}
    for r in range(args.rounds):
        sides = (
            ("A", args.baseline, args.baseline_data_dir or args.data_dir),
            ("B", args.candidate, args.data_dir),
        )
        for side, binary, data_dir in sides:
            rows = run(binary, data_dir, args.api_args)
            results[side].append(rows)
            summary = ", ".join(f"{op}: {v[0]:.0f}/s p99 {v[2]:.1f} ms" for op, v in rows.items())
            print(f"round {r + 1} {side}: {summary}", file=sys.stderr, flush=True)

    def median(side, op, i):
        return statistics.median(run[op][i] for run in results[side] if op in run)

    print(f"| operation | A req/s | B req/s | B/A throughput | A p99 ms | B p99 ms | B/A p99 |")
    print("|---|---|---|---|---|---|---|")
    for op in results["A"][0]:
        a, b = median("A", op, 0), median("B", op, 0)
        a99, b99 = median("A", op, 2), median("B", op, 2)
        print(f"| {op} | {a:,.0f} | {b:,.0f} | **{b / a:.2f}x** | {a99:.2f} | {b99:.2f} | {b99 / a99:.2f} |")
    print(f"\n{args.rounds} rounds, alternating A and B; medians of the rounds.")


if __name__ == "__main__":
    main()
