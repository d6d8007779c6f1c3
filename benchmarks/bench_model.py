#!/usr/bin/env python
"""Benchmark one OsteoNet training step (forward + backward + AdamW step), configurations side by side in one run.

    python benchmarks/bench_model.py                          # CPU, 1 thread: s/step at 64^3, batch of 2 pairs:
                                                              #   B0 (padding as MONAI builds it) vs B0 folded, batch vs group
                                                              #   norm, B0 vs fused-MBConv ('efficientnet-b0-fused')
    python benchmarks/bench_model.py --sizes 64 128 --reps 3  # more sizes, more timed rounds
    python benchmarks/bench_model.py --device cuda            # GPU: pairs/s at 128^3, batch 4: the same architectures in
                                                              #   fp32 and bf16 (+ torch.compile), peak memory, cuDNN version
    python benchmarks/bench_model.py --device cuda --no-compile --gpu-bs 4 8 --steps 10
    python benchmarks/bench_model.py --quick                  # smoke run of the GPU code path on the CPU at 32^3

Every configuration builds its own model from the same seed and trains on the same random batch. On the CPU the
configurations are timed round-robin (one step of each in turn, `--reps` rounds, after one warm-up step each), so a
change of machine load hits all of them alike; the table gives the median s/step and the ratio to the first row.
On the GPU each configuration runs `--warmup` untimed steps (torch.compile compiles there) then `--steps` timed
steps, with cuDNN's autotuner on (as `fit_osteo` sets it on a GPU); the table gives pairs/s, the ratio to the
first row and the peak memory (`torch.cuda.max_memory_allocated`). Not a test (CI does not run it).
"""
import argparse, time, platform, os, gc, sys, statistics
import torch
import torch.nn.functional as F

# name -> OsteoNet keyword arguments (+ 'fold': fold MONAI's symmetric padding into the convolutions)
ARCHS = {
    'B0 bn, MONAI padding':     dict(arch='efficientnet-b0', norm='batch', fold=False),   # the model measured on the H100 so far
    'B0 bn':                    dict(arch='efficientnet-b0', norm='batch', fold=True),    # OsteoNet() today
    'B0 gn':                    dict(arch='efficientnet-b0', norm='group', fold=True),    # osteo_learner's default (group norm)
    'B0-fused bn':              dict(arch='efficientnet-b0-fused', norm='batch', fold=True),
    'B0-fused gn':              dict(arch='efficientnet-b0-fused', norm='group', fold=True),
}

def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu', help="cpu or cuda")
    p.add_argument('--threads', type=int, default=1, help="CPU: torch intra-op threads (1 on a shared machine)")
    p.add_argument('--sizes', type=int, nargs='+', default=[64], help="CPU: cube sides to time")
    p.add_argument('--bs', type=int, default=2, help="CPU: pairs per batch")
    p.add_argument('--reps', type=int, default=3, help="CPU: timed rounds (one step of each configuration per round)")
    p.add_argument('--archs', default='', help="comma-separated names from ARCHS (default: all)")
    p.add_argument('--gpu-size', type=int, default=128, help="GPU: cube side")
    p.add_argument('--gpu-bs', type=int, nargs='+', default=[4], help="GPU: pairs per batch (each size is a separate table)")
    p.add_argument('--steps', type=int, default=20, help="GPU: timed steps per configuration")
    p.add_argument('--warmup', type=int, default=3, help="GPU: untimed steps first (compilation happens here)")
    p.add_argument('--no-compile', action='store_true', help="GPU: skip the torch.compile configurations")
    p.add_argument('--quick', action='store_true', help="run the GPU code path on the chosen device at 32^3, 2 steps")
    p.add_argument('--demo-norms', default='', help="folder: train the demo (`cli.run_demo`) with batch and with group norm there instead")
    p.add_argument('--epochs', type=int, default=40, help="--demo-norms: epochs (the demo's default is 40)")
    p.add_argument('--seeds', type=int, nargs='+', default=[0], help="--demo-norms: seeds of the split and the training (the cohort is seed 0's)")
    return p.parse_args()

def build(device, arch='efficientnet-b0', norm='batch', fold=True, channels_last=False):
    "An OsteoNet in training mode on `device`; with `fold=False` the backbones keep MONAI's explicit padding layers"
    from spine_osteo.model import OsteoNet, EfficientNet3d
    torch.manual_seed(0)
    m = OsteoNet(arch=arch, norm=norm)
    if not fold:
        m.backbone_t1 = EfficientNet3d(arch=arch, norm=norm, fold_padding=False)
        m.backbone_t2 = EfficientNet3d(arch=arch, norm=norm, fold_padding=False)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    return m.to(device).train().to(memory_format=fmt)

def make_step(model, dtype, device):
    "One training step: forward under autocast (when `dtype` is not fp32), cross-entropy, backward, AdamW"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = F.cross_entropy(model(x).float(), y)
        if scaler is not None: scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        else: loss.backward(); opt.step()
        return loss
    return step

def table(rows, cols):
    "A markdown table of `rows` (dicts) with `cols`"
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    out = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    out += ['| ' + ' | '.join(fmt(r.get(c, '')) for c in cols) + ' |' for r in rows]
    return '\n'.join(out)

def machine(device):
    s = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    if device.type == 'cuda':
        s += f", {torch.cuda.get_device_name()}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    else: s += f", torch threads {torch.get_num_threads()}"
    try:
        import monai; s += f", MONAI {monai.__version__}"
    except ImportError: pass
    if hasattr(os, 'getloadavg'): s += f", load average at start {os.getloadavg()[0]:.1f}"
    return s

def chosen(a):
    names = [n.strip() for n in a.archs.split(',') if n.strip()] or list(ARCHS)
    bad = [n for n in names if n not in ARCHS]
    if bad: sys.exit(f"bench_model.py: unknown --archs {bad}; choose from {list(ARCHS)}")
    return names

def bench_cpu(a, device):
    from spine_osteo.model import n_params
    for size in a.sizes:
        names = chosen(a)
        x = torch.randn(a.bs, 2, size, size, size); y = torch.randint(0, 3, (a.bs,))
        models = {n: build(device, **ARCHS[n]) for n in names}
        steps = {n: make_step(m, torch.float32, device) for n, m in models.items()}
        times = {n: [] for n in names}
        for n in names: steps[n](x, y)                      # warm-up
        for r in range(a.reps):
            for n in names:
                t0 = time.perf_counter(); loss = steps[n](x, y); times[n].append(time.perf_counter() - t0)
            print(f"round {r+1}/{a.reps}: " + ', '.join(f"{n} {times[n][-1]:.2f} s" for n in names), flush=True)
        base = statistics.median(times[names[0]])
        rows = [dict(config=n, params_M=n_params(models[n]) / 1e6, s_per_step=statistics.median(times[n]),
                     pairs_per_s=a.bs / statistics.median(times[n]), speed_vs_first=base / statistics.median(times[n]))
                for n in names]
        print(f"\nCPU training step, batch {a.bs} pairs of {size}^3, fp32, median of {a.reps} round-robin rounds")
        print(table(rows, ['config', 'params_M', 's_per_step', 'pairs_per_s', 'speed_vs_first']), flush=True)
        del models, steps; gc.collect()

def run_gpu_config(device, size, bs, steps, warmup, dtype, compile, **arch):
    "pairs/s, peak GiB, warm-up seconds and whether the loss stayed finite for one configuration"
    model = build(device, **arch)
    fwd = torch.compile(model) if compile else model
    step = make_step(fwd, dtype, device)
    torch.manual_seed(0)
    x = torch.randn(bs, 2, size, size, size, device=device); y = torch.randint(0, 3, (bs,), device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(warmup): step(x, y)
    sync(); t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps): loss = step(x, y)
    sync(); dt = (time.perf_counter() - t0) / steps
    mem = torch.cuda.max_memory_allocated() / 2**30 if device.type == 'cuda' else float('nan')
    ok = bool(torch.isfinite(loss))
    del model, fwd, step, x, y; gc.collect()
    if device.type == 'cuda': torch.cuda.empty_cache()
    return dict(pairs_per_s=bs / dt, peak_gib=mem, warmup_s=t_warm, finite=ok)

def bench_gpu(a, device):
    size, bss, steps, warmup = (32, [2], 2, 1) if a.quick else (a.gpu_size, a.gpu_bs, a.steps, a.warmup)
    if device.type == 'cuda': torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, False
    names = chosen(a)
    configs = [(f"{n}, {p}", ARCHS[n], dt, False) for p, dt in (('fp32', torch.float32), ('bf16', torch.bfloat16)) for n in names]
    if not a.no_compile and not a.quick:
        configs += [(f"{n}, fp32 + compile", ARCHS[n], torch.float32, True) for n in names if ARCHS[n]['fold']]
    for bs in bss:
        rows, base = [], None
        for name, arch, dtype, comp in configs:
            try: r = run_gpu_config(device, size, bs, steps, warmup, dtype, comp, **arch)
            except Exception as e:  # e.g. out of memory or compile unavailable: report and go on
                print(f"{name}: failed: {type(e).__name__}: {str(e)[:300]}", flush=True)
                gc.collect(); torch.cuda.empty_cache() if device.type == 'cuda' else None; continue
            base = base or r['pairs_per_s']
            rows.append(dict(config=name, **r, ratio_vs_first=r['pairs_per_s'] / base))
            print(rows[-1], flush=True)
        print(f"\nTraining, batch {bs} pairs of {size}^3, {steps} timed steps after {warmup} warm-up steps, cudnn.benchmark on")
        print(table(rows, ['config', 'pairs_per_s', 'ratio_vs_first', 'peak_gib', 'warmup_s', 'finite']), flush=True)

def demo_norms(a):
    "Held-out metrics of the demo trained with batch norm and with group norm: one synthetic cohort, the same splits and seeds"
    import json, warnings
    from pathlib import Path
    import pandas as pd
    from spine_osteo.cli import run_demo
    warnings.simplefilter('ignore')
    root, rows = Path(a.demo_norms), []
    for seed in a.seeds:
        for norm in ('batch', 'group'):
            out = root/f'seed{seed}_{norm}'; out.mkdir(parents=True, exist_ok=True)
            first = root/f'seed{a.seeds[0]}_batch'
            if out != first:   # one cohort, converted and cached once
                for sub in ('dicom', 'nifti', 'cache'):
                    if not (out/sub).exists(): (out/sub).symlink_to((first/sub).resolve())
            m = run_demo(out, seed=seed, epochs=a.epochs, quiet=True, norm=norm)['metrics']
            h = pd.read_csv(out/'run'/'history.csv')
            rows.append(dict(seed=seed, norm=norm, balanced_accuracy=m['balanced_accuracy'], roc_auc=m['roc_auc'], kappa=m['kappa'],
                             n_test=m['n_valid'], valid_loss_max=float(h.valid_loss.max()), train_s=m['stage_seconds']['train']))
            print(json.dumps(rows[-1]), flush=True)
    print(f"\nThe demo (150 synthetic subjects, 50 held out, 32^3, batch 6, {a.epochs} epochs), batch vs group norm")
    print(table(rows, ['seed', 'norm', 'balanced_accuracy', 'roc_auc', 'kappa', 'n_test', 'valid_loss_max', 'train_s']))

def main():
    a = parse()
    device = torch.device(a.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit("bench_model.py: --device cuda but torch sees no GPU; run on a GPU machine or use --device cpu")
    if device.type == 'cpu': torch.set_num_threads(a.threads)
    print('machine:', machine(device), flush=True)
    if a.demo_norms: demo_norms(a)
    elif device.type == 'cpu' and not a.quick: bench_cpu(a, device)
    else: bench_gpu(a, device)

if __name__ == '__main__': main()
