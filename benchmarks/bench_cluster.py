#!/usr/bin/env python
"""The tiny study's wall time: serial (`run_study`) vs on a 2-worker Dask `LocalCluster` (`run_study(cluster=...)`), in one run.

    python benchmarks/bench_cluster.py                     # OsteoNet (group norm), 32^3, 2 folds, 2 variants, 1 epoch, 12 subjects
    python benchmarks/bench_cluster.py --model tiny        # the tests' TinyNet: the overheads alone (seconds)
    python benchmarks/bench_cluster.py --workers 4 --threads 2 --size 64 --epochs 3

What it does, on one machine in one process (each variant a fresh study folder, the same dataset and seeds):
1. writes a tiny converted dataset (`test_utils.tiny_dataset`, `--n-per-class` subjects a class, 32x40x48 voxels);
2. serial: `run_study` as `spine-osteo-study` runs it, each run with this process's torch threads (or `--threads`);
3. cluster: starts a `LocalCluster` of `--workers` worker processes (timed apart: "start"), then `run_study(cluster=client)`,
   each run with `cluster.task_threads` threads (the cores shared out) or `--threads`;
4. prints the wall times, the ratio, the load average (`os.getloadavg`) before and after each row, and the largest
   difference between the two studies' out-of-fold probabilities (0 when both used the same thread count).
The baseline is left out (it runs on the client in both). Not a test (CI does not run it).
"""
import argparse, os, platform, shutil, sys, tempfile, time
from pathlib import Path

def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', default='osteonet', choices=('osteonet', 'tiny'), help="OsteoNet (group norm) or the tests' TinyNet")
    p.add_argument('--size', type=int, default=32, help="cubic input size")
    p.add_argument('--epochs', type=int, default=1, help="epochs a run")
    p.add_argument('--folds', type=int, default=2, help="folds")
    p.add_argument('--variants', default='attention,t2', help="variants (comma-separated)")
    p.add_argument('--n-per-class', type=int, default=4, help="subjects a class")
    p.add_argument('--workers', type=int, default=2, help="LocalCluster worker processes")
    p.add_argument('--threads', type=int, default=None, help="torch threads of every run, serial and cluster (default: each its own)")
    return p.parse_args()

def load(): return ' / '.join(f"{x:.1f}" for x in os.getloadavg())

def main():
    a = parse()
    import numpy as np, torch
    from spine_osteo.study import run_study
    from spine_osteo.cluster import cluster_client, task_threads
    from spine_osteo.test_utils import tiny_dataset, TinyNet
    d = Path(tempfile.mkdtemp(prefix='bench_cluster_'))
    try:
        tiny_dataset(d/'data', n_per_class=a.n_per_class, shape=(32, 40, 48))
        kw = dict(folds=a.folds, variants=a.variants, baseline=False, size=a.size, bs=2, epochs=a.epochs, n_boot=50, aug=None, quiet=True)
        if a.model == 'tiny': kw.update(model=TinyNet(), norm='batch')
        rows = []
        l0, t = load(), time.perf_counter()
        serial = run_study(d/'data', d/'serial', threads=a.threads, **kw)
        rows.append(('serial, this process', a.threads or torch.get_num_threads(), time.perf_counter() - t, l0, load()))
        l0, t = load(), time.perf_counter()
        with cluster_client(f'local:{a.workers}', gpus=[]) as client:
            start = time.perf_counter() - t
            t2 = time.perf_counter()
            dist = run_study(d/'data', d/'cluster', cluster=client, threads=a.threads, **kw)
            run_s = time.perf_counter() - t2
        rows.append((f'LocalCluster, {a.workers} workers (start {start:.1f} s)', a.threads or task_threads(f'local:{a.workers}'), start + run_s, l0, load()))
        cols = [c for c in serial['oof'] if c.startswith('p_')]
        diff = float(np.abs(serial['oof'][cols].values - dist['oof'][cols].values).max())
        n_runs = len(serial['runs'])
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; "
              f"{a.model}, {a.size}^3, {a.folds} folds x {len(a.variants.split(','))} variants = {n_runs} runs, {a.epochs} epoch(s), "
              f"{3*a.n_per_class} subjects")
        print("| how | torch threads a run | wall s | vs serial | load before | load after |")
        print("|---|---|---|---|---|---|")
        for how, th, s, lb, la in rows: print(f"| {how} | {th} | {s:.1f} | {rows[0][2]/s:.2f}x | {lb} | {la} |")
        print(f"largest |difference| of out-of-fold probabilities, serial vs cluster: {diff:.2e}; same folds: {serial['folds'].equals(dist['folds'])}")
    finally: shutil.rmtree(d, ignore_errors=True)

if __name__ == '__main__': main()   # the guard matters: Dask's workers are spawned processes that import this file
