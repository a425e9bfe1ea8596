#!/usr/bin/python3
"""Reference 95% intervals of single scores for sketch's TestIntervalVectors.

Computed independently of the Go code with scipy and statsmodels (Debian's
python3-scipy and python3-statsmodels). Run from this directory:

    /usr/bin/python3 intervals.py > intervals.json

CSAT: Wilson interval of the share of 4-5 (statsmodels), x 100.
CES: Student t interval of the mean of the answers plus one pseudo-answer at
4 (at 5 when every answer is 4): centre +- t(0.975, n-1) s / sqrt(n+1),
clipped to 1-7, widened to hold the observed mean.
NPS: adjusted Wald (n' = n+3, P' = (promoters+3/4)/n', D' likewise),
centre 100(P'-D') +- 100 z sqrt((P'+D'-(P'-D')^2)/n'), clipped to -100..100,
widened to hold the observed score.
The margin of error is always half the width of the reported interval.
"""
import json
import math

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

Z = stats.norm.ppf(0.975)


def csat(counts):
    n = sum(counts)
    x = counts[3] + counts[4]
    lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    return 100 * lo, 100 * hi


def ces(counts):
    n = sum(counts)
    values = np.repeat(np.arange(1, 8), counts).astype(float)
    pseudo = 5.0 if counts[3] == n else 4.0
    aug = np.append(values, pseudo)
    centre = aug.mean()
    s = aug.std(ddof=1)
    moe = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n + 1)
    mean = values.mean()
    return min(max(centre - moe, 1), mean), max(min(centre + moe, 7), mean)


def nps(counts):
    n = sum(counts)
    prom, det = counts[9] + counts[10], sum(counts[:7])
    score = 100 * (prom - det) / n
    n3 = n + 3
    p, d = (prom + 0.75) / n3, (det + 0.75) / n3
    centre = 100 * (p - d)
    moe = 100 * Z * math.sqrt((p + d - (p - d) ** 2) / n3)
    return min(max(centre - moe, -100), score), max(min(centre + moe, 100), score)


CASES = {
    "csat": [[0, 2, 0, 0, 8], [10, 0, 0, 0, 0], [0, 0, 0, 0, 1], [3, 1, 4, 1, 5], [0, 9, 0, 41, 0], [120, 80, 300, 900, 1600]],
    "ces": [[1, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 10], [0, 0, 0, 10, 0, 0, 0], [10, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 2, 8], [1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 0, 2], [40, 10, 0, 0, 0, 0, 0], [3, 5, 8, 40, 90, 200, 300]],
    "nps": [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 26, 0, 0, 0, 34, 0, 60, 0], [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], [5, 5, 5, 5, 5, 5, 5, 20, 20, 40, 40],
            [0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 1]],
}

out = []
for metric, fn in (("csat", csat), ("ces", ces), ("nps", nps)):
    for counts in CASES[metric]:
        lo, hi = fn(counts)
        out.append({"metric": metric, "counts": counts, "low": float(lo), "high": float(hi), "margin": float((hi - lo) / 2)})
print("[\n" + ",\n".join(json.dumps(o) for o in out) + "\n]")
