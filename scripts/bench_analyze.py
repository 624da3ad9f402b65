"""Side by side on the same generated file: `secbench analyze` (every metric, with bootstrap
intervals) against DuckDB's one-metric group-by (`read_ndjson` with explicit columns,
`quantile_disc`, 2 threads) in PAIRS alternating runs, each a process of its own timed with
wait4; `secbench report` of the same run (median of PAIRS, peak RSS); and a plain pandas + numpy
group-by-percentiles, which also checks that secbench's percentiles agree with numpy's exact
ones within HdrHistogram's precision (3 significant digits).

Usage (scripts/bench-analyze.sh runs it): python bench_analyze.py SECBENCH GEN_RECORDS DIR COUNT [COUNT...]
The first COUNT gets the paired runs, the report and pandas; later ones (e.g. 10M) secbench
analyze only. PAIRS: $SECBENCH_BENCH_PAIRS, default 5.
"""
import json
import os
import tempfile
import subprocess
import sys
import time

import numpy as np
import pandas as pd

QUANTILES = [0.5, 0.9, 0.99, 0.999]


def run_secbench(secbench, path):
    """Runs secbench alone; its peak RSS comes from wait4 on that one process."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen([secbench, "analyze", path, "--format", "json"], stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"secbench analyze failed with status {proc.returncode}")
        out.seek(0)
        return elapsed, usage.ru_maxrss, json.load(out)


def timed(argv):
    """Runs argv as a process of its own; its wall time (s) and peak RSS (KB) from wait4."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv[0]} failed with status {status}")
        return elapsed, usage.ru_maxrss


# DuckDB's query: the handler fetches' latency percentiles per stage, scenario and phase, from
# the columns it needs only.
DUCKDB = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET enable_progress_bar = false")
rows = con.execute(\"\"\"
SELECT stage, scenario, phase,
       quantile_disc(f.latency_ns, [0.5, 0.9, 0.99, 0.999]) AS q
FROM (
  SELECT stage, scenario, CASE WHEN probe.cold THEN 'cold' ELSE 'warm' END AS phase,
         unnest(probe.fetches) AS f
  FROM read_ndjson(?, columns = {
    stage: 'VARCHAR', scenario: 'VARCHAR',
    probe: 'STRUCT(cold BOOLEAN, fetches STRUCT(phase VARCHAR, outcome VARCHAR, latency_ns UBIGINT)[])'
  })
  WHERE probe IS NOT NULL
)
WHERE f.phase = 'handler' AND f.outcome <> 'error'
GROUP BY ALL
\"\"\", [sys.argv[1]]).fetchall()
print(len(rows))
"""


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def side_by_side(secbench, path, pairs):
    """secbench analyze and DuckDB in alternating runs; then secbench report."""
    ours, theirs = [], []
    for i in range(pairs):
        a, a_kb = timed([secbench, "analyze", path, "--format", "json"])
        d, d_kb = timed([sys.executable, "-c", DUCKDB, path])
        ours.append(a)
        theirs.append(d)
        print(f"  pair {i + 1}: secbench analyze {a:5.2f} s ({a_kb / 1024:.0f} MB)  duckdb {d:5.2f} s ({d_kb / 1024:.0f} MB)  duckdb/secbench {d / a:4.2f}")
    print(f"secbench analyze, median of {pairs}: {median(ours):.2f} s; duckdb: {median(theirs):.2f} s; ratio of medians duckdb/secbench {median(theirs) / median(ours):.2f} (target at least 1.5)")
    reports, peak = [], 0
    with tempfile.TemporaryDirectory() as out:
        for _ in range(pairs):
            r, kb = timed([secbench, "report", path, "--out", out])
            reports.append(r)
            peak = max(peak, kb)
    print(f"secbench report, median of {pairs}: {median(reports):.2f} s (runs {', '.join(f'{r:.2f}' for r in reports)}), peak RSS {peak / 1024:.0f} MB (targets: 1.0 s, 100 MB)")


def run_pandas(path):
    start = time.perf_counter()
    stage, scenario, phase, latency = [], [], [], []
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            p = r.get("probe")
            if not p:
                continue
            ph = "cold" if p["cold"] else "warm"
            for fetch in p["fetches"]:
                if fetch["phase"] == "handler" and fetch["outcome"] != "error":
                    stage.append(r["stage"])
                    scenario.append(r["scenario"])
                    phase.append(ph)
                    latency.append(fetch["latency_ns"])
    df = pd.DataFrame({"stage": stage, "scenario": scenario, "phase": phase, "latency_ns": np.array(latency, dtype=np.int64)})
    result = df.groupby(["stage", "scenario", "phase"])["latency_ns"].quantile(QUANTILES).unstack()
    return time.perf_counter() - start, result


def main():
    secbench, gen, directory, counts = sys.argv[1], sys.argv[2], sys.argv[3], [int(c) for c in sys.argv[4:]]
    os.makedirs(directory, exist_ok=True)
    for n, count in enumerate(counts):
        path = os.path.join(directory, f"records-{count}.jsonl")
        subprocess.run([gen, path, str(count)], check=True)
        size = os.path.getsize(path)
        elapsed, peak_kb, summary = run_secbench(secbench, path)
        print(f"secbench analyze: {count:>11,} records ({size / 1e9:.2f} GB) in {elapsed:6.2f} s = {count / elapsed:>11,.0f} records/s, peak RSS {peak_kb / 1024:.0f} MB")
        if n == 0:
            side_by_side(secbench, path, int(os.environ.get("SECBENCH_BENCH_PAIRS", "5")))
            pandas_s, exact = run_pandas(path)
            print(f"pandas + numpy:   {count:>11,} records in {pandas_s:6.2f} s = {count / pandas_s:>11,.0f} records/s")
            print(f"ratio: secbench is {pandas_s / elapsed:.1f}x faster than pandas")
            worst = 0.0
            for g in summary["groups"]:
                m = g["metrics"].get("fetch_latency_ns")
                if not m:
                    continue
                row = exact.loc[(g["stage"], g["scenario"], g["phase"])]
                for q, key in zip(QUANTILES, ["p50_ns", "p90_ns", "p99_ns", "p999_ns"]):
                    rel = abs(m[key] - row[q]) / row[q]
                    worst = max(worst, rel)
            print(f"largest relative difference from numpy's exact percentiles: {worst:.5f} (HdrHistogram 3 significant digits: about 0.001 plus interpolation between neighbouring values)")
        os.remove(path)


if __name__ == "__main__":
    main()
