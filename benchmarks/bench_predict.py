#!/usr/bin/env python
"""Benchmark prediction start-up: today's code (a git revision, default `main`) vs the working tree, side by side.

Measures, in one run, alternating the two code versions on the same inputs:
- `--help` of every console script (the installed entry points, run with PYTHONPATH pointing at each version);
- import times (`python -c "import X"`) of the modules prediction needs, and MONAI's import of its EfficientNet;
- one subject from raw DICOM to a printed prediction with the demo's model (`spine-osteo-predict RUN SUBJECT`);
- a whole export of N subjects in one `--out` call (with `--today-pkl`, for a base older than `predictor.pt`: one
  `spine-osteo-predict MODEL.pkl SUBJECT` call per subject, that base's only way, against one `--out` call);
- the stages of one prediction inside one process, and whether fastai, MONAI or matplotlib were imported.

The model has the demo's architecture and input size (OsteoNet, head=False, group norm, 32^3), untrained: the class
does not matter for timing. The subjects are synthetic, at the realistic 256-512 matrix, with distractor series.
Every command is a fresh process (what a user pays); each is run `--reps` times alternating old/new, and the
median is reported. Torch threads: OMP_NUM_THREADS=1 unless --threads is given.

    python benchmarks/bench_predict.py                  # about 5 minutes on 2 busy cores
    python benchmarks/bench_predict.py --base main --reps 3 --n-subjects 6
"""
import argparse, os, sys, time, shutil, subprocess, tempfile, platform, statistics, resource
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CPU = []   # CPU seconds (user + system) of the last `sh` command and its children

def _cpu()->float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime

def sh(cmd, env, cwd=None):
    "Run `cmd`; (wall seconds, return code, stdout, stderr); its CPU seconds in `CPU[-1]`"
    t0, c0 = time.perf_counter(), _cpu()
    p = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True)
    CPU.append(_cpu() - c0)
    return time.perf_counter() - t0, p.returncode, p.stdout, p.stderr

SCRIPTS = {}   # console script -> 'module:function', from pyproject.toml

def console_scripts()->list:
    "Every console script pyproject.toml declares (so a new one is measured too)"
    import tomllib
    SCRIPTS.update(tomllib.loads((REPO/'pyproject.toml').read_text())['project']['scripts'])
    return list(SCRIPTS)

def script(name):
    exe = shutil.which(name)
    if exe is None: sys.exit(f"bench_predict: console script {name} not found; pip install -e . first")
    return exe

def importtime_top(cmd, env, cwd, n=12)->list:
    "[(top-level package, cumulative import seconds)] of `cmd` run with `-X importtime`, largest first; a package is counted where it is first entered"
    dt, rc, so, se = sh(cmd, env, cwd)
    rows = []
    for line in se.splitlines():
        if not line.startswith('import time:') or 'cumulative' in line: continue
        _, cum, name = line[len('import time:'):].split('|')
        rows.append(((len(name) - len(name.lstrip()) - 1)//2, name.strip().split('.')[0], int(cum)/1e6))
    top, stack = {}, []                      # -X importtime prints children before their parent: walk it backwards
    for depth, pkg, cum in reversed(rows):
        while stack and stack[-1][0] >= depth: stack.pop()
        if pkg not in {p for _, p in stack}: top[pkg] = top.get(pkg, 0.) + cum
        stack.append((depth, pkg))
    return sorted(top.items(), key=lambda kv: -kv[1])[:n]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--base', default='main', help='git revision holding "today\'s code"')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--n-subjects', type=int, default=6)
    ap.add_argument('--import-reps', type=int, default=1, help='repetitions of each import measure')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--today-pkl', action='store_true', help='the base predates predictor.pt: it loads model.pkl, one call per subject')
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
    for k in ('today', 'new'):   # each version's own predictor.pt (its file format may differ), traced from the same model.pkl
        (tmp/f'run_{k}').mkdir(); os.link(tmp/'run'/'model.pkl', tmp/f'run_{k}'/'model.pkl')
        if k == 'today' and a.today_pkl: continue
        code = ("import sys, warnings; warnings.simplefilter('ignore'); from pathlib import Path\n"
                "from spine_osteo.inference import load_osteo, export_predictor\n"
                "learn = load_osteo(sys.argv[1], cpu=True); learn.path = Path(sys.argv[1]); export_predictor(learn)\n")
        subprocess.run([sys.executable, '-c', code, str(tmp/f'run_{k}')], env=envs[k], cwd=tmp, check=True, capture_output=True)
    make_cohort(tmp/'export', n_subjects=a.n_subjects, seed=1, progress=False, workers=0)
    for f in ('labels.csv', 'series.csv', 'intended_series.csv', 'defects.csv'): (tmp/'export'/f).unlink()
    subj = sorted(p for p in (tmp/'export').iterdir() if p.is_dir())
    rows = []
    def measure(label, cmds, reps=a.reps):
        "cmds: {'today': cmd list or None, 'new': cmd list}; median wall and CPU seconds of each, alternating"
        t = {k: [] for k in cmds if cmds[k] is not None}
        cpu = {k: [] for k in t}
        for _ in range(reps):
            for k in t:
                w = cs = 0.
                for c in (cmds[k] if isinstance(cmds[k][0], list) else [cmds[k]]):
                    dt, rc, so, se = sh(c, envs[k], cwd=tmp)
                    if rc != 0: print(f"  {label} [{k}] exited {rc}: {se.strip()[-300:]}")
                    w += dt; cs += CPU[-1]
                t[k].append(w); cpu[k].append(cs)
        med = {k: statistics.median(v) for k, v in t.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        rows.append((label, med.get('today'), med.get('new'), mcpu.get('today'), mcpu.get('new')))
        print(f"  {label:<58} today {med.get('today', float('nan')):6.2f} s (CPU {mcpu.get('today', float('nan')):5.2f})   "
              f"new {med['new']:6.2f} s (CPU {mcpu['new']:5.2f})", flush=True)
    py = sys.executable
    print(f"\nmeasuring (median of {a.reps}, alternating; today = {a.base} @ {rev}):", flush=True)
    for s in console_scripts():
        if shutil.which(s) is None: print(f"  {s}: not installed here (pip install -e . installs it); not measured"); continue
        today_has = (base/'spine_osteo'/f"{SCRIPTS[s].split(':')[0].split('.')[-1]}.py").is_file()
        measure(f"{s} --help", {'today': [script(s), '--help'] if today_has else None, 'new': [script(s), '--help']})
    for m in ('torch', 'monai', 'monai.networks.nets.efficientnet', 'fastai.learner', 'spine_osteo.data', 'spine_osteo.preprocess',
              'spine_osteo.inference', 'spine_osteo.cli'):
        same = not m.startswith('spine_osteo') or not (base/(m.replace('.', '/') + '.py')).is_file()   # None: not in today's code
        measure(f"import {m}", {'today': None if same else [py, '-c', f'import {m}'], 'new': [py, '-c', f'import {m}']}, reps=a.import_reps)
    measure("import torch, nibabel, pandas, pydicom (floor of any predict)", {'today': None, 'new': [py, '-c', 'import torch, nibabel, pandas, pydicom']}, reps=a.import_reps)
    if a.today_pkl:   # a base older than predictor.pt loads model.pkl; one call per subject was its only way
        measure("one subject, raw DICOM -> printed prediction", {'today': [script('spine-osteo-predict'), tmp/'run'/'model.pkl', subj[0]],
                                                                  'new': [script('spine-osteo-predict'), tmp/'run', subj[0]]})
        measure(f"{len(subj)} subjects: one call each (today) vs one --out call (new)",
                {'today': [[script('spine-osteo-predict'), tmp/'run'/'model.pkl', s] for s in subj],
                 'new': [script('spine-osteo-predict'), tmp/'run', tmp/'export', '--out', tmp/'p.csv', '--workers', 2]}, reps=1)
    else:             # each version loads the predictor.pt it wrote
        one = {k: [script('spine-osteo-predict'), tmp/f'run_{k}', subj[0]] for k in ('today', 'new')}
        measure("one subject, raw DICOM -> printed prediction", one)
        export = {k: [script('spine-osteo-predict'), tmp/f'run_{k}', tmp/'export', '--out', tmp/f'p_{k}.csv', '--workers', 2] for k in ('today', 'new')}
        measure(f"{len(subj)} subjects, one --out call", export, reps=1)
    stages = ("import time, sys; now = lambda: (time.perf_counter(), time.process_time()); t0 = now(); T = {}\n"
              "from spine_osteo.inference import load_predictor, predict_subject; T['import spine_osteo.inference'] = now()\n"
              f"p = load_predictor({str(tmp/'run_new')!r}); T['load predictor.pt'] = now()\n"
              f"r = predict_subject(p, dicom_dir={str(subj[0])!r}); T['scan, select, read, preprocess, predict'] = now()\n"
              "prev = t0\n"
              "for k, v in T.items(): print(f'{k}\t{v[0] - prev[0]:.2f}\t{v[1] - prev[1]:.2f}'); prev = v\n"
              "print(f'modules loaded: fastai, monai, matplotlib\t{sum(m in sys.modules for m in (\"fastai\", \"monai\", \"matplotlib\"))}')\n")
    parts = {}
    for _ in range(a.reps):
        dt, rc, so, se = sh([py, '-c', stages], envs['new'], cwd=tmp)
        for line in so.strip().splitlines():
            k, *v = line.split('\t')
            if k.startswith('modules'): loaded = int(v[0]); continue
            parts.setdefault(k, []).append(tuple(map(float, v)))
    med2 = lambda v: tuple(statistics.median(x[i] for x in v) for i in (0, 1))
    print("\none subject, new code, stages inside one process (median wall, CPU):")
    for k, v in parts.items(): print(f"  {k:<58} {med2(v)[0]:6.2f} s (CPU {med2(v)[1]:5.2f})")
    print(f"  of fastai, monai, matplotlib, {loaded} were imported")
    print("\nwhat the new single-subject prediction imports (python -X importtime, top-level packages by cumulative time):")
    for name, sec in importtime_top([py, '-X', 'importtime', '-c', 'from spine_osteo.inference import load_predictor, predict_subject'], envs['new'], tmp):
        print(f"  {name:<30} {sec:6.2f} s")
    print(f"\nMachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"python {platform.python_version()}, torch {torch.__version__}; OMP_NUM_THREADS={a.threads}")
    f = lambda v: '' if v is None else f'{v:.2f}'
    print("\n| measure | today wall (s) | new wall (s) | today / new | today CPU (s) | new CPU (s) |\n|---|---|---|---|---|---|")
    for label, t, n, tc, nc in rows:
        print(f"| {label} | {f(t)} | {n:.2f} | {'' if t is None else f'{t/n:.1f}x'} | {f(tc)} | {nc:.2f} |")
    for k, v in parts.items(): print(f"| new, one subject, stage: {k} |  | {med2(v)[0]:.2f} |  |  | {med2(v)[1]:.2f} |")

if __name__ == '__main__': main()
