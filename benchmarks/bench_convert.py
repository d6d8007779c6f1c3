#!/usr/bin/env python
"""Benchmark DICOM -> NIfTI conversion: `spine-osteo-convert` vs `dcm2niix -z y` vs dicom2nifti.

spine_osteo runs as the console script a user types (`spine-osteo-convert SRC DEST --region any`: the decubitus set
is a head), and again with `isal` hidden, so that zlib level 1 compresses (what an install without `isal` gets);
with `--base REV` also as the code of a git revision (today's code), side by side.

Each tool runs in its own subprocess, one after the other on the same folders, in the same run. Wall time is
measured around the subprocess; peak memory is the peak of the summed PSS (proportional set size: pages shared
by forked workers counted once) of the subprocess and all its descendants, sampled every 20 ms with psutil.

    python benchmarks/bench_convert.py                      # shared decubitus data + 40-subject synthetic cohort
    python benchmarks/bench_convert.py --n-subjects 10 --matrix 128 --skip-dicom2nifti
    python benchmarks/bench_convert.py --n-subjects 0 --skip-dicom2nifti --repeats 7 --base HEAD   # decubitus: before vs after

Not a test: it takes minutes and writes to a temporary folder that it removes.
"""
import argparse, os, sys, time, shutil, subprocess, tempfile, platform, statistics
from pathlib import Path
import psutil

def _mem(q):
    "Proportional set size (shared pages split between the processes sharing them), else RSS"
    try: return q.memory_full_info().pss
    except (psutil.AccessDenied, AttributeError): return q.memory_info().rss

def run_measured(cmd, sample=0.02, env=None, cwd=None):
    "Run `cmd`; return (wall seconds, peak summed PSS of the process tree in MiB, return code, stderr tail)"
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    proc, peak = psutil.Process(p.pid), 0
    while p.poll() is None:
        try:
            rss = sum(_mem(q) for q in [proc, *proc.children(recursive=True)])
            peak = max(peak, rss)
        except psutil.Error: pass
        time.sleep(sample)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors='replace')[-300:]
    return wall, peak/2**20, p.returncode, err

OUTDIR = {'spine_osteo': 'spine_osteo', 'spine_osteo (zlib, no isal)': 'spine_osteo_zlib', 'spine_osteo @ base': 'spine_osteo_base',
          'dcm2niix -z y': 'dcm2niix', 'dicom2nifti': 'dicom2nifti'}

def _as_console_script(src, out, workers, hide_isal=False):
    "The `spine-osteo-convert` console script as pip writes it (a file of that name), run by this Python: for a variant environment"
    d = Path(out).parent/('bin_zlib' if hide_isal else 'bin'); d.mkdir(exist_ok=True)
    (d/'spine-osteo-convert').write_text(("import sys; sys.modules['isal'] = None\n" if hide_isal else '') +
                                         "import sys\nfrom spine_osteo.convert import convert_cli\nif __name__ == '__main__': sys.exit(convert_cli())\n")
    return [sys.executable, str(d/'spine-osteo-convert'), str(src), str(out), '--region', 'any'] + (['--workers', str(workers)] if workers else [])

def tools(src, out, workers, base=None):
    "The commands to compare, each writing into `out/<tool>`: {name: (command, environment or None, cwd or None)}"
    py, conv = sys.executable, shutil.which('spine-osteo-convert')
    if conv is None: sys.exit("bench_convert: spine-osteo-convert not found; pip install -e . first")
    t = {'spine_osteo': ([conv, str(src), str(out/'spine_osteo'), '--region', 'any'] + (['--workers', str(workers)] if workers else []), None, None),
         'spine_osteo (zlib, no isal)': (_as_console_script(src, out/'spine_osteo_zlib', workers, hide_isal=True), None, None)}
    if base is not None:   # today's code: the same console script's code from a git revision (PYTHONPATH, run outside the repository)
        t['spine_osteo @ base'] = (_as_console_script(src, out/'spine_osteo_base', workers), dict(os.environ, PYTHONPATH=str(base)), str(out))
    t['dcm2niix -z y'] = (['sh', '-c', f"mkdir -p '{out/'dcm2niix'}' && dcm2niix -z y -b y -o '{out/'dcm2niix'}' '{src}'"], None, None)
    t['dicom2nifti'] = ([py, '-c', f"import os, logging, dicom2nifti; logging.disable(logging.CRITICAL); os.makedirs({str(out/'dicom2nifti')!r}); dicom2nifti.convert_directory({str(src)!r}, {str(out/'dicom2nifti')!r}, compression=True, reorient=True)"], None, None)
    return t

def count_nii(d):
    "Number of .nii.gz files written under `d`"
    return sum(1 for _ in Path(d).rglob('*.nii.gz')) if Path(d).exists() else 0

def bench(name, src, workers, skip=(), repeats=3, slow=('dicom2nifti',), base=None):
    "Measure every tool on `src`, interleaved, `repeats` times (once for the `slow` ones); return rows with medians"
    runs = {}
    with tempfile.TemporaryDirectory(prefix='bench_convert_') as tmp:
        tmp = Path(tmp)
        for k in range(repeats):
            for tool, (cmd, env, cwd) in tools(src, tmp, workers, base).items():
                if tool in skip or (tool in slow and k > 0): continue
                wall, peak, rc, err = run_measured(cmd, env=env, cwd=cwd)
                outdir = tmp/OUTDIR[tool]
                runs.setdefault(tool, []).append(dict(wall=wall, peak=peak, rc=rc, nii=count_nii(outdir), err=err.strip().splitlines()[-1:] if rc else ''))
                shutil.rmtree(outdir, ignore_errors=True)
    rows = []
    for tool, rs in runs.items():
        walls = sorted(r['wall'] for r in rs)
        rows.append(dict(dataset=name, tool=tool, wall=statistics.median(walls), wmin=walls[0], n=len(rs), peak=max(r['peak'] for r in rs),
                         rc=max(r['rc'] for r in rs), nii=rs[-1]['nii'], err=next((r['err'] for r in rs if r['rc']), '')))
    ref = next((r['wall'] for r in rows if r['tool'] == 'dcm2niix -z y'), None)
    for r in rows: r['ratio'] = r['wall']/ref if ref else float('nan')
    return rows

def dataset_info(src):
    "Files and MiB under `src`"
    fs = [p for p in Path(src).rglob('*') if p.is_file()]
    return len(fs), sum(p.stat().st_size for p in fs)/2**20

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n-subjects', type=int, default=40, help='subjects in the synthetic cohort (0: skip it)')
    ap.add_argument('--matrix', type=int, default=256, help='in-plane matrix of the synthetic cohort (None in synth = realistic 256-512)')
    ap.add_argument('--workers', type=int, default=None, help="workers for spine_osteo (default: the command's own, the usable CPUs)")
    ap.add_argument('--skip-dicom2nifti', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--base', default=None, help="also run today's code: a git revision (e.g. HEAD), side by side")
    ap.add_argument('--repeats', type=int, default=3, help='interleaved runs of each fast tool (median reported); dicom2nifti runs once')
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from spine_osteo.test_utils import shared_data
    skip = ('dicom2nifti',) if a.skip_dicom2nifti else ()
    decub = shared_data('dicom', 'dcm_qa_decubitus', 'In')
    if decub is None: print("../shared/data not found: the decubitus set is skipped (set SPINE_OSTEO_SHARED to its folder)", flush=True)
    sets = [('dcm_qa_decubitus/In', decub)] if decub is not None else []
    with tempfile.TemporaryDirectory(prefix='bench_cohort_') as tmp:
        base = None
        if a.base:
            base = Path(tmp)/'base'; base.mkdir()
            repo = Path(__file__).resolve().parents[1]
            arc = subprocess.run(['git', '-C', str(repo), 'archive', a.base, 'spine_osteo'], capture_output=True, check=True).stdout
            subprocess.run(['tar', '-x', '-C', str(base)], input=arc, check=True)
        if a.n_subjects:
            from spine_osteo.synth import make_cohort
            t0 = time.perf_counter()
            make_cohort(Path(tmp)/'cohort', n_subjects=a.n_subjects, seed=a.seed, matrix=a.matrix, progress=False)
            print(f"synthetic cohort: {a.n_subjects} subjects, matrix {a.matrix}, made in {time.perf_counter()-t0:.0f} s", flush=True)
            sets.append((f'synth {a.n_subjects} subj, matrix {a.matrix}', Path(tmp)/'cohort'))
        rows = []
        for name, src in sets:
            n, mb = dataset_info(src)
            print(f"{name}: {n} files, {mb:.0f} MiB", flush=True)
            rows += bench(f"{name} ({n} files, {mb:.0f} MiB)", src, a.workers, skip, a.repeats, base=base)
    import psutil as _p
    print(f"\nmachine: {platform.node() and 'host'}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{_p.virtual_memory().total/2**30:.0f} GiB RAM, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    print("\n| dataset | tool | wall (s), median | min | runs | ratio to dcm2niix (median) | peak PSS (MiB) | .nii.gz written | ok |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['dataset']} | {r['tool']} | {r['wall']:.2f} | {r['wmin']:.2f} | {r['n']} | {r['ratio']:.2f} | {r['peak']:.0f} | {r['nii']} | {'yes' if r['rc'] == 0 else 'rc ' + str(r['rc']) + ' ' + ' '.join(r['err'])} |")

if __name__ == '__main__': main()
