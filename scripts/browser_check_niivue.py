#!/usr/bin/env python
"""Real-browser check of `spine_osteo.niivue.NiiVueViewer` (issue 16): NiiVue (WebGL2) in JupyterLab in Chromium.

Starts JupyterLab headless on localhost (as `browser_check_viewer.py` does), opens a notebook that shows a
`NiiVueViewer` of the shipped `testdata/nifti/sct_spine` T1/T2 pair with a Grad-CAM-like heatmap on the T1, runs it in
headless Chromium with a software WebGL (SwiftShader through ANGLE: no GPU needed), then checks, and exits non-zero
unless all hold:

1. both volumes are drawn: each canvas has a sizeable share of non-black pixels, and the kernel knows both are loaded;
2. the overlay is visible: the T1 canvas has heat colours (blue/cyan/green/yellow), the T2 canvas (no overlay) has none;
3. one click in the T1 canvas moves the crosshair in both canvases: the kernel's crosshair positions change in both,
   they map to one world point (within 1.5 mm), both canvases' pixels change, and the readout under the canvases
   shows the clicked position and the value there;
4. the browser console shows no error.

    python scripts/browser_check_niivue.py [OUT_DIR] [--data DIR] [--chromium /usr/bin/chromium] [--timeout 240]

Writes `OUT_DIR/niivue_before.png`, `OUT_DIR/niivue_after.png` (the widget), `OUT_DIR/page_*.png` (the page) and
`OUT_DIR/console.log`. Needs the `dev` extra (`jupyterlab`, `playwright`), `ipyniivue` (which brings `anywidget` and
its JupyterLab extension) and Debian's Chromium (`apt-get install -y chromium`).
"""
from __future__ import annotations
import json, secrets, shutil, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check_viewer import free_port, start_lab, wait_lab, stop_lab, RUN_ALL, differ, run_cli   # the same JupyterLab harness

# headless Chromium has no GPU here: WebGL2 through ANGLE on SwiftShader, the software Vulkan renderer
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
                 '--ignore-gpu-blocklist', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']

def write_notebook(dest:Path, data:Path)->Path:
    "The notebook JupyterLab opens: one cell with a NiiVueViewer of the pair and a heatmap on the T1"
    src = ("import numpy as np\n"
           "from spine_osteo.niivue import NiiVueViewer\n"
           "cam = np.zeros((4, 4, 4), np.float32); cam[1:3, 1:3, 1:3] = 1.   # heat in the middle of the T1\n"
           f"v = NiiVueViewer('{data}/t1w.nii.gz', '{data}/t2.nii.gz', titles=['T1w', 'T2'], overlay=[cam, None],\n"
           "                 overlay_label='test heat', alpha=0.7, height=380)\n"
           "v")
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "niivue", "metadata": {}, "outputs": [], "source": src}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    p = dest/'niivue_check.ipynb'; p.write_text(json.dumps(nb)); return p

KERNEL_EXEC = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const f = k.requestExecute({code, store_history: false, silent: false});
  let out = '';
  f.onIOPub = (m) => { if (m.header.msg_type === 'stream') out += m.content.text;
                       if (m.header.msg_type === 'error') out += 'ERROR ' + m.content.ename + ': ' + m.content.evalue; };
  await f.done;
  return out;
}"""

PROBE = """import json as _j
def _st(c):
    vol = c.volumes[0]
    loaded = vol.frac2mm is not None and vol.dims is not None
    return dict(attached=bool(c._canvas_attached), loaded=bool(loaded), pos=list(c.scene.crosshair_pos),
                mm=[float(x) for x in c.frac2mm(c.scene.crosshair_pos)[:3]] if loaded else None, readout=v.readout.value)
print('PROBE' + _j.dumps([_st(c) for c in v.canvases]))"""

def probe(page)->list:
    "The kernel's view of each canvas: attached, loaded, crosshair (fraction) and its world position (mm)"
    out = page.evaluate(KERNEL_EXEC, PROBE)
    line = next((l for l in out.splitlines() if l.startswith('PROBE')), None)
    if line is None: raise RuntimeError(f"probe failed: {out}")
    return json.loads(line[5:])

def wait_for(page, cond, timeout:float, what:str):
    "Poll `probe` until `cond(state)` holds"
    t0, st = time.time(), None
    while time.time() - t0 < timeout:
        st = probe(page)
        if cond(st): return st
        page.wait_for_timeout(500)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s; last kernel state {st}")

def pixel_stats(png:Path)->dict:
    "Share of non-black pixels and of heat-coloured pixels (jet's blue, cyan, green, yellow; not the red crosshair)"
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(png).convert('RGB')).astype(int)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    lit = a.max(-1) > 30
    heat = ((b > r + 60) | (g > r + 60) | ((r > b + 80) & (g > b + 80))) & lit   # saturated, not gray, not pure red
    return dict(lit=float(lit.mean()), heat=float(heat.mean()))

def check(out:Path, data:Path, chromium:str, timeout:float)->bool:
    "Run the whole check; True when every condition in the module docstring holds"
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='spine_osteo_niivue_'))
    port, token = free_port(), secrets.token_hex(16)
    write_notebook(work, data)
    log, console = open(out/'jupyter_lab.log', 'w'), []
    proc = start_lab(work, port, token, log)
    t0, ok = time.time(), {}
    try:
        print(f"jupyter lab up in {wait_lab(port, token, proc, 60):.1f} s on port {port}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.on('console', lambda m: console.append((m.type, m.text)))
            page.on('pageerror', lambda e: console.append(('pageerror', str(e))))
            page.goto(f'http://127.0.0.1:{port}/lab/tree/niivue_check.ipynb?token={token}', timeout=timeout*1000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=timeout*1000)
            print(f"notebook open, kernel {page.evaluate(RUN_ALL)}; running the cell")
            st0 = wait_for(page, lambda s: len(s) == 2 and all(c['attached'] and c['loaded'] for c in s), timeout, 'loading both volumes')
            page.wait_for_timeout(2000)                      # let the first frames settle
            canvases = page.locator('.jp-OutputArea-output canvas')
            ok['two canvases'] = canvases.count() == 2
            widget = page.locator('.jp-OutputArea-output').filter(has=page.locator('canvas')).first
            widget.scroll_into_view_if_needed()
            before, after = out/'niivue_before.png', out/'niivue_after.png'
            widget.screenshot(path=str(before)); page.screenshot(path=str(out/'page_before.png'))
            for k in range(2): canvases.nth(k).screenshot(path=str(out/f'canvas{k}_before.png'))
            s1, s2 = pixel_stats(out/'canvas0_before.png'), pixel_stats(out/'canvas1_before.png')
            print(f"T1 canvas: {s1['lit']:.0%} lit, {s1['heat']:.1%} heat colours; T2 canvas: {s2['lit']:.0%} lit, {s2['heat']:.1%} heat colours")
            ok['both volumes drawn'] = s1['lit'] > 0.10 and s2['lit'] > 0.10
            ok['overlay visible on the T1, not on the T2'] = s1['heat'] > 0.002 and s2['heat'] < 0.0005
            box = canvases.nth(0).bounding_box()
            page.mouse.click(box['x'] + 0.35*box['width'], box['y'] + 0.35*box['height'])
            st1 = wait_for(page, lambda s: all(c['pos'] != c0['pos'] for c, c0 in zip(s, st0)), 30, 'moving both crosshairs')
            page.wait_for_timeout(1500)
            widget.screenshot(path=str(after)); page.screenshot(path=str(out/'page_after.png'))
            for k in range(2): canvases.nth(k).screenshot(path=str(out/f'canvas{k}_after.png'))
            dist = sum((a - b)**2 for a, b in zip(st1[0]['mm'], st1[1]['mm']))**0.5
            print(f"crosshair T1 {st0[0]['pos']} -> {[round(x, 3) for x in st1[0]['pos']]}, "
                  f"T2 {st0[1]['pos']} -> {[round(x, 3) for x in st1[1]['pos']]}; world points {dist:.2f} mm apart")
            ok['one crosshair: both moved to one world point'] = dist < 1.5
            print(f"readout after the click: {st1[0]['readout']}")
            ok['value readout'] = 'T1w' in st1[0]['readout'] and '=' in st1[0]['readout']
            d1, d2 = differ(out/'canvas0_before.png', out/'canvas0_after.png'), differ(out/'canvas1_before.png', out/'canvas1_after.png')
            print(f"pixels changed by the click: T1 canvas {d1:.1%}, T2 canvas {d2:.1%}")
            ok['both canvases redrawn'] = d1 > 0.001 and d2 > 0.001
            browser.close()
        (out/'console.log').write_text('\n'.join(f"{t}: {m}" for t, m in console))
        errors = [m for t, m in console if t in ('error', 'pageerror')]
        for m in errors: print(f"console error: {m[:300]}")
        ok['no console errors'] = not errors
        print(f"{time.time()-t0:.1f} s in all; screenshots: {before} {after}")
    finally:
        stop_lab(proc, port, token); log.close()
        shutil.rmtree(work, ignore_errors=True)
    for k, v in ok.items(): print(f"{'ok  ' if v else 'FAIL'} {k}")
    return all(ok.values()) and len(ok) == 7

def main(argv=None): run_cli(check, __doc__, 'niivue_check_', 'OK: NiiVue draws, overlays and links the crosshair in a real browser', argv)

if __name__ == '__main__': main()
