#!/usr/bin/env python
"""Benchmark the DICOM node (`spine-osteo-serve`) against Orthanc, side by side in one run, on loopback.

Measures:
- receiving (instances/s, MB/s): dcmtk's `/usr/bin/storescu` sends the same files, in one association, to Orthanc
  (Debian's package, the project's test configuration) and to `spine-osteo-serve` (every instance fsynced, renamed,
  its folder fsynced and recorded in SQLite before it is acknowledged); alternating, `--reps` times each;
- answering (s): for each study, the time from the end of its quiet period (the last instance acknowledged +
  `--quiet-period`) to its SR stored in Orthanc: Orthanc sends the study to the node (`/modalities/.../store`), the
  node selects the series, predicts with the demo's model and sends the SR back (the goal: at most 10 s on two CPU
  cores).

The model has the demo's architecture and input size (OsteoNet, head=False, group norm, 32^3), untrained: the class
does not matter for timing. The studies are synthetic, at the realistic 256-512 matrix, with distractor series.
The node runs as its console script, a fresh process, with OMP_NUM_THREADS=--threads.

    python benchmarks/bench_node.py                     # about 3 minutes on 2 busy cores
    python benchmarks/bench_node.py --n-subjects 3 --reps 3 --quiet-period 2 --threads 2   # the defaults
"""
import argparse, os, sys, time, shutil, signal, socket, subprocess, tempfile, platform, statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def uptime()->str: return subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()

def cpu_name()->str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def wait_until(cond, timeout:float, what:str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = cond()
        if r: return r
        time.sleep(0.02)
    raise SystemExit(f"bench_node: timed out waiting for {what}")

def start_node(model, port, spool, env, log, *extra):
    "Start `spine-osteo-serve`; return the process once it listens"
    exe = shutil.which('spine-osteo-serve')
    if exe is None: raise SystemExit("bench_node: spine-osteo-serve is not on PATH; pip install -e . in the repository")
    p = subprocess.Popen([exe, str(model), '--aet', 'SPINE_OSTEO', '--port', str(port), '--spool', str(spool), *map(str, extra)],
                         env=env, stdout=subprocess.DEVNULL, stderr=open(log, 'a'))
    def up():
        if p.poll() is not None: raise SystemExit(f"bench_node: spine-osteo-serve exited {p.returncode}: {Path(log).read_text()[-400:]}")
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2): return True
        except OSError: return False
    wait_until(up, 60, 'the node to listen')
    wait_until(lambda: 'model loaded' in Path(log).read_text(), 120, 'the model to load')   # it loads while listening: measure the steady state
    return p

def stop(p):
    if p.poll() is None: p.send_signal(signal.SIGTERM)
    try: p.wait(30)
    except subprocess.TimeoutExpired: p.kill(); p.wait()

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n-subjects', type=int, default=3, help='synthetic studies (one per subject)')
    ap.add_argument('--reps', type=int, default=3, help='receiving runs per receiver')
    ap.add_argument('--quiet-period', type=float, default=2., help="the node's quiet period in the answering test (s)")
    ap.add_argument('--threads', type=int, default=2, help='torch threads of the node (OMP_NUM_THREADS)')
    a = ap.parse_args()

    from spine_osteo.test_pacs import orthanc_server, free_port, push_files, need_orthanc, DCMTK_STORESCU
    if not need_orthanc() or not os.access(DCMTK_STORESCU, os.X_OK): raise SystemExit("bench_node: needs Orthanc and dcmtk (apt-get install orthanc dcmtk)")
    tmp = Path(tempfile.mkdtemp(prefix='bench_node_'))
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads), PYTHONWARNINGS='ignore')
    start_load = uptime()
    try:
        import torch; torch.set_num_threads(a.threads)
        from spine_osteo.synth import make_cohort
        from spine_osteo.test_utils import tiny_dataset
        from spine_osteo.data import SpineDataLoaders
        from spine_osteo.learner import osteo_learner, export_learner
        from spine_osteo.inference import export_predictor
        print(f"preparing: demo-architecture model (untrained) and {a.n_subjects} synthetic studies at realistic matrix ...", flush=True)
        tiny_dataset(tmp/'data', n_per_class=2)
        dls = SpineDataLoaders.from_folder(tmp/'data', size=32, bs=2, valid_pct=0.5, cache_dir=False, device='cpu')
        learn = osteo_learner(dls, out=tmp/'run', head=False, norm='group')
        export_learner(learn); model = export_predictor(learn)
        make_cohort(tmp/'export', n_subjects=a.n_subjects, seed=1, progress=False, workers=0)
        studies = sorted(p for p in (tmp/'export').iterdir() if p.is_dir())
        files = sorted(f for s in studies for f in s.rglob('*') if f.is_file())
        mb = sum(f.stat().st_size for f in files)/1e6
        print(f"{len(files)} instances, {mb:.0f} MB, in {len(studies)} studies; {uptime()}", flush=True)

        # receiving: the same files by dcmtk's storescu, to Orthanc and to the node, alternating
        recv = {'Orthanc': [], 'spine-osteo-serve': []}
        for r in range(a.reps):
            for who in (('Orthanc', 'spine-osteo-serve') if r % 2 == 0 else ('spine-osteo-serve', 'Orthanc')):
                if who == 'Orthanc':
                    with orthanc_server() as pacs:
                        t0 = time.perf_counter(); push_files(files, pacs.address, tool='dcmtk'); dt = time.perf_counter() - t0
                        assert len(pacs.instances()) == len(files)
                else:
                    port = free_port()
                    p = start_node(model, port, tmp/f'spool_recv{r}', env, tmp/f'node_recv{r}.log', '--quiet-period', 3600, '--allow', 'SPINE_PUSH')
                    try: t0 = time.perf_counter(); push_files(files, f'SPINE_OSTEO@127.0.0.1:{port}', tool='dcmtk'); dt = time.perf_counter() - t0
                    finally: stop(p)
                    assert len(list((tmp/f'spool_recv{r}'/'studies').rglob('*.dcm'))) == len(files)
                recv[who].append(dt)
                print(f"  receive rep {r+1} {who}: {dt:.2f} s ({len(files)/dt:.0f} instances/s)", flush=True)

        # answering: quiet period over -> SR stored in Orthanc
        port = free_port(); lat, pred_s = [], []
        with orthanc_server(modalities={'SPINE_OSTEO': ('127.0.0.1', port)}) as pacs:
            ids = {}
            for s in studies:
                before = set(pacs.studies()); pacs.upload(sorted(f for f in s.rglob('*') if f.is_file()))
                ids[s.name], = set(pacs.studies()) - before
            log = tmp/'node_answer.log'
            p = start_node(model, port, tmp/'spool_answer', env, log, '--quiet-period', a.quiet_period, '--allow', 'ORTHANC', '--send-to', pacs.address)
            try:
                for s in studies:
                    sid = ids[s.name]
                    n_sr = lambda: sum(1 for se in pacs.get(f'/studies/{sid}/series') if se['MainDicomTags'].get('Modality') == 'SR')
                    pacs.send('SPINE_OSTEO', [sid]); t_last = time.perf_counter()     # synchronous: every instance acknowledged
                    wait_until(n_sr, 120, f'the SR of {s.name}'); t_sr = time.perf_counter()
                    lat.append(t_sr - (t_last + a.quiet_period))
                    print(f"  answer {s.name}: SR stored {lat[-1]:.2f} s after the quiet period ended", flush=True)
            finally: stop(p)
            pred_s = [float(l.split('seconds=')[1].split()[0]) for l in log.read_text().splitlines() if 'study predicted' in l]
        end_load = uptime()

        med = {k: statistics.median(v) for k, v in recv.items()}
        print(f"\nMachine: {os.cpu_count()} cores ({cpu_name()}), Python {platform.python_version()}, torch {torch.__version__}, node threads {a.threads}")
        print(f"Load at start: {start_load}\nLoad at end:   {end_load}\n")
        print("| measure | unit | spine-osteo-serve | Orthanc | ratio (node / Orthanc) |\n|---|---|---|---|---|")
        print(f"| receive {len(files)} instances ({mb:.0f} MB) from dcmtk storescu, median of {a.reps} | instances/s | "
              f"{len(files)/med['spine-osteo-serve']:.0f} | {len(files)/med['Orthanc']:.0f} | {med['Orthanc']/med['spine-osteo-serve']:.2f} |")
        print(f"| same, throughput | MB/s | {mb/med['spine-osteo-serve']:.1f} | {mb/med['Orthanc']:.1f} | |")
        print(f"| quiet period over -> SR stored in Orthanc, {len(lat)} studies | s (median / max) | {statistics.median(lat):.2f} / {max(lat):.2f} | | |")
        print(f"| of which selection + prediction + SR written (node log) | s (median) | {statistics.median(pred_s):.2f} | | |")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
