#!/usr/bin/env python
"""Benchmark spine_osteo.data against MONAI on the same inputs, in one run, and print a table of ratios.

    python benchmarks/bench_data.py                    # CPU, modest (about a minute or two on 2 cores)
    python benchmarks/bench_data.py --device cuda      # augmentation on the GPU (preprocessing stays on CPU)
    python benchmarks/bench_data.py --threads 2 --reps 3 --n-subjects 8

1. preprocessing throughput (volumes/s): `preprocess_volume` vs MONAI Compose(LoadImage, EnsureChannelFirst,
   Orientation RAS, Resize 128^3, ScaleIntensityRangePercentiles 0.5/99.5, NormalizeIntensity) on the same files:
   synthetic lumbar-like sagittal series (15 slices x 384 x 384, 4 x 0.8 x 0.8 mm, int16, stored PIL) and the
   real sct_spine T1/T2 shipped in testdata/; and on the same files the header check `check_nifti` that
   `read_subject_table` makes for every volume (ms/volume; ratio: reading the voxels with nibabel / the check);
2. cached epoch, the loader alone (no augmentation): pairs/s that `SpineDataLoaders` delivers at 128^3 once the disk
   cache is warm, with batch reads (`CachedPairDL`, the default) against fastai's item path (`batch_read=False`), on
   the same cache in the same run: float16 batches as they leave the loader for the device (`create_batches`, what a
   GPU run copies), and whole float32 batches on `--device` (`PairToFloat` there); the first, uncached epoch too;
3. augmentation: ms per batch of 8 pairs (8,2,128,128,128) with every spatial transform drawn (flip, rotation,
   zoom, elastic; one grid_sample) vs MONAI per-sample RandRotate + RandFlip + RandZoom + Rand3DElastic (prob 1).
"""
import argparse, os, sys, time, tempfile, shutil, platform, warnings
from pathlib import Path
import numpy as np

def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu', help="device for the augmentation benchmark: cpu or cuda")
    p.add_argument('--threads', type=int, default=2, help="torch intra-op threads (both libraries)")
    p.add_argument('--reps', type=int, default=2, help="timed repetitions (best is reported)")
    p.add_argument('--n-subjects', type=int, default=4, help="synthetic subjects (2 volumes each) for preprocessing")
    p.add_argument('--epoch-subjects', type=int, default=48, help="synthetic subjects (2 volumes each) for the cached-epoch rows")
    p.add_argument('--epoch-bs', type=int, default=8, help="batch size of the cached-epoch rows")
    p.add_argument('--size', type=int, default=128, help="target cube side")
    p.add_argument('--bs', type=int, default=8, help="augmentation batch size")
    p.add_argument('--skip-monai-aug', action='store_true', help="skip the (slow) MONAI augmentation baseline")
    return p.parse_args()

def best_of(f, reps, sync=lambda: None):
    "Best wall time of `reps` calls of `f` (after one untimed warm-up call)"
    f(); sync(); ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); sync(); ts.append(time.perf_counter() - t)
    return min(ts)

def lumbar_like(seed, shape=(15, 384, 384)):
    "A smooth random int16 volume shaped like a sagittal lumbar series (RAS voxel order: slices along R)"
    import torch, torch.nn.functional as F
    g = torch.Generator().manual_seed(seed)
    c = torch.rand(1, 1, shape[0], 24, 24, generator=g)
    v = F.interpolate(c, size=shape, mode='trilinear', align_corners=False)[0, 0]
    v = v * 800 + torch.randn(shape, generator=g) * 30
    return v.clamp(0, 2000).numpy().astype(np.int16)

def main():
    a = parse()
    import torch
    torch.set_num_threads(a.threads)
    load0 = os.getloadavg()
    warnings.filterwarnings('ignore')
    from spine_osteo.data import (PreprocessConfig, preprocess_volume, as_orientation, SpineDataLoaders,
                                  RandPairedSpatial3D, RandPairedIntensity3D, PairedVolume, aug_transforms_3d)
    from spine_osteo.test_utils import write_nifti, test_data
    import monai, monai.transforms as mt
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == 'cuda' else (lambda: None)
    S = (a.size,) * 3
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix='bench_data_'))
    try:
        # ---- 1. preprocessing ----
        files = []
        for i in range(a.n_subjects):
            for m in ('T1', 'T2'):
                arr, aff = as_orientation(lumbar_like(10*i + (m == 'T2')), 'PIL', spacing=(4., .8, .8))
                c = ['normal', 'osteopenia', 'osteoporosis'][i % 3]
                files.append(write_nifti(arr, tmp/'data'/c/m/f'sub{i:03d}'/f'{m}.nii.gz', affine=aff))
        sct = test_data('nifti', 'sct_spine')                 # shipped in the repository
        real = [sct/'t1w.nii.gz', sct/'t2.nii.gz']
        cfg = PreprocessConfig(size=S)
        monai_pre = mt.Compose([mt.LoadImage(image_only=True, ensure_channel_first=True), mt.Orientation(axcodes='RAS'),
                                mt.Resize(S, mode='trilinear'),
                                mt.ScaleIntensityRangePercentiles(0.5, 99.5, b_min=0., b_max=1., clip=True),
                                mt.NormalizeIntensity()])
        for name, fs in (('synthetic 15x384x384 sagittal', files), ('real sct_spine T1+T2', real)):
            if not fs: continue
            t_ours = best_of(lambda: [preprocess_volume(f, cfg) for f in fs], a.reps)
            t_monai = best_of(lambda: [monai_pre(str(f)) for f in fs], a.reps)
            rows.append((f'preprocess, {name} ({len(fs)} vol)', 'volumes/s', len(fs)/t_ours, len(fs)/t_monai, t_monai/t_ours))
        # ---- 1b. header check (what `read_subject_table` does for every volume) against reading the voxels ----
        import nibabel as nib
        from spine_osteo.data import check_nifti
        for name, fs in (('synthetic 15x384x384 sagittal', files), ('real sct_spine T1+T2', real)):
            t_check = best_of(lambda: [check_nifti(f) for f in fs], a.reps)
            t_read = best_of(lambda: [np.asarray(nib.load(str(f)).dataobj) for f in fs], a.reps)
            rows.append((f'check_nifti (header only) vs reading the voxels, {name}', 'ms/volume', 1e3*t_check/len(fs), None, t_read/t_check))
        # ---- 2. cached epoch, the loader alone ----
        for i in range(a.epoch_subjects):          # smaller series than above: the cached volumes are 128^3 whatever the input
            for m in ('T1', 'T2'):
                arr, aff = as_orientation(lumbar_like(1000 + 10*i + (m == 'T2'), shape=(15, 96, 96)), 'PIL', spacing=(4., 3.2, 3.2))
                c = ['normal', 'osteopenia', 'osteoporosis'][i % 3]
                write_nifti(arr, tmp/'epoch'/c/m/f'sub{i:03d}'/f'{m}.nii.gz', affine=aff)
        kw = dict(size=a.size, bs=a.epoch_bs, valid_pct=0.25, aug=None, cache_dir=tmp/'cache', device=dev, shuffle=True, drop_last=False)
        fast = SpineDataLoaders.from_folder(tmp/'epoch', **kw)
        item = SpineDataLoaders.from_folder(tmp/'epoch', batch_read=False, **kw)
        loaders = (fast.train, fast.valid)
        def epoch(dls):
            n = 0
            for dl in (dls.train, dls.valid):
                for xb, yb in dl: n += len(xb)
            return n
        def epoch_f16():                           # what leaves the loader for the device: float16 batches
            return sum(len(b[0]) for dl in loaders for b in dl.create_batches(dl.get_idxs()))
        t = time.perf_counter(); n = epoch(fast); t_first = time.perf_counter() - t
        rows.append((f'epoch at {a.size}^3, first (preprocess + store), batch reads', 'pairs/s', n/t_first, None, None))
        t_item = best_of(lambda: epoch(item), a.reps + 1, sync)
        t_f32 = best_of(lambda: epoch(fast), a.reps + 1, sync)
        t_f16 = best_of(epoch_f16, a.reps + 1)
        rows.append((f'cached epoch at {a.size}^3, fastai item path (float32 batches on the {dev.type.upper()})', 'pairs/s', n/t_item, None, None))
        rows.append((f'cached epoch at {a.size}^3, batch reads, float32 batches on the {dev.type.upper()}', 'pairs/s', n/t_f32, None, t_item/t_f32))
        rows.append((f'cached epoch at {a.size}^3, batch reads, float16 batches for the device', 'pairs/s', n/t_f16, None, t_item/t_f16))
        # ---- 3. augmentation ----
        g = torch.Generator().manual_seed(0)
        base = torch.nn.functional.interpolate(torch.rand(a.bs, 2, 8, 8, 8, generator=g), size=S, mode='trilinear')
        xb = PairedVolume(base.to(dev))
        ours = RandPairedSpatial3D(p_flip=1., p_rotate=1., p_scale=1., p_elastic=1.)
        inten = RandPairedIntensity3D(p_gamma=1., p_noise=1., p_bias=1.)
        t_ours = best_of(lambda: ours(xb, split_idx=0), a.reps, sync)
        t_int = best_of(lambda: inten(xb, split_idx=0), a.reps, sync)
        default = aug_transforms_3d()                     # shipped probabilities: mean over 2*reps+2 random batches
        def run_default():
            y = xb
            for tf in default: y = tf(y, split_idx=0)
            return y
        run_default(); sync(); t = time.perf_counter()
        for _ in range(2*a.reps + 2): run_default()
        sync(); t_def = (time.perf_counter() - t) / (2*a.reps + 2)
        t_monai = None
        if not a.skip_monai_aug:
            monai_aug = mt.Compose([mt.RandRotate(range_x=np.radians(15), range_y=np.radians(5), range_z=np.radians(5), prob=1., padding_mode='border'),
                                    mt.RandFlip(prob=1., spatial_axis=0),
                                    mt.RandZoom(prob=1., min_zoom=0.9, max_zoom=1.1, keep_size=True),
                                    mt.Rand3DElastic(sigma_range=(5, 7), magnitude_range=(50, 150), prob=1., padding_mode='border', device=dev)])
            monai_aug.set_random_state(0)
            xs = [x for x in base.to(dev)]
            t_monai = best_of(lambda: [monai_aug(x) for x in xs], max(1, a.reps - 1), sync)
        rows.append((f'spatial aug, batch of {a.bs} pairs at {a.size}^3 ({dev.type})', 'ms/batch', 1e3*t_ours,
                     None if t_monai is None else 1e3*t_monai, None if t_monai is None else t_monai/t_ours))
        rows.append((f'intensity aug, gamma+noise+bias on every channel ({dev.type})', 'ms/batch', 1e3*t_int, None, None))
        rows.append((f'aug_transforms_3d() as shipped, mean of random batches ({dev.type})', 'ms/batch', 1e3*t_def, None, None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # ---- report ----
    dn = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else platform.processor() or platform.machine()
    print(f"\nspine_osteo.data benchmark: torch {torch.__version__}, monai {monai.__version__}, {os.cpu_count()} CPU cores, "
          f"torch threads {a.threads}, device {dev.type} ({dn}), load average (1 min) {load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n")
    f = lambda v: '' if v is None else (f'{v:.1f}' if v >= 10 else f'{v:.2f}')
    print('| measure | unit | spine_osteo | MONAI | ratio (x faster) |\n|---|---|---|---|---|')
    for r in rows: print(f'| {r[0]} | {r[1]} | {f(r[2])} | {f(r[3])} | {f(r[4])} |')
    print(f"\nratio: spine_osteo vs MONAI for preprocessing and augmentation; for the cached epochs ({n} pairs, batch {a.epoch_bs}, "
          "best of the timed passes), the fastai item path's time / this row's time.")

if __name__ == '__main__': main()
