"""Compare two tidy result tables cell by cell (NaN equals NaN), leaving out the columns that hold timings.

    python experiments/2026-12-03-restructure/compare_tables.py before/results.csv after/results.csv
"""

import sys

import pandas as pd

NOT_COMPARED = {"time_s", "svm_time_s", "ganeval_version"}


def main(before: str, after: str) -> int:
    a, b = pd.read_csv(before), pd.read_csv(after)
    print(f"rows {len(a)} / {len(b)}; same columns in the same order: {list(a.columns) == list(b.columns)}")
    print(f"columns only before: {sorted(set(a.columns) - set(b.columns))}; "
          f"only after: {sorted(set(b.columns) - set(a.columns))}")
    if len(a) != len(b):
        return 1
    differing = 0
    for c in (c for c in a.columns if c in b.columns and c not in NOT_COMPARED):
        same = (a[c] == b[c]) | (a[c].isna() & b[c].isna())
        if not same.all():
            differing += int((~same).sum())
            print(f"column {c}: {(~same).sum()} cells differ, e.g. {a[c][~same].head(3).tolist()} "
                  f"vs {b[c][~same].head(3).tolist()}")
    print(f"differing cells (not comparing {sorted(NOT_COMPARED)}): {differing}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
