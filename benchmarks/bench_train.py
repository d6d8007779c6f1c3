#!/usr/bin/env python
"""End-to-end training throughput: `fit_osteo` on real `SpineDataLoaders` beside the loader alone and the model alone, in one run.

    python benchmarks/bench_train.py                                  # CPU, 64^3: a few minutes on 2 cores
    python benchmarks/bench_train.py --device cuda --size 128 --bs 8 --n-subjects 96 --epochs 3 --threads 8
    python benchmarks/bench_train.py --quick                          # smoke run of every code path (32^3, 1 epoch)

What it does, on one machine in one process:
1. writes a synthetic DICOM cohort (`spine_osteo.synth.make_cohort`) and converts it (`spine_osteo.convert.convert_dicom`);
2. makes `SpineDataLoaders.from_df` over it (20 % held out) and warms the disk cache with one pass (timed);
3. the loader alone: whole passes over the training loader with batch reads (the default) and with fastai's item path
   (`batch_read=False`), without augmentation and with the default augmentation (on the batch's device);
4. the model alone: `fit_osteo` on in-memory random batches of the same shape, already on the device;
5. `fit_osteo` on the real loaders (default augmentation), with batch reads and with the item path.
Every figure is training pairs per second over whole epochs (validation and callbacks included in "epoch"; the training
phase alone in "train phase"); the first epoch of each fit is warm-up and left out when there are two or more. The
row with the lowest pairs/s among "loader" and "model" is the bottleneck. Not a test (CI does not run it).
"""
import argparse, os, sys, time, tempfile, shutil, platform, warnings, random
from pathlib import Path

def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu', help="cpu or cuda")
    p.add_argument('--size', type=int, default=64, help="cube side of the model input")
    p.add_argument('--bs', type=int, default=2, help="pairs per batch")
    p.add_argument('--n-subjects', type=int, default=15, help="synthetic subjects (80 %% train, 20 %% valid)")
    p.add_argument('--matrix', type=int, default=128, help="in-plane DICOM matrix of the synthetic series")
    p.add_argument('--epochs', type=int, default=2, help="epochs of each fit (the first is warm-up when >= 2)")
    p.add_argument('--loader-passes', type=int, default=3, help="timed passes of the loader alone (best is reported)")
    p.add_argument('--threads', type=int, default=1, help="torch intra-op threads (1 on a shared machine)")
    p.add_argument('--workers', type=int, default=0, help="processes for synthesis and conversion (0: in this process)")
    p.add_argument('--num-workers', type=int, default=0, help="DataLoader worker processes")
    p.add_argument('--skip-item-fit', action='store_true', help="skip fit_osteo with the item path (the slowest row)")
    p.add_argument('--keep', default=None, help="keep the cohort, conversion and cache in this folder (reused when present)")
    p.add_argument('--quick', action='store_true', help="tiny smoke run: 32^3, 6 subjects, 1 epoch")
    a = p.parse_args()
    if a.quick: a.size, a.n_subjects, a.epochs, a.matrix, a.loader_passes = 32, 6, 1, 64, 1
    return a

def machine(torch, dev):
    "One line: OS, CPU, cores, GPU, torch, CUDA and cuDNN versions"
    cpu = platform.processor() or platform.machine()
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except Exception: pass
    s = f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
    if torch.cuda.is_available():
        s += f", CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
        if dev.type == 'cuda': s += f", GPU {torch.cuda.get_device_name(dev)}"
    else: s += ", no CUDA (cuDNN n/a)"
    return s

def main():
    a = parse()
    warnings.filterwarnings('ignore')
    import torch
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    from fastai.callback.core import Callback
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from spine_osteo.synth import make_cohort
    from spine_osteo.convert import convert_dicom
    from spine_osteo.data import find_subjects, SpineDataLoaders, aug_transforms_3d
    from spine_osteo.learner import osteo_learner, fit_osteo
    load0 = os.getloadavg()
    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix='bench_train_'))
    rows, t_all = [], time.perf_counter()
    try:
        raw, conv, cache = root/'dicom', root/'nifti', root/'cache'
        t = time.perf_counter()
        if not (raw/'labels.csv').exists():
            make_cohort(raw, n_subjects=a.n_subjects, seed=0, matrix=a.matrix, distractors=False, workers=a.workers, progress=False)
        if not (conv/'conversion_report.csv').exists():
            convert_dicom(raw, conv, labels=raw/'labels.csv', workers=a.workers, progress=False, verbose=False)
        t_prep = time.perf_counter() - t
        df = find_subjects(conv)
        def dls_for(batch_read, aug):
            return SpineDataLoaders.from_df(df, size=a.size, bs=a.bs, valid_pct=0.2, seed=0, cache_dir=cache, device=dev,
                                            aug='default' if aug else None, num_workers=a.num_workers, batch_read=batch_read)
        d0 = dls_for(True, False)
        n_train = len(d0.train) * a.bs                                   # drop_last: whole batches only
        t = time.perf_counter()
        for dl in (d0.train, d0.valid):
            for b in dl: pass
        sync(); t_warm = time.perf_counter() - t
        rows.append(('first pass over train + valid (preprocess + store in the cache)', (len(d0.train_ds) + len(d0.valid_ds)) / t_warm, None))

        # ---- the loader alone ----
        def loader_rate(dls):
            best = 0.
            for _ in range(a.loader_passes):
                sync(); t = time.perf_counter(); n = 0
                for xb, yb in dls.train: n += len(xb)
                sync(); best = max(best, n / (time.perf_counter() - t))
            return best
        loader = {}
        for br in (True, False):
            for aug in (False, True):
                loader[br, aug] = loader_rate(dls_for(br, aug))
                rows.append((f"loader alone, {'batch reads' if br else 'fastai item path'}, {'default augmentation' if aug else 'no augmentation'}",
                             loader[br, aug], None))

        # ---- the model alone, and fit_osteo ----
        class EpochTimer(Callback):
            "Wall time of each whole epoch and of its training phase"
            order = 100
            def before_fit(self): self.epoch_s, self.train_s = [], []
            def before_epoch(self): sync(); self.t_epoch = time.perf_counter()
            def before_train(self): sync(); self.t_train = time.perf_counter()
            def after_train(self): sync(); self.train_s.append(time.perf_counter() - self.t_train)
            def after_epoch(self): sync(); self.epoch_s.append(time.perf_counter() - self.t_epoch)
        def fit_rate(dls, name):
            timer = EpochTimer()
            learn = osteo_learner(dls, out=root/'run'/name, seed=0, cbs=[timer])
            with learn.no_bar(), learn.no_logging(): fit_osteo(learn, epochs=a.epochs, lr=1e-3)
            keep = slice(1, None) if a.epochs >= 2 else slice(None)
            n = len(dls.train) * dls.train.bs
            return n / (sum(timer.epoch_s[keep]) / len(timer.epoch_s[keep])), n / (sum(timer.train_s[keep]) / len(timer.train_s[keep]))
        g = torch.Generator().manual_seed(0)
        def rand_ds(n): return [(torch.randn(2, a.size, a.size, a.size, generator=g).to(dev), torch.tensor(i % 3).to(dev)) for i in range(n)]
        rdls = DataLoaders(DataLoader(rand_ds(n_train), bs=a.bs, shuffle=True, drop_last=True, device=dev),
                           DataLoader(rand_ds(len(d0.valid_ds)), bs=a.bs, device=dev), device=dev)
        rdls.vocab = list(d0.vocab)
        fits = {'model alone (random batches already on the device)': fit_rate(rdls, 'model')}
        fits['fit_osteo, real loaders with batch reads'] = fit_rate(dls_for(True, True), 'fast')
        if not a.skip_item_fit: fits['fit_osteo, real loaders with the fastai item path'] = fit_rate(dls_for(False, True), 'item')
        model_epoch = fits['model alone (random batches already on the device)'][0]
        for k, (ep, tr) in fits.items(): rows.append((f"{k}: epoch", ep, ep / model_epoch)); rows.append((f"{k}: train phase", tr, None))
    finally:
        if not a.keep: shutil.rmtree(root, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"\nspine_osteo end-to-end training benchmark, {a.size}^3, batch {a.bs}, device {dev.type}")
    print(f"machine: {machine(torch, dev)}")
    print(f"torch threads {a.threads}, DataLoader workers {a.num_workers}; {len(df)} subjects ({n_train} training pairs an epoch, "
          f"{a.epochs} epoch(s) a fit); cohort + conversion {t_prep:.0f} s; whole run {time.perf_counter() - t_all:.0f} s")
    print(f"load average (1 min) {load0[0]:.1f} at the start, {load1[0]:.1f} at the end\n")
    print('| measure | pairs/s | vs model alone (epoch) |\n|---|---:|---:|')
    f = lambda v: '' if v is None else (f'{v:.1f}' if v >= 10 else f'{v:.3g}')
    for name, v, r in rows: print(f'| {name} | {f(v)} | {f(r)} |')
    ld = min(loader[True, True], loader[True, False]); md = model_epoch
    print(f"\nbottleneck: {'the model' if md < ld else 'the loader'} (loader with batch reads and augmentation {loader[True, True]:.3g} pairs/s, "
          f"model alone {md:.3g} pairs/s); batch reads vs item path, loader alone without augmentation: "
          f"{loader[True, False] / loader[False, False]:.1f}x")

if __name__ == '__main__': main()
