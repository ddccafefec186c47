import sys, pandas as pd, numpy as np
a = pd.read_csv(sys.argv[1]); b = pd.read_csv(sys.argv[2])
skip = {"time_s", "svm_time_s", "ganeval_version"}
print("rows", len(a), len(b), "cols equal:", list(a.columns) == list(b.columns))
print("cols only before:", sorted(set(a.columns) - set(b.columns)), "only after:", sorted(set(b.columns) - set(a.columns)))
cols = [c for c in a.columns if c in b.columns and c not in skip]
diffs = 0
for c in cols:
    x, y = a[c], b[c]
    same = (x == y) | (x.isna() & y.isna())
    if not same.all():
        diffs += (~same).sum(); print("DIFF", c, (~same).sum(), x[~same].head(3).tolist(), y[~same].head(3).tolist())
print("differing cells (excluding", sorted(skip), "):", diffs)
