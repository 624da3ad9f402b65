"""Side by side on the same generated file: `secbench analyze` vs a plain pandas + numpy
group-by-percentiles. Prints records/s and peak memory of secbench, the pandas time, their
ratio, and checks that secbench's percentiles agree with numpy's exact ones within
HdrHistogram's precision (3 significant digits).

Usage (scripts/bench-analyze.sh runs it): python bench_analyze.py SECBENCH GEN_RECORDS DIR COUNT [COUNT...]
The first COUNT is also run through pandas; later ones (e.g. 10M) through secbench only.
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
