#!/usr/bin/env python
"""Benchmark prediction start-up: today's code (a git revision, default `main`) vs the working tree, side by side.

Measures, in one run, alternating the two code versions on the same inputs:
- `--help` of every console script (the installed entry points, run with PYTHONPATH pointing at each version);
- import times (`python -c "import X"`) of the modules prediction needs, and MONAI's import of its EfficientNet;
- one subject from raw DICOM to a printed prediction with the demo's model (`spine-osteo-predict RUN SUBJECT`);
- a whole export of N subjects: one `spine-osteo-predict` call per subject (today's only way) vs one `--out` call.

The model has the demo's architecture and input size (OsteoNet, head=False, group norm, 32^3), untrained: the class
does not matter for timing. The subjects are synthetic, at the realistic 256-512 matrix, with distractor series.
Every command is a fresh process (what a user pays); each is run `--reps` times alternating old/new, and the
median is reported. Torch threads: OMP_NUM_THREADS=1 unless --threads is given.

    python benchmarks/bench_predict.py                  # about 5 minutes on 2 busy cores
    python benchmarks/bench_predict.py --base main --reps 3 --n-subjects 6
"""
import argparse, os, sys, time, shutil, subprocess, tempfile, platform, statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def sh(cmd, env, cwd=None):
    "Run `cmd`; (wall seconds, return code, stdout, stderr)"
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, p.returncode, p.stdout, p.stderr

def script(name):
    exe = shutil.which(name)
    if exe is None: sys.exit(f"bench_predict: console script {name} not found; pip install -e . first")
    return exe

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--base', default='main', help='git revision holding "today\'s code"')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--n-subjects', type=int, default=6)
    ap.add_argument('--import-reps', type=int, default=1, help='repetitions of each import measure')
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='bench_predict_'))
    try: run(a, tmp)
    finally: shutil.rmtree(tmp, ignore_errors=True)

def run(a, tmp):
    base = tmp/'base'; base.mkdir()
    arc = subprocess.run(['git', '-C', str(REPO), 'archive', a.base, 'spine_osteo'], capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', str(base)], input=arc, check=True)
    rev = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', a.base], capture_output=True, text=True).stdout.strip()
    envs = {}
    for k, path in (('today', base), ('new', REPO)):
        e = dict(os.environ, PYTHONPATH=str(path), OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads), PYTHONWARNINGS='ignore')
        envs[k] = e
    sys.path.insert(0, str(REPO))
    import torch; torch.set_num_threads(a.threads)
    from spine_osteo.synth import make_cohort
    from spine_osteo.test_utils import tiny_dataset
    from spine_osteo.data import SpineDataLoaders
    from spine_osteo.learner import osteo_learner, export_learner
    from spine_osteo.inference import export_predictor
    print(f"preparing: demo-architecture model (untrained) and {a.n_subjects} synthetic subjects at realistic matrix ...", flush=True)
    tiny_dataset(tmp/'data', n_per_class=2)
    dls = SpineDataLoaders.from_folder(tmp/'data', size=32, bs=2, valid_pct=0.5, cache_dir=False, device='cpu')
    learn = osteo_learner(dls, out=tmp/'run', head=False, norm='group')
    export_learner(learn); export_predictor(learn)
    make_cohort(tmp/'export', n_subjects=a.n_subjects, seed=1, progress=False, workers=0)
    for f in ('labels.csv', 'series.csv', 'intended_series.csv', 'defects.csv'): (tmp/'export'/f).unlink()
    subj = sorted(p for p in (tmp/'export').iterdir() if p.is_dir())
    rows = []
    def measure(label, cmds, reps=a.reps):
        "cmds: {'today': cmd list or None, 'new': cmd list}; median wall of each, alternating"
        t = {k: [] for k in cmds if cmds[k] is not None}
        for _ in range(reps):
            for k in t:
                w = 0.
                for c in (cmds[k] if isinstance(cmds[k][0], list) else [cmds[k]]):
                    dt, rc, so, se = sh(c, envs[k], cwd=tmp)
                    if rc != 0: print(f"  {label} [{k}] exited {rc}: {se.strip()[-300:]}")
                    w += dt
                t[k].append(w)
        med = {k: statistics.median(v) for k, v in t.items()}
        rows.append((label, med.get('today'), med.get('new')))
        print(f"  {label:<58} today {med.get('today', float('nan')):6.2f} s   new {med['new']:6.2f} s", flush=True)
    py = sys.executable
    print(f"\nmeasuring (median of {a.reps}, alternating; today = {a.base} @ {rev}):", flush=True)
    for s in ('spine-osteo-predict', 'spine-osteo-train', 'spine-osteo-demo', 'spine-osteo-convert'):
        measure(f"{s} --help", {'today': [script(s), '--help'], 'new': [script(s), '--help']})
    for m in ('torch', 'monai', 'monai.networks.nets.efficientnet', 'fastai.learner', 'spine_osteo.data',
              'spine_osteo.inference', 'spine_osteo.cli'):
        same = not m.startswith('spine_osteo')
        measure(f"import {m}", {'today': None if same else [py, '-c', f'import {m}'], 'new': [py, '-c', f'import {m}']}, reps=a.import_reps)
    measure("import torch, nibabel, pandas, pydicom (floor of any predict)", {'today': None, 'new': [py, '-c', 'import torch, nibabel, pandas, pydicom']}, reps=a.import_reps)
    measure("one subject, raw DICOM -> printed prediction", {'today': [script('spine-osteo-predict'), tmp/'run'/'model.pkl', subj[0]],
                                                              'new': [script('spine-osteo-predict'), tmp/'run', subj[0]]})
    measure(f"{len(subj)} subjects: one call each (today) vs one --out call (new)",
            {'today': [[script('spine-osteo-predict'), tmp/'run'/'model.pkl', s] for s in subj],
             'new': [script('spine-osteo-predict'), tmp/'run', tmp/'export', '--out', tmp/'p.csv', '--workers', 2]}, reps=1)
    stages = ("import time, sys; t0 = time.perf_counter(); T = {}\n"
              "from spine_osteo.inference import load_predictor, predict_subject; T['import spine_osteo.inference'] = time.perf_counter()\n"
              f"p = load_predictor({str(tmp/'run')!r}); T['load predictor.pt'] = time.perf_counter()\n"
              "import spine_osteo.data; T['import spine_osteo.data (fastai, for preprocessing)'] = time.perf_counter()\n"
              f"r = predict_subject(p, dicom_dir={str(subj[0])!r}); T['scan, select, read, preprocess, predict'] = time.perf_counter()\n"
              "prev = t0\n"
              "for k, v in T.items(): print(f'{k}\t{v - prev:.2f}'); prev = v\n")
    parts = {}
    for _ in range(a.reps):
        dt, rc, so, se = sh([py, '-c', stages], envs['new'], cwd=tmp)
        for line in so.strip().splitlines():
            k, v = line.split('\t'); parts.setdefault(k, []).append(float(v))
    print("\none subject, new code, stages inside one process (median):")
    for k, v in parts.items(): print(f"  {k:<58} {statistics.median(v):6.2f} s")
    print(f"\nMachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"python {platform.python_version()}, torch {torch.__version__}; OMP_NUM_THREADS={a.threads}")
    print("\n| measure | today (s) | new (s) | today / new |\n|---|---|---|---|")
    for label, t, n in rows:
        print(f"| {label} | {'' if t is None else f'{t:.2f}'} | {n:.2f} | {'' if t is None else f'{t/n:.1f}x'} |")
    for k, v in parts.items(): print(f"| new, one subject, stage: {k} |  | {statistics.median(v):.2f} |  |")

if __name__ == '__main__': main()
