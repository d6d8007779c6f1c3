#!/usr/bin/env python
"""Benchmark predicting a whole DICOM export: today's code (a git revision, default HEAD) vs the working tree, side by side.

Measures, in one run, on the same inputs, each command a fresh process (what a user pays):
- a 50-subject synthetic export (`spine-osteo-synth`, realistic 256-512 matrices, distractor series) predicted with
  `spine-osteo-predict RUN EXPORT --out p.csv`: wall, CPU (user + system of the whole process tree) and peak memory;
- one subject from raw DICOM (`spine-osteo-predict RUN SUBJECT`): median of `--reps` (default 5), alternating;
- peak memory on the same export made 4x larger (200 subjects: the 50 folders hard-linked 4 times, no extra disk):
  it must not grow with the export;
- that both versions write the same CSV, byte for byte.

Peak memory is sampled every 50 ms from /proc: the largest resident set (RSS) of the main process, and the largest
sum of the proportional set sizes (PSS: a page shared by forked processes is split between them) of the main process
and all its worker processes together. The model has the demo's architecture and input size (OsteoNet, head=False,
group norm, 32^3), untrained: the class does not matter for timing. Threads: whatever each version chooses (the
environment's OMP_NUM_THREADS and GOMP_SPINCOUNT are removed unless --keep-env), as a user gets it.

    python benchmarks/bench_export.py                       # about 15 minutes on 2 busy cores
    python benchmarks/bench_export.py --base HEAD --n-subjects 50 --reps 5 --big 4
"""
import argparse, os, sys, time, shutil, subprocess, tempfile, platform, statistics, resource, threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def _cpu()->float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime

def _mem_kb(pid:int, field:str='VmRSS:', where:str='status')->int:
    "A memory figure (kB) of `pid` from /proc: its resident set (status VmRSS), or its proportional set (smaps_rollup Pss)"
    try:
        for line in open(f'/proc/{pid}/{where}'):
            if line.startswith(field): return int(line.split()[1])
    except OSError: pass
    return 0

_rss_kb = lambda pid: _mem_kb(pid)
_pss_kb = lambda pid: _mem_kb(pid, 'Pss:', 'smaps_rollup')   # pages shared with forked workers counted once in all

def _children(pid:int)->list:
    "Every descendant of `pid` (Linux /proc)"
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try: kids = [int(x) for t in os.listdir(f'/proc/{p}/task') for x in open(f'/proc/{p}/task/{t}/children').read().split()]
        except OSError: kids = []
        out += kids; todo += kids
    return out

def run(cmd, env, cwd=None, memory=True)->dict:
    "Run `cmd`: wall and CPU seconds (whole tree), peak RSS (MB) of the main process and of the tree (`memory`), return code, stderr"
    t0, c0 = time.perf_counter(), _cpu()
    p = subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = dict(main=0, tree=0)
    def sample():   # reading smaps_rollup every 50 ms slows a short process (it walks its page tables): off for the timed single subject
        while memory and p.poll() is None:
            m = _rss_kb(p.pid)
            peak['main'] = max(peak['main'], m)
            peak['tree'] = max(peak['tree'], sum(_pss_kb(c) for c in [p.pid, *_children(p.pid)]))
            time.sleep(0.05)
    th = threading.Thread(target=sample, daemon=True); th.start()
    so, se = p.communicate(); th.join()
    return dict(wall=time.perf_counter() - t0, cpu=_cpu() - c0, rss_main=peak['main']/1024, rss_tree=peak['tree']/1024,
                rc=p.returncode, err=se.strip()[-300:], out=so)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--base', default='HEAD', help='git revision holding "today\'s code"')
    ap.add_argument('--n-subjects', type=int, default=50)
    ap.add_argument('--reps', type=int, default=5, help='one-subject repetitions (median)')
    ap.add_argument('--big', type=int, default=4, help='the large export is the export hard-linked this many times')
    ap.add_argument('--keep-env', action='store_true', help="keep the environment's OMP_NUM_THREADS/GOMP_SPINCOUNT")
    ap.add_argument('--one-only', action='store_true', help='measure one subject only (skip the 50- and 200-subject exports)')
    ap.add_argument('--tmp', default=None, help='folder for the inputs (default: a new temporary folder, removed at the end)')
    a = ap.parse_args()
    tmp = Path(a.tmp) if a.tmp else Path(tempfile.mkdtemp(prefix='bench_export_'))
    tmp.mkdir(parents=True, exist_ok=True)
    try: bench(a, tmp)
    finally:
        if not a.tmp: shutil.rmtree(tmp, ignore_errors=True)

def bench(a, tmp):
    base = tmp/'base'
    shutil.rmtree(base, ignore_errors=True); base.mkdir()
    arc = subprocess.run(['git', '-C', str(REPO), 'archive', a.base, 'spine_osteo'], capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', str(base)], input=arc, check=True)
    rev = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', a.base], capture_output=True, text=True).stdout.strip()
    clean = {k: v for k, v in os.environ.items() if a.keep_env or k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'GOMP_SPINCOUNT', 'OMP_WAIT_POLICY')}
    clean.pop('PYTHONDONTWRITEBYTECODE', None)   # as a user runs it: compiled modules cached (a warm-up run writes them)
    envs = {k: dict(clean, PYTHONPATH=str(p), PYTHONWARNINGS='ignore') for k, p in (('today', base), ('new', REPO))}
    predict, synth = shutil.which('spine-osteo-predict'), shutil.which('spine-osteo-synth')
    if not predict or not synth: sys.exit("bench_export: spine-osteo-predict / spine-osteo-synth not found; pip install -e . first")
    export, run_dir = tmp/f'export{a.n_subjects}', tmp/'run'
    if not (run_dir/'model.pkl').is_file():
        print("preparing: demo-architecture model (untrained) ...", flush=True)
        code = ("import sys; from pathlib import Path; t = Path(sys.argv[1])\n"
                "from spine_osteo.test_utils import tiny_dataset\nfrom spine_osteo.data import SpineDataLoaders\n"
                "from spine_osteo.learner import osteo_learner, export_learner\n"
                "tiny_dataset(t/'data', n_per_class=2)\n"
                "dls = SpineDataLoaders.from_folder(t/'data', size=32, bs=2, valid_pct=0.5, cache_dir=False, device='cpu')\n"
                "learn = osteo_learner(dls, out=t/'run', head=False, norm='group'); export_learner(learn)\n")
        subprocess.run([sys.executable, '-c', code, str(tmp)], env=envs['new'], cwd=tmp, check=True, capture_output=True)
    runs = {}
    for k in ('today', 'new'):   # each version's own predictor.pt (the file format may differ), traced from the same model.pkl
        rk = runs[k] = tmp/f'run_{k}'
        shutil.rmtree(rk, ignore_errors=True); rk.mkdir(); os.link(run_dir/'model.pkl', rk/'model.pkl')
        code = ("import sys, warnings; warnings.simplefilter('ignore'); from pathlib import Path\n"
                "from spine_osteo.inference import load_osteo, export_predictor\n"
                "learn = load_osteo(sys.argv[1], cpu=True); learn.path = Path(sys.argv[1]); export_predictor(learn)\n")
        subprocess.run([sys.executable, '-c', code, str(rk)], env=envs[k], cwd=tmp, check=True, capture_output=True)
    if not export.is_dir():
        print(f"preparing: {a.n_subjects} synthetic subjects at the realistic matrix (spine-osteo-synth) ...", flush=True)
        subprocess.run([synth, export, '--n', str(a.n_subjects), '--seed', '1'], env=envs['new'], check=True, capture_output=True)
        for f in ('labels.csv', 'series.csv', 'intended_series.csv', 'defects.csv', '.spine_osteo_synth'): (export/f).unlink(missing_ok=True)
    big = tmp/f'export{a.n_subjects*a.big}'
    if not big.is_dir():
        big.mkdir()
        for k in range(a.big):
            for s in sorted(p for p in export.iterdir() if p.is_dir()):
                subprocess.run(['cp', '-al', str(s), str(big/f'{s.name}-{k}')], check=True)   # hard links: no extra disk
    subj = sorted(p for p in export.iterdir() if p.is_dir())[0]
    rows, loads = [], [os.getloadavg()[0]]
    def show(label, r):
        print(f"  {label:<52} {r['wall']:7.2f} s wall  {r['cpu']:7.2f} s CPU  peak RSS main {r['rss_main']:6.0f} MB, PSS tree {r['rss_tree']:6.0f} MB"
              + ('' if r['rc'] == 0 else f"  EXITED {r['rc']}: {r['err']}"), flush=True)
    print(f"\nmeasuring (today = {a.base} @ {rev}, new = working tree; load average {loads[0]:.1f}):", flush=True)
    res = {}
    for n, folder in () if a.one_only else ((a.n_subjects, export), (a.n_subjects*a.big, big)):
        for k in ('today', 'new'):
            r = res[(k, n)] = run([predict, runs[k], folder, '--out', tmp/f'p_{k}_{n}.csv', '--overwrite'], envs[k], cwd=tmp)
            show(f"{n} subjects, one --out call [{k}]", r)
            loads.append(os.getloadavg()[0])
    same = {} if a.one_only else {n: (tmp/f'p_today_{n}.csv').read_bytes() == (tmp/f'p_new_{n}.csv').read_bytes() for n in (a.n_subjects, a.n_subjects*a.big)}
    one = {'today': [], 'new': []}
    for k in one: run([predict, runs[k], subj], envs[k], cwd=tmp)   # warm-up: page cache, compiled modules
    for _ in range(a.reps):
        for k in one:
            r = run([predict, runs[k], subj], envs[k], cwd=tmp, memory=False); one[k].append(r)
            if r['rc']: show(f"one subject [{k}]", r)
    loads.append(os.getloadavg()[0])
    med = {k: {m: statistics.median(r[m] for r in v) for m in ('wall', 'cpu', 'rss_main', 'rss_tree')} for k, v in one.items()}
    rng = {k: (min(r['wall'] for r in v), max(r['wall'] for r in v)) for k, v in one.items()}
    print(f"\nMachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f} "
          f"during the run; python {platform.python_version()}; today = {a.base} @ {rev}")
    print("\n| measure | today | new | today / new |\n|---|---|---|---|")
    n, N = a.n_subjects, a.n_subjects*a.big
    if not a.one_only:
        t, w = res[('today', n)], res[('new', n)]
        print(f"| {n} subjects, wall (s) | {t['wall']:.1f} | {w['wall']:.1f} | {t['wall']/w['wall']:.2f}x |")
        print(f"| {n} subjects, CPU, whole process tree (s) | {t['cpu']:.1f} | {w['cpu']:.1f} | {t['cpu']/w['cpu']:.2f}x |")
        print(f"| {n} subjects, CPU / wall (cores used) | {t['cpu']/t['wall']:.2f} | {w['cpu']/w['wall']:.2f} | |")
    print(f"| one subject, wall, median of {a.reps} (min-max) (s) | {med['today']['wall']:.2f} ({rng['today'][0]:.2f}-{rng['today'][1]:.2f}) | "
          f"{med['new']['wall']:.2f} ({rng['new'][0]:.2f}-{rng['new'][1]:.2f}) | {med['today']['wall']/med['new']['wall']:.2f}x |")
    print(f"| one subject, CPU, median (s) | {med['today']['cpu']:.2f} | {med['new']['cpu']:.2f} | |")
    if a.one_only: return
    for m, what in (('rss_main', 'RSS, main process'), ('rss_tree', 'PSS, main + workers')):
        print(f"| peak {what}, {n} subjects (MB) | {res[('today', n)][m]:.0f} | {res[('new', n)][m]:.0f} | |")
        print(f"| peak {what}, {N} subjects (MB) | {res[('today', N)][m]:.0f} | {res[('new', N)][m]:.0f} | |")
    print(f"| {N} subjects, wall (s) | {res[('today', N)]['wall']:.1f} | {res[('new', N)]['wall']:.1f} | {res[('today', N)]['wall']/res[('new', N)]['wall']:.2f}x |")
    print(f"| same CSV, byte for byte | | {'yes' if all(same.values()) else 'NO: ' + str(same)} | |")

if __name__ == '__main__': main()
