#!/usr/bin/python3
"""Reference comparisons of two groups for sketch's TestCompareVectors.

Computed independently of the Go code with scipy and statsmodels (Debian's
python3-scipy and python3-statsmodels). Run from this directory:

    /usr/bin/python3 compare.py > compare.json

NPS: adjusted Wald (MeasuringU): n' = n+3, P' = (promoters+3/4)/n', D' likewise,
V = P'+D'-(P'-D')^2; SE = sqrt(V1/n'1 + V2/n'2); interval 100((NPS'1-NPS'2) +- z SE),
p from the normal distribution (scipy); difference = observed NPS1 - NPS2.
CSAT: Agresti-Caffo interval (statsmodels confint_proportions_2indep), p-value of
the N-1 chi-square test: (N-1)/N times Pearson's chi-square without continuity
correction (scipy chi2_contingency), p from chi2 with 1 df; difference = x1/n1 - x2/n2.
CES: Welch's t test (scipy ttest_ind, equal_var=False) for p, interval from
statsmodels CompareMeans.tconfint_diff(usevar="unequal").
Fields that cannot be computed are null.
"""
import json
import math

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

Z = stats.norm.ppf(0.975)


def nps(a, b):
    def adj(c):
        n = sum(c)
        prom, det = c[9] + c[10], sum(c[:7])
        n3 = n + 3
        p, d = (prom + 0.75) / n3, (det + 0.75) / n3
        return n, 100 * (prom - det) / n if n else None, n3, p - d, p + d - (p - d) ** 2

    n1, s1, m1, a1, v1 = adj(a)
    n2, s2, m2, a2, v2 = adj(b)
    if not n1 or not n2:
        return None, None, None
    se = math.sqrt(v1 / m1 + v2 / m2)
    d = a1 - a2
    return s1 - s2, (100 * (d - Z * se), 100 * (d + Z * se)), 2 * stats.norm.sf(abs(d / se))


def csat(a, b):
    x1, n1 = a[3] + a[4], sum(a)
    x2, n2 = b[3] + b[4], sum(b)
    if not n1 or not n2:
        return None, None, None
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="agresti-caffo", compare="diff", alpha=0.05)
    p = None
    if 0 < x1 + x2 < n1 + n2:
        table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
        chi2 = stats.chi2_contingency(table, correction=False)[0]
        N = n1 + n2
        p = stats.chi2.sf(chi2 * (N - 1) / N, 1)
    return 100 * (x1 / n1 - x2 / n2), (100 * lo, 100 * hi), p


def ces(a, b):
    va = np.repeat(np.arange(1, 8), a).astype(float)
    vb = np.repeat(np.arange(1, 8), b).astype(float)
    if not len(va) or not len(vb):
        return None, None, None
    diff = va.mean() - vb.mean()
    if len(va) < 2 or len(vb) < 2 or va.var(ddof=1) + vb.var(ddof=1) == 0:
        return diff, None, None
    p = stats.ttest_ind(va, vb, equal_var=False).pvalue
    lo, hi = CompareMeans(DescrStatsW(va), DescrStatsW(vb)).tconfint_diff(alpha=0.05, usevar="unequal")
    return diff, (lo, hi), p


CASES = {
    "nps": [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ([0, 0, 0, 26, 0, 0, 0, 34, 0, 60, 0], [5, 5, 5, 5, 5, 5, 5, 20, 20, 40, 40]),
        ([1, 0, 2, 0, 3, 0, 4, 10, 10, 30, 40], [3, 2, 2, 4, 3, 6, 10, 20, 30, 10, 10]),
        ([0] * 11, [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0]),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0]),
        ([40, 0, 0, 0, 0, 0, 100, 300, 300, 900, 1000], [30, 0, 0, 0, 0, 0, 120, 310, 300, 880, 990]),
    ],
    "csat": [
        ([0, 2, 0, 0, 8], [3, 1, 4, 1, 5]),
        ([0, 0, 0, 0, 10], [0, 0, 0, 10, 0]),
        ([10, 0, 0, 0, 0], [0, 0, 5, 0, 0]),
        ([0, 0, 0, 0, 1], [1, 0, 0, 0, 0]),
        ([0, 0, 0, 0, 0], [1, 0, 0, 0, 4]),
        ([120, 80, 300, 900, 1600], [100, 90, 310, 950, 1500]),
        ([0, 9, 0, 41, 0], [2, 2, 2, 2, 12]),
    ],
    "ces": [
        ([0, 0, 0, 0, 0, 2, 8], [1, 2, 3, 4, 5, 6, 7]),
        ([0, 0, 0, 0, 0, 0, 10], [0, 0, 0, 0, 0, 0, 10]),
        ([0, 0, 0, 0, 0, 0, 10], [0, 0, 0, 0, 0, 3, 7]),
        ([1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 3, 7]),
        ([0] * 7, [0, 0, 0, 1, 0, 0, 0]),
        ([40, 10, 0, 0, 0, 0, 0], [3, 5, 8, 40, 90, 200, 300]),
        ([3, 5, 8, 40, 90, 200, 300], [4, 5, 9, 41, 92, 190, 310]),
        ([0, 0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 2, 0]),
    ],
}


def f(v):
    return None if v is None else float(v)


out = []
for metric, fn in (("nps", nps), ("csat", csat), ("ces", ces)):
    for a, b in CASES[metric]:
        d, iv, p = fn(a, b)
        out.append({"metric": metric, "a": a, "b": b, "difference": f(d),
                    "low": f(iv[0]) if iv else None, "high": f(iv[1]) if iv else None, "p_value": f(p)})
print("[\n" + ",\n".join(json.dumps(o) for o in out) + "\n]")
