#!/usr/bin/env python
"""Real-browser check of `spine_osteo.viewer.VolumeViewer` (issue 8).

Starts JupyterLab headless on localhost (a free port, a random token, settings and workspaces in a temp dir),
opens a notebook that shows a `VolumeViewer` on the repository's `testdata/nifti/sct_spine` pair, runs it in headless
Chromium driven by Playwright, screenshots the widget, moves the slice slider with the keyboard, screenshots again,
and exits 0 only when the slider's value and the drawn image both changed, the image is shown at its own pixel size
(not stretched or shrunk by the browser, issue 16.4) and the slice slider and the whole picture are on screen
together (issue 16.3), in the coronal view of an 11-slice sagittal stack as well. Issue 26: on the `sct_spine` pair
and on a synthetic pair whose T2 covers only part of its T1 at another size and spacing, it starts the viewer, moves
the slider, clicks the coronal, axial and sagittal buttons and presses End on the slider, and after every action
measures the PNG the browser shows: every panel at its slice through the viewer's point, a readout with the point in mm
and both volumes' values, each picture exactly where its millimetres put it in its panel (within 1.5 px: one px/mm for
all panels, placed by position), and a panel the point misses shown as outside. Issue 26.8b, on the DOM of every viewer: the info table's neighbouring cells
(and their text) are at least 8 px apart and no cell's text overflows it (its 'slice' and 'window' columns ran together).

    python scripts/browser_check_viewer.py [OUT_DIR] [--data DIR] [--chromium /usr/bin/chromium] [--timeout 240]

Needs: `jupyterlab`, `ipywidgets` (with its JupyterLab extension, `jupyterlab_widgets`), `playwright` (the Python
package; no browser download) and Debian's Chromium (`apt-get install -y chromium`). Writes
`OUT_DIR/viewer_before.png`, `OUT_DIR/viewer_after.png` (the widget), `OUT_DIR/page_*.png` (the whole page),
`OUT_DIR/r_*.png`, `OUT_DIR/q_*.png` (the measured pictures after each action), `OUT_DIR/viewer_partial_pair.png` and
`OUT_DIR/viewer_info_table.png`.
"""
from __future__ import annotations
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']

def free_port()->int:
    "A TCP port on 127.0.0.1 that nothing listens on now"
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def find_data(data:str|None)->Path:
    "The sct_spine folder: `--data`, else the repository's `testdata/nifti/sct_spine`"
    p = Path(data) if data else Path(__file__).resolve().parent.parent/'testdata'/'nifti'/'sct_spine'
    if not (p/'t1w.nii.gz').exists(): sys.exit(f"{p}: no t1w.nii.gz there; pass --data pointing at a folder with t1w.nii.gz and t2.nii.gz")
    return p.resolve()

def write_notebook(dest:Path, data:Path)->Path:
    "The notebook JupyterLab opens: one cell that shows a VolumeViewer on the shared spine pair"
    src = (f"from spine_osteo.viewer import VolumeViewer\n"
           f"v = VolumeViewer('{data}/t1w.nii.gz', '{data}/t2.nii.gz', titles=['T1w', 'T2'])\n"
           f"v")
    thin = ("import numpy as np\n"   # 11 sagittal slices of 4.8 mm: the narrow coronal strips of issue 16.3
            "stack = np.random.default_rng(0).random((11, 320, 320), dtype=np.float32)\n"
            "VolumeViewer(stack, stack, spacing=(4.8, 0.94, 0.94), titles=['T1 T1_11slices_202303_162527', 'T2 T2_15slices_202303_163012'], plane='coronal')")
    part = write_partial_pair(dest)
    real = f"r = VolumeViewer('{data}/t1w.nii.gz', '{data}/t2.nii.gz', titles=['T1w', 'T2'], pct=(0, 100))\nr"   # full window: every voxel lit
    partial = f"q = VolumeViewer('{part[0]}', '{part[1]}', titles=['T1', 'T2 part'], pct=(0, 100))\nq"
    cell = lambda src, id_: {"cell_type": "code", "execution_count": None, "id": id_, "metadata": {}, "outputs": [], "source": src}
    nb = {"cells": [cell(src, "viewer"), cell(thin, "thin"), cell(real, "real"), cell(partial, "partial")],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    p = dest/'viewer_check.ipynb'; p.write_text(json.dumps(nb)); return p

def write_partial_pair(dest:Path)->tuple:
    "A synthetic pair whose T2 covers only part of the T1, at another size and voxel spacing (textured, so every voxel is lit)"
    import numpy as np, nibabel as nib
    rng = np.random.default_rng(0)
    i, j, k = np.meshgrid(*(np.arange(n) for n in (40, 60, 80)), indexing='ij')
    t1 = (300 + 200*((i//5 + j//5 + k//5) % 2) + 40*rng.random((40, 60, 80))).astype(np.float32)   # a 5 mm checkerboard
    aff2 = np.diag([1.5, 0.8, 2.0, 1.]); aff2[:3, 3] = (8., 15., 20.)                               # starts inside the T1
    t2 = (500 + 300*rng.random((20, 40, 22))).astype(np.float32)
    paths = dest/'part_t1.nii.gz', dest/'part_t2.nii.gz'
    for data, aff, path in ((t1, np.eye(4), paths[0]), (t2, aff2, paths[1])):
        img = nib.Nifti1Image(data, aff); img.set_qform(aff, code=1); img.set_sform(aff, code=1); nib.save(img, path)   # scanner space, as dcm2niix writes
    return paths

def lab_settings(settings:Path):
    "User settings that stop JupyterLab from asking about news and updates (a popup would cover the widget)"
    d = settings/'@jupyterlab'/'apputils-extension'; d.mkdir(parents=True, exist_ok=True)
    (d/'notification.jupyterlab-settings').write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))

def start_lab(work:Path, port:int, token:str, log)->subprocess.Popen:
    "JupyterLab on 127.0.0.1:`port`, rooted at `work`, with its own config, runtime, settings and workspaces"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work/'.config'), JUPYTER_RUNTIME_DIR=str(work/'.runtime'),
               PYTHONUNBUFFERED='1')
    lab_settings(work/'.settings')
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={work}', '--ServerApp.port_retries=0',
           '--LabApp.expose_app_in_browser=True', '--LabApp.news_url=None',
           '--LabApp.extension_manager=readonly', '--ServerApp.terminals_enabled=False',
           f'--LabApp.user_settings_dir={work/".settings"}', f'--LabApp.workspaces_dir={work/".workspaces"}']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')   # containers and CI run as root
    return subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

def wait_lab(port:int, token:str, proc:subprocess.Popen, timeout:float):
    "Wait until the server answers /api/status"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f"jupyter lab exited with code {proc.returncode}; see its log")
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2) as r:
                if r.status == 200: return time.time() - t0
        except OSError: time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer on port {port} within {timeout:.0f} s")

def stop_lab(proc:subprocess.Popen, port:int, token:str):
    "Ask the server to shut down (it stops its kernels), then make sure its process group is gone"
    try: urllib.request.urlopen(urllib.request.Request(f'http://127.0.0.1:{port}/api/shutdown',
                                method='POST', headers={'Authorization': f'token {token}'}), timeout=5)
    except OSError: pass
    try: proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(10)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)

RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget;
  await nb.context.ready; await nb.sessionContext.ready;
  await app.commands.execute('notebook:run-all-cells');
  return nb.sessionContext.session.kernel.name;
}"""

def image_state(page, k:int=0)->dict:
    "src, pixel size and shown size of the `k`-th viewer's image, and its slice slider's readout and position"
    return page.evaluate("""(k) => {
      const out = [...document.querySelectorAll('.jp-OutputArea-output')].filter(o => o.querySelector('img.widget-image'))[k];
      const img = out ? out.querySelector('img.widget-image') : null;
      const sl = out ? [...out.querySelectorAll('.widget-slider')].find(s => s.querySelector('.widget-label')?.textContent.trim() === 'slice') : null;
      const r = img ? img.getBoundingClientRect() : null, s = sl ? sl.getBoundingClientRect() : null;
      return {src: img ? img.src : null, w: img ? img.naturalWidth : 0, h: img ? img.naturalHeight : 0,
              shown_w: r ? r.width : 0, shown_h: r ? r.height : 0, complete: img ? img.complete : false,
              slider_top: s ? s.top : null, img_bottom: r ? r.bottom : null,
              readout: sl ? sl.querySelector('.widget-readout')?.textContent.trim() : null};
    }""", k)

def fits(st:dict, viewport_h:int)->dict:
    "Is the image shown pixel for pixel, and are the slider and the whole picture in one screenful?"
    return {'shown at its own size': abs(st['shown_w'] - st['w']) <= 1 and abs(st['shown_h'] - st['h']) <= 1,
            'slider and picture on one screen': st['img_bottom'] - st['slider_top'] <= viewport_h}

def wait_stable(page, cond, timeout:float, settle:float=1.5, k:int=0)->dict:
    "Wait until `cond(state)` holds and the `k`-th image has not changed for `settle` seconds"
    t0, last, since = time.time(), None, time.time()
    while time.time() - t0 < timeout:
        st = image_state(page, k)
        if st != last: last, since = st, time.time()
        if cond(st) and st['complete'] and st['w'] > 0 and time.time() - since >= settle: return st
        page.wait_for_timeout(200)
    raise TimeoutError(f"the viewer did not reach the expected state within {timeout:.0f} s; last state {last}")

KERNEL_EXEC = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const f = k.requestExecute({code, store_history: false, silent: false});
  let out = '';
  f.onIOPub = (m) => { if (m.header.msg_type === 'stream') out += m.content.text;
                       if (m.header.msg_type === 'error') out += 'ERROR ' + m.content.ename + ': ' + m.content.evalue; };
  await f.done;
  return out;
}"""

VV_PROBE = """import json as _j
from spine_osteo.volume import index_at as _ia, screen_extent as _se, union_extent as _ue, PLANES as _P
_v = VAR; _a = _P[_v.plane]; _u = _ue(_v.volumes, _v.plane, _v.radiological); _fh = _v.rgba().shape[0]
_bx = [[_b.x0, _fh - _b.y1, _b.x1, _fh - _b.y0] for _b in (_x.get_window_extent() for _x in _v._fig.axes[:len(_v.volumes)])]
_es = [_se(_w, _v.plane, _v.radiological) for _w in _v.volumes]
print('VV' + _j.dumps(dict(plane=_v.plane, point=[float(_x) for _x in _v.point], idx=_v.slice_indices,
      expected=[_ia(_w, _a, _v.point[_a]) for _w in _v.volumes], boxes=_bx, scale=_v._scale,
      exp=[[(_e[0]-_u[0])*_v._scale, (_u[3]-_e[3])*_v._scale, (_e[1]-_u[0])*_v._scale, (_u[3]-_e[2])*_v._scale] for _e in _es],
      mm=[[_e[1]-_e[0], _e[3]-_e[2]] for _e in _es], notes=[_n.get_visible() for _n in _v._notes], titles=_v.titles)))"""

def viewer_state(page, var:str)->dict:
    "The kernel's view of VolumeViewer `var`: plane, point (mm), slices shown and expected, panel boxes (PNG pixels), expected picture boxes"
    out = page.evaluate(KERNEL_EXEC, VV_PROBE.replace('VAR', var))
    line = next((l for l in out.splitlines() if l.startswith('VV')), None)
    if line is None: raise RuntimeError(f"probe of {var} failed: {out}")
    return json.loads(line[2:])

def lit_box(png:Path, box:list, thresh:int=8):
    "Pixel box (x0, y0, x1, y1), relative to `box`, of what is drawn (not black) inside `box` of a screenshot; None when nothing is"
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(png).convert('RGB')).astype(int)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    ys, xs = np.nonzero(a[y0:y1, x0:x1].max(-1) > thresh)
    return None if not len(xs) else (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)

def measure_viewer(page, out:Path, var:str, k:int, ok:dict, tag:str):
    "Issue 26 on what the browser shows: one point in every panel, one px/mm, each picture where its volume lies, a readout in mm"
    st = viewer_state(page, var)
    png = out/f'{var}_{tag}.png'
    page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).nth(k).locator('img.widget-image').screenshot(path=str(png))
    readout = page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).nth(k).locator('.widget-html').filter(has_text='mm (RAS)').first.inner_text()
    name = f"{var} {tag} ({st['plane']})"
    ok[f'{name}: every panel at the point'] = st['idx'] == st['expected']
    pt = [float(x) for x in __import__('re').findall(r'[xyz] = (-?[0-9.]+)', readout)]
    ok[f'{name}: readout in mm with both values'] = (len(pt) == 3 and max(abs(a - b) for a, b in zip(pt, st['point'])) < 0.06
                                                     and all(t in readout for t in st['titles']))
    rates, placed = [], []
    for i, (box, exp, mm) in enumerate(zip(st['boxes'], st['exp'], st['mm'])):
        if st['idx'][i] is None:
            ok[f"{name}: {st['titles'][i]} shown as outside"] = st['notes'][i]; continue
        lb = lit_box(png, box)
        if lb is None: ok[f"{name}: {st['titles'][i]} drawn"] = False; continue
        rates += [(lb[2] - lb[0])/mm[0], (lb[3] - lb[1])/mm[1]]
        placed.append(max(abs(a - b) for a, b in zip(lb, exp)))
    print(f"{name}: point {[round(x, 1) for x in st['point']]} mm, slices {st['idx']}; px/mm {[round(r, 2) for r in rates]}; "
          f"pictures off their position by at most {max(placed) if placed else 0:.1f} px; readout: {readout[:90]}")
    ok[f'{name}: one px/mm (within 2 %)'] = bool(rates) and (max(rates) - min(rates))/max(rates) < 0.02
    ok[f'{name}: each picture where its volume lies (within 1.5 px)'] = bool(placed) and max(placed) <= 1.5

INFO_TABLE = """(k) => {
  const out = [...document.querySelectorAll('.jp-OutputArea-output')].filter(o => o.querySelector('img.widget-image'))[k];
  const table = out ? [...out.querySelectorAll('.widget-html table')].find(t => t.textContent.includes('spacing')) : null;
  if (!table) return null;
  const text = (e) => { const r = document.createRange(); r.selectNodeContents(e); const b = r.getBoundingClientRect();
                        return b.width > 0 ? [b.left, b.right] : null; };
  return [...table.rows].map(row => [...row.cells].map(c => { const b = c.getBoundingClientRect();
    return {t: c.textContent.trim(), box: [b.left, b.right], text: text(c), over: c.scrollWidth > c.clientWidth + 1}; }));
}"""

def measure_info_table(page, k:int, name:str, ok:dict, min_gap:float=8.):
    "Issue 26.8b, on the DOM: the info table's columns never touch (cells and their text apart by `min_gap` px, no text overflowing)"
    rows = page.evaluate(INFO_TABLE, k)
    if not rows: print(f"{name}: no info table found"); ok[f'{name}: info table shown'] = False; return
    cell_gap = text_gap = float('inf'); worst = ''
    for row in rows:
        for a, b in zip(row, row[1:]):
            cell_gap = min(cell_gap, b['box'][0] - a['box'][1])
            if a['text'] and b['text'] and b['text'][0] - a['text'][1] < text_gap:
                text_gap, worst = b['text'][0] - a['text'][1], f"{a['t']!r} | {b['t']!r}"
    over = [c['t'] for row in rows for c in row if c['over']]
    head = [c['t'] for c in rows[0]]
    print(f"{name}: info table {len(rows)} rows x {len(rows[0])} columns {head}; cells at least {cell_gap:.1f} px apart, "
          f"text at least {text_gap:.1f} px apart (closest {worst}); overflowing cells {over}")
    ok[f'{name}: info table columns apart (cells and text >= {min_gap:.0f} px, none overflowing)'] = \
        'slice' in head and 'window' in head and cell_gap >= min_gap and text_gap >= min_gap and not over

def viewer_actions(page, out:Path, var:str, k:int, ok:dict, timeout:float):
    "Start, move the slider, switch planes, go to the slider's end: after every action, measure"
    loc = page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).nth(k)
    loc.scroll_into_view_if_needed()
    wait_stable(page, lambda s: s['src'] is not None, timeout, k=k); measure_viewer(page, out, var, k, ok, 'start')
    def act(f, tag):
        before = image_state(page, k)['src']; f()
        wait_stable(page, lambda s: s['src'] != before, timeout, k=k); measure_viewer(page, out, var, k, ok, tag)
    handle = lambda: loc.locator('.widget-slider').filter(has=page.get_by_text('slice', exact=True)).locator('.noUi-handle').first
    def keys(key, n):
        h = handle(); h.focus()
        for _ in range(n): h.press(key); page.wait_for_timeout(50)
    act(lambda: keys('ArrowRight', 5), 'slider+5')
    for plane in ('coronal', 'axial', 'sagittal'):
        act(lambda: loc.locator('.widget-toggle-buttons').get_by_text(plane, exact=True).click(), plane)
    act(lambda: keys('End', 1), 'slider-end')

def differ(a:Path, b:Path)->float:
    "Fraction of pixels that differ between two PNGs (1.0 when their sizes differ)"
    import numpy as np
    from PIL import Image
    x, y = np.asarray(Image.open(a).convert('RGB')), np.asarray(Image.open(b).convert('RGB'))
    if x.shape != y.shape: return 1.0
    return float((x != y).any(-1).mean())

def check(out:Path, data:Path, chromium:str, timeout:float, steps:int=10)->bool:
    "Run the whole check; True when the screenshots before and after moving the slider differ"
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='spine_osteo_lab_'))
    port, token = free_port(), secrets.token_hex(16)
    write_notebook(work, data)
    log = open(out/'jupyter_lab.log', 'w')
    proc = start_lab(work, port, token, log)
    t0 = time.time()
    try:
        print(f"jupyter lab up in {wait_lab(port, token, proc, 60):.1f} s on port {port}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/lab/tree/viewer_check.ipynb?token={token}', timeout=timeout*1000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=timeout*1000)
            print(f"notebook open, kernel {page.evaluate(RUN_ALL)}; running the cell")
            st0 = wait_stable(page, lambda s: s['src'] is not None and s['readout'] not in (None, ''), timeout)
            widget = page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).first
            widget.scroll_into_view_if_needed()
            before, after = out/'viewer_before.png', out/'viewer_after.png'
            widget.screenshot(path=str(before)); page.screenshot(path=str(out/'page_before.png'))
            handle = page.locator('.widget-slider').filter(has=page.get_by_text('slice', exact=True)).locator('.noUi-handle').first
            handle.focus()
            for _ in range(steps): handle.press('ArrowRight'); page.wait_for_timeout(50)
            st1 = wait_stable(page, lambda s: s['readout'] != st0['readout'] and s['src'] != st0['src'], timeout)
            widget.screenshot(path=str(after)); page.screenshot(path=str(out/'page_after.png'))
            checks = {f'sct_spine pair: {k}': v for k, v in fits(st1, 1000).items()}
            print(f"sct_spine pair: PNG {st1['w']}x{st1['h']}, shown at {st1['shown_w']:.0f}x{st1['shown_h']:.0f}")
            thin = wait_stable(page, lambda s: s['src'] is not None, timeout, k=1)
            page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).nth(1).scroll_into_view_if_needed()
            thin = image_state(page, 1)
            page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).nth(1).screenshot(path=str(out/'viewer_thin_coronal.png'))
            print(f"11-slice stack, coronal: PNG {thin['w']}x{thin['h']}, shown at {thin['shown_w']:.0f}x{thin['shown_h']:.0f}")
            checks.update({f'11-slice coronal: {k}': v for k, v in fits(thin, 1000).items()})
            for var, k in (('r', 2), ('q', 3)):   # issue 26, on the sct_spine pair and on a T2 that covers part of its T1
                viewer_actions(page, out, var, k, checks, timeout)
            page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).nth(3).screenshot(path=str(out/'viewer_partial_pair.png'))
            for k, name in enumerate(('sct_spine pair', '11-slice stack', 'r', 'q')):   # issue 26.8b: 'slice' and 'window' ran together
                measure_info_table(page, k, name, checks)
            tab = page.locator('.jp-OutputArea-output').filter(has=page.locator('img.widget-image')).first.locator('.widget-html').filter(has=page.locator('table')).first
            tab.scroll_into_view_if_needed(); tab.screenshot(path=str(out/'viewer_info_table.png'))
            browser.close()
        frac = differ(before, after)
        print(f"slice readout {st0['readout']} -> {st1['readout']}; {frac:.1%} of the widget's pixels changed; "
              f"{time.time()-t0:.1f} s in all")
        print(f"screenshots: {before} {after} {out/'viewer_thin_coronal.png'}")
        checks['the slider redraws the picture'] = frac > 0 and st1['readout'] != st0['readout']
        for k, v in checks.items(): print(f"{'ok  ' if v else 'FAIL'} {k}")
        return all(checks.values())
    finally:
        stop_lab(proc, port, token); log.close()
        shutil.rmtree(work, ignore_errors=True)

def run_cli(check_fn, doc:str, prefix:str, ok_msg:str, argv=None):
    "The command line shared by the browser checks: parse, find the data and the browser, run `check_fn`, exit 0 or 1"
    ap = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    ap.add_argument('out', nargs='?', help='folder for the screenshots (default: a new temp folder)')
    ap.add_argument('--data', help='folder with t1w.nii.gz and t2.nii.gz (default: testdata/nifti/sct_spine)')
    ap.add_argument('--chromium', default='/usr/bin/chromium', help='Chromium executable')
    ap.add_argument('--timeout', type=float, default=240, help='seconds to wait for each step')
    a = ap.parse_args(argv)
    if not Path(a.chromium).exists(): sys.exit(f"{a.chromium}: no such browser; apt-get install -y chromium, or pass --chromium")
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix=prefix))
    ok = check_fn(out, find_data(a.data), a.chromium, a.timeout)
    print(ok_msg if ok else 'FAILED: see above')
    sys.exit(0 if ok else 1)

def main(argv=None): run_cli(check, __doc__, 'viewer_check_', 'OK: the viewer redraws in a real browser, pixel for pixel, with its controls on screen', argv)

if __name__ == '__main__': main()
