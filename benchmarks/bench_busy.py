#!/usr/bin/env python
"""Benchmark training on a busy machine: alone vs beside busy processes, PyTorch's default threads vs the thread policy.

    python benchmarks/bench_busy.py                    # step + end to end, alone and beside 2 busy processes, 2 rounds
    python benchmarks/bench_busy.py --rounds 3 --steps 8 --busy 0 1 2
    python benchmarks/bench_busy.py --only step        # the training step alone (about 3 minutes on 2 cores)
    python benchmarks/bench_busy.py --quick            # smoke run: 1 round, 2 steps, 1 epoch
    python benchmarks/bench_busy.py --only demo --rounds 1 --demo-epochs 5   # the demo itself (150 subjects), 5 of its 40 epochs

Two measurements, each run in a fresh child process (libgomp reads its settings once, when torch is loaded):

- **step**: one training step of `OsteoNet(norm='group')` (forward, cross entropy, backward, AdamW) on a random
  batch of 6 pairs at 32³; the median of `--steps` timed steps after 2 warm-up steps. The policy child applies
  `core.thread_policy()` before `import torch` and, before each step, what `learner.LoadAwareThreads` does in a fit
  (every 2 s: `core.CPULoad().others()` → `core.threads_for_load` → `torch.set_num_threads`).
- **train**: `spine-osteo-train` end to end on a synthetic cohort (`spine-osteo-synth --n 24 --matrix 64
  --no-distractors`, converted once; a warm `--cache-dir`), 3 epochs at 32³, wall time of the whole command.

Configurations: **default** is the code before issue 25: `OMP_NUM_THREADS=2` (PyTorch's default here, forced),
libgomp's own spin (no `GOMP_SPINCOUNT`: its launcher is not named `spine-osteo-*`, so the package does not apply
its policy) and `SPINE_OSTEO_ADAPT_THREADS=0` (no `LoadAwareThreads`); **policy** sets none of these, so the console
script applies `thread_policy` (threads = usable CPUs, `GOMP_SPINCOUNT=10000`) and `fit_osteo` adds
`LoadAwareThreads`. Competitors are `while True: pass` processes that this
script starts before and kills (by their pid) after each block; the rounds interleave loads and configurations so that
a change of the machine's own load hits all alike. It prints the machine, `uptime` before and after, and the load
average at each measurement. Not a test (CI does not run it).
"""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

CONFIGS = {
    'default': {'OMP_NUM_THREADS': '2', 'SPINE_OSTEO_ADAPT_THREADS': '0'},
    'policy': {},
}
THREAD_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'GOMP_SPINCOUNT', 'OMP_WAIT_POLICY', 'SPINE_OSTEO_ADAPT_THREADS')

def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rounds', type=int, default=2, help="rounds; each runs every (load, configuration) once")
    p.add_argument('--busy', type=int, nargs='+', default=[0, 2], help="numbers of competing busy processes")
    p.add_argument('--steps', type=int, default=6, help="step: timed steps per child (median)")
    p.add_argument('--epochs', type=int, default=3, help="train: epochs")
    p.add_argument('--n', type=int, default=24, help="train: subjects of the synthetic cohort")
    p.add_argument('--only', choices=['step', 'train', 'demo'], default=None, help="one measurement only ('demo' is measured only when asked for)")
    p.add_argument('--demo-epochs', type=int, default=5, help="demo: epochs of `spine-osteo-demo` (its 150 subjects; the demo's default is 40)")
    p.add_argument('--work', default=None, help="folder for the cohort and runs (default: a temporary folder)")
    p.add_argument('--quick', action='store_true', help="smoke run: 1 round, 2 steps, 1 epoch")
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)   # internal: run one step measurement
    return p.parse_args()

def step_child(steps:int):
    "In a fresh process: time training steps of OsteoNet(norm='group') at 32^3, batch 6; print one JSON line"
    adapt = os.environ.get('SPINE_OSTEO_ADAPT_THREADS', '1') != '0'
    if adapt:
        from spine_osteo.core import thread_policy
        thread_policy()                                    # what a console script does, before torch is loaded
    from spine_osteo.core import CPULoad, threads_for_load
    import torch, torch.nn.functional as F
    from spine_osteo.model import OsteoNet
    torch.manual_seed(0)
    model = OsteoNet(norm='group').train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = torch.randn(6, 2, 32, 32, 32), torch.randint(0, 3, (6,))
    asked, load, nxt, threads, times = torch.get_num_threads(), CPULoad(), time.monotonic() + 2, [], []
    for k in range(steps + 2):
        if adapt and time.monotonic() >= nxt:              # as LoadAwareThreads.before_batch, every 2 s
            n = threads_for_load(load.others(), len(load.cpus), asked)
            if n != torch.get_num_threads(): torch.set_num_threads(n)
            nxt = time.monotonic() + 2
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward(); opt.step()
        if k >= 2: times.append(time.perf_counter() - t0); threads.append(torch.get_num_threads())
    print(json.dumps(dict(median=statistics.median(times), worst=max(times), threads=sorted(set(threads)),
                          omp=os.environ.get('OMP_NUM_THREADS'), spin=os.environ.get('GOMP_SPINCOUNT'))))

def child_env(cfg:str)->dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    return {**env, **CONFIGS[cfg]}

def start_busy(n:int)->list:
    procs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(n)]
    time.sleep(0.5 if n else 0)
    return procs

def stop_busy(procs:list):
    for p in procs: p.kill()
    for p in procs: p.wait()

def loadavg()->str: return ' '.join(f"{x:.2f}" for x in os.getloadavg())

def uptime()->str:
    try: return subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    except OSError: return f"load average: {loadavg()}"

def run_step(cfg:str, steps:int)->dict:
    r = subprocess.run([sys.executable, __file__, '--child', 'step', '--steps', str(steps)], capture_output=True, text=True, env=child_env(cfg))
    if r.returncode: raise SystemExit(f"step child ({cfg}) failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def console(work:Path, name:str, cfg:str='policy')->list:
    "The command line of console script `name`: a launcher like pip's (so `spine_osteo` is found as it would be, PYTHONPATH first)"
    from importlib.metadata import entry_points
    ep = next(e for e in entry_points(group='console_scripts') if e.name == name)
    mod, func = ep.value.split(':')
    launcher = work/'bin'/(name if cfg == 'policy' else f"today-{name}")   # the package applies its policy to `spine-osteo-*` only
    launcher.parent.mkdir(parents=True, exist_ok=True)
    launcher.write_text(f"import sys\nfrom {mod} import {func}\nsys.exit({func}())\n")
    return [sys.executable, str(launcher)]

def make_cohort(work:Path, n:int)->Path:
    "A converted synthetic cohort and a warm cache (one untimed training epoch); returns the converted root"
    conv = work/'conv'
    if not (conv/'conversion_report.csv').exists():
        subprocess.run([*console(work, 'spine-osteo-synth'), str(work/'dicom'), '--n', str(n), '--matrix', '64', '--no-distractors', '--overwrite'],
                       check=True, capture_output=True)
        subprocess.run([*console(work, 'spine-osteo-convert'), str(work/'dicom'), str(conv), '--labels', str(work/'dicom'/'labels.csv')],
                       check=True, capture_output=True)
    subprocess.run([*console(work, 'spine-osteo-train'), str(conv), '--size', '32', '--epochs', '1', '--out', str(work/'warm'), '--overwrite',
                    '--cache-dir', str(work/'cache')], check=True, capture_output=True)
    return conv

def prepare_demo(work:Path)->Path:
    "The demo's folder with its cohort synthesised and converted and its cache warm (one untimed epoch); its run removed"
    demo = work/'demo'
    subprocess.run([*console(work, 'spine-osteo-demo'), '--out', str(demo), '--epochs', '1'], check=True, capture_output=True)
    shutil.rmtree(demo/'run', ignore_errors=True)
    return demo

def run_demo(cfg:str, demo:Path, work:Path, epochs:int)->dict:
    "`spine-osteo-demo` on its prepared folder: train (from scratch: the earlier run removed), evaluate, write the run"
    shutil.rmtree(demo/'run', ignore_errors=True)   # the demo resumes a run it finds; time a whole one
    t0 = time.perf_counter()
    r = subprocess.run([*console(work, 'spine-osteo-demo', cfg), '--out', str(demo), '--epochs', str(epochs)], capture_output=True, text=True, env=child_env(cfg))
    wall = time.perf_counter() - t0
    if r.returncode: raise SystemExit(f"spine-osteo-demo ({cfg}) failed:\n{r.stderr[-2000:]}")
    return dict(wall=wall)

def run_train(cfg:str, conv:Path, work:Path, epochs:int)->dict:
    t0 = time.perf_counter()
    r = subprocess.run([*console(work, 'spine-osteo-train', cfg), str(conv), '--size', '32', '--epochs', str(epochs), '--out', str(work/f'run-{cfg}'),
                        '--overwrite', '--cache-dir', str(work/'cache')], capture_output=True, text=True, env=child_env(cfg))
    wall = time.perf_counter() - t0
    if r.returncode: raise SystemExit(f"spine-osteo-train ({cfg}) failed:\n{r.stderr[-2000:]}")
    return dict(wall=wall)

def main():
    a = parse()
    if a.child == 'step': step_child(a.steps); return
    if a.quick: a.rounds, a.steps, a.epochs = 1, 2, 1
    import torch
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs "
          f"(affinity {len(os.sched_getaffinity(0))}), {platform.platform()}; python {platform.python_version()}, torch {torch.__version__}")
    print(f"before: {uptime()}", flush=True)
    work_ctx = tempfile.TemporaryDirectory() if a.work is None else None
    work = Path(a.work or work_ctx.name); work.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in ('step', 'train', 'demo') if a.only == k or (a.only is None and k != 'demo')]
    conv = make_cohort(work, a.n) if 'train' in kinds else None
    demo = prepare_demo(work) if 'demo' in kinds else None
    res = {}                                                # (kind, busy, cfg) -> list of (value, loadavg at start, threads)
    try:
        for rnd in range(a.rounds):
            for busy in (a.busy if rnd % 2 == 0 else a.busy[::-1]):
                procs = start_busy(busy)
                try:
                    for kind in kinds:
                        for cfg in (list(CONFIGS) if (rnd + busy) % 2 == 0 else list(CONFIGS)[::-1]):
                            la = loadavg()
                            if kind == 'step':
                                r = run_step(cfg, a.steps); val, extra = r["median"], f"threads {r['threads']}, OMP_NUM_THREADS {r['omp']}, GOMP_SPINCOUNT {r['spin']}, worst {r['worst']:.2f} s"
                            elif kind == 'demo':
                                r = run_demo(cfg, demo, work, a.demo_epochs); val, extra = r['wall'], ''
                            else:
                                r = run_train(cfg, conv, work, a.epochs); val, extra = r['wall'], ''
                            res.setdefault((kind, busy, cfg), []).append(val)
                            print(f"round {rnd+1} {kind:5s} busy={busy} {cfg:7s} {val:7.2f} s  (load {la}) {extra}", flush=True)
                finally: stop_busy(procs)
    finally:
        if work_ctx is not None: work_ctx.cleanup()
    print(f"after: {uptime()}")
    med = lambda k: statistics.median(res[k])
    print("\n| measure | competitors | PyTorch default (s) | policy (s) | policy / default |")
    print("|---|---:|---:|---:|---:|")
    for kind in kinds:
        for busy in a.busy:
            d, p = med((kind, busy, 'default')), med((kind, busy, 'policy'))
            what = {'step': 'training step, 32³ batch 6 (median)', 'train': f'spine-osteo-train, {a.n} subjects, {a.epochs} epochs, 32³',
                    'demo': f'spine-osteo-demo, 150 subjects, {a.demo_epochs} epochs, 32³ (cohort made, cache warm)'}[kind]
            print(f"| {what} "
                  f"| {busy} | {d:.2f} | {p:.2f} | {p/d:.2f} |")
    print("\n| measure | competitors | default: busy / alone | policy: busy / alone |")
    print("|---|---:|---:|---:|")
    for kind in kinds:
        for busy in a.busy:
            if busy == 0 or 0 not in a.busy: continue
            r = lambda cfg: med((kind, busy, cfg)) / med((kind, 0, cfg))
            print(f"| {kind} | {busy} | {r('default'):.2f} | {r('policy'):.2f} |")

if __name__ == '__main__': main()
