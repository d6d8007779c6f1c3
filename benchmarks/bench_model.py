#!/usr/bin/env python
"""Benchmark one OsteoNet training step (forward + backward + AdamW step), side by side in one run.

    python benchmarks/bench_model.py                         # CPU: seconds per step, batch of 2 pairs, 64^3 and 128^3
    python benchmarks/bench_model.py --device cuda           # GPU: pairs/s at 128^3, fp32 vs bf16 vs bf16+channels_last
                                                             #      vs fp16+channels_last vs (+ torch.compile), peak memory
    python benchmarks/bench_model.py --device cuda --no-compile --gpu-bs 8 --steps 10
    python benchmarks/bench_model.py --device cpu --sizes 32 --quick     # smoke run of every code path on CPU

CPU: seconds per training step for the attention model at each size, fp32 and bf16 autocast, and the late-fusion
model (to price the attention) at 64^3 (at 128^3 too with --all-cpu). GPU: every configuration runs the same model, batch and steps after warm-up steps
(which include torch.compile's compilation); the table gives pairs/s, the ratio to fp32 and the peak memory
(`torch.cuda.max_memory_allocated`). The fastest configuration is printed as the suggested `gpu_defaults()`.
Not a test (CI does not run it).
"""
import argparse, time, platform, os, gc, sys
import torch
import torch.nn.functional as F

def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu', help="cpu or cuda")
    p.add_argument('--threads', type=int, default=2, help="torch intra-op threads on CPU")
    p.add_argument('--sizes', type=int, nargs='+', default=[64, 128], help="CPU: cube sides to time")
    p.add_argument('--bs', type=int, default=2, help="CPU: pairs per batch")
    p.add_argument('--reps', type=int, default=1, help="CPU: timed steps per configuration (after one warm-up)")
    p.add_argument('--all-cpu', action='store_true', help="CPU: also the late-fusion model above 64^3")
    p.add_argument('--gpu-size', type=int, default=128, help="GPU: cube side")
    p.add_argument('--gpu-bs', type=int, default=4, help="GPU: pairs per batch (fp32 needs the most memory)")
    p.add_argument('--steps', type=int, default=20, help="GPU: timed steps per configuration")
    p.add_argument('--warmup', type=int, default=3, help="GPU: untimed steps first (compilation happens here)")
    p.add_argument('--no-compile', action='store_true', help="GPU: skip the torch.compile configurations")
    p.add_argument('--only', default='', help="GPU: comma-separated config names, or precisions ('fp32' runs 'fp32' and 'fp32 + compile')")
    p.add_argument('--quick', action='store_true', help="run the GPU code path on the chosen device at tiny size")
    return p.parse_args()

def make_step(model, opt, dtype, device, scaler=None):
    "One training step: forward under autocast (when `dtype` is not fp32), cross-entropy, backward, AdamW"
    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = F.cross_entropy(model(x).float(), y)
        if scaler is not None:
            scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        else:
            loss.backward(); opt.step()
        return loss
    return step

def run_config(device, size, bs, dtype=torch.float32, channels_last=False, compile=False, fusion='attention',
               steps=2, warmup=1):
    "Seconds per training step and peak GPU memory (GiB, or nan on CPU) for one configuration"
    from spine_osteo.model import OsteoNet
    torch.manual_seed(0)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    model = OsteoNet(fusion=fusion).to(device).train().to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    fwd = torch.compile(model) if compile else model
    step = make_step(fwd, opt, dtype, device, scaler)
    x = torch.randn(bs, 2, size, size, size, device=device).to(memory_format=fmt)
    y = torch.randint(0, 3, (bs,), device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(warmup): step(x, y)
    sync(); t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps): loss = step(x, y)
    sync(); dt = (time.perf_counter() - t0) / steps
    ok = bool(torch.isfinite(loss))
    mem = torch.cuda.max_memory_allocated() / 2**30 if device.type == 'cuda' else float('nan')
    del model, opt, fwd, step, x, y; gc.collect()
    if device.type == 'cuda': torch.cuda.empty_cache()
    return dict(s_per_step=dt, pairs_per_s=bs/dt, peak_gib=mem, warmup_s=t_warm, finite=ok)

def table(rows, cols):
    "A markdown table of `rows` (dicts) with `cols`"
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    out = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    out += ['| ' + ' | '.join(fmt(r.get(c, '')) for c in cols) + ' |' for r in rows]
    return '\n'.join(out)

def machine(device):
    s = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    if device.type == 'cuda': s += f", {torch.cuda.get_device_name()}"
    else: s += f", torch threads {torch.get_num_threads()}"
    try:
        import monai; s += f", MONAI {monai.__version__}"
    except ImportError: pass
    if hasattr(os, 'getloadavg'): s += f", load average at start {os.getloadavg()[0]:.1f}"
    return s

def bench_cpu(a, device):
    rows = []
    for size in a.sizes:
        base = None
        cfgs = [('attention', torch.float32), ('late', torch.float32), ('attention', torch.bfloat16)]
        if size > 64 and not a.all_cpu: cfgs = [cfgs[0], cfgs[2]]   # minutes per step at 128^3 on 2 cores
        for fusion, dtype in cfgs:
            r = run_config(device, size, a.bs, dtype=dtype, fusion=fusion, steps=a.reps, warmup=1)
            base = base or r['s_per_step']
            rows.append(dict(input=f"{a.bs}x2x{size}^3", model=fusion, precision=str(dtype).split('.')[-1],
                             s_per_step=r['s_per_step'], pairs_per_s=r['pairs_per_s'],
                             vs_fp32_attention=base / r['s_per_step'], finite=r['finite']))
            print(rows[-1], flush=True)
    print(table(rows, ['input', 'model', 'precision', 's_per_step', 'pairs_per_s', 'vs_fp32_attention', 'finite']))

def bench_gpu(a, device):
    size, bs, steps, warmup = (32, 2, 2, 1) if a.quick else (a.gpu_size, a.gpu_bs, a.steps, a.warmup)
    if device.type == 'cuda': torch.backends.cudnn.benchmark = True
    configs = [('fp32', torch.float32, False, False), ('bf16', torch.bfloat16, False, False),
               ('bf16 + channels_last_3d', torch.bfloat16, True, False),
               ('fp16 + channels_last_3d', torch.float16, True, False)]
    if not a.no_compile and not a.quick:
        configs += [('fp32 + compile', torch.float32, False, True), ('bf16 + compile', torch.bfloat16, False, True),
                    ('bf16 + channels_last_3d + compile', torch.bfloat16, True, True)]
    if a.only: configs = [c for c in configs if any(o.strip() == c[0].split(' + ')[0] or o.strip() == c[0] for o in a.only.split(','))]
    rows, base = [], None
    for name, dtype, cl, comp in configs:
        try: r = run_config(device, size, bs, dtype, cl, comp, steps=steps, warmup=warmup)
        except Exception as e:  # e.g. compile unavailable: report and go on
            print(f"{name}: failed: {type(e).__name__}: {str(e)[:300]}", flush=True)
            gc.collect(); torch.cuda.empty_cache() if device.type == 'cuda' else None; continue
        base = base or r['pairs_per_s']
        rows.append(dict(config=name, pairs_per_s=r['pairs_per_s'], ratio_vs_fp32=r['pairs_per_s'] / base,
                         peak_gib=r['peak_gib'], warmup_s=r['warmup_s'], finite=r['finite'],
                         dtype=dtype, channels_last=cl, compile=comp))
        print({k: v for k, v in rows[-1].items() if k not in ('dtype',)}, flush=True)
    print(f"\nTraining, batch {bs} pairs of {size}^3, {steps} timed steps after {warmup} warm-up steps")
    print(table(rows, ['config', 'pairs_per_s', 'ratio_vs_fp32', 'peak_gib', 'warmup_s', 'finite']))
    best = max((r for r in rows if r['finite']), key=lambda r: r['pairs_per_s'])
    print(f"\nfastest: {best['config']} -> gpu_defaults() = "
          f"dict(dtype={best['dtype']}, channels_last={best['channels_last']}, compile={best['compile']})")

def main():
    a = parse()
    device = torch.device(a.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit("bench_model.py: --device cuda but torch sees no GPU; run on a GPU machine or use --device cpu")
    if device.type == 'cpu': torch.set_num_threads(a.threads)
    print('machine:', machine(device), flush=True)
    if device.type == 'cpu' and not a.quick: bench_cpu(a, device)
    else: bench_gpu(a, device)

if __name__ == '__main__': main()
