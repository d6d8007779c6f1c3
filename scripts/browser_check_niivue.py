#!/usr/bin/env python
"""Real-browser check of `spine_osteo.niivue.NiiVueViewer` (issue 16): NiiVue (WebGL2) in JupyterLab in Chromium.

Starts JupyterLab headless on localhost (as `browser_check_viewer.py` does), opens a notebook that shows a
`NiiVueViewer` of the shipped `testdata/nifti/sct_spine` T1/T2 pair with a Grad-CAM-like heatmap on the T1, runs it in
headless Chromium with a software WebGL (SwiftShader through ANGLE: no GPU needed), then checks, and exits non-zero
unless all hold:

1. both volumes are drawn: each canvas has a sizeable share of non-black pixels, and the kernel knows both are loaded;
2. the overlay is visible: the T1 canvas has heat colours (blue/cyan/green/yellow), the T2 canvas (no overlay) has none;
3. both canvases start at one world point (issue 26.2), and one click in the T1 canvas moves the crosshair in both
   canvases: the kernel's crosshair positions change in both, they map to one world point (within 1.5 mm), both
   canvases' pixels change, and the readout under the canvases gives that point in mm (RAS) and both volumes' values
   (issue 26.7);
4. the orientation letters and the heatmap's colour scale lie outside every canvas (page layout);
5. issue 26, measured on the canvases' pixels, on the `sct_spine` pair and on a synthetic pair whose T2 covers only part
   of its T1 at another size and spacing (each in its own notebook): after clicking each plane button, the red crosshair
   is drawn at the same pixel in both canvases (within 2 px) at two world points 6 mm apart, which gives each canvas's
   pixels per millimetre (equal within 4 %, across canvases and axes); and a click low in the partial pair's T1, where
   its T2 does not reach, makes the readout show the T2 as outside;
6. issue 26.8a, measured on the canvases' pixels, on both pairs: after clicking 'multiplanar' (and, for the measurement
   only and in both canvases alike, tiles padded 10 px apart, a 1 mm crosshair and every voxel lit, so that each tile
   draws its volume's whole box) the T1 and T2 canvases draw one tile grid (as many rows, as many tiles in each), the
   crosshair is in the same tiles, and every slice tile of both canvases draws one world frame: in each tile and screen
   axis, one map from mm to pixels puts the T1's and the T2's drawn boxes (each its own volume's world box) where they are
   drawn (within 2 px; the union of the volumes then lies on the same pixels in both canvases), at one px/mm in every tile
   (within 4 %), and the crosshair at two world points 6 mm apart on every axis is drawn at the same pixel in both
   canvases and where that frame puts it (within 2 px). (The drawn boxes themselves differ where the volumes cover
   different parts of the body, as the partial pair's do: each is shown on its own grid where it lies.) The 3-D render
   tile is counted in the grid, not measured: it is each volume seen from outside, centred on itself;
7. the browser console shows no error.

    python scripts/browser_check_niivue.py [OUT_DIR] [--data DIR] [--chromium /usr/bin/chromium] [--timeout 240]

Writes `OUT_DIR/niivue_before.png`, `OUT_DIR/niivue_after.png` (the widget), `OUT_DIR/page_*.png` (the page),
`OUT_DIR/measure_*.png` (the measured viewers and each canvas at each point, `measure_*_multiplanar*.png` in multiplanar view:
the widget as a user sees it, then each canvas as measured at each point) and
`OUT_DIR/console.log`. Needs the `dev` extra (`jupyterlab`, `playwright`), `ipyniivue` (which brings `anywidget` and
its JupyterLab extension) and Debian's Chromium (`apt-get install -y chromium`).
"""
from __future__ import annotations
import json, secrets, shutil, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check_viewer import free_port, start_lab, wait_lab, stop_lab, RUN_ALL, KERNEL_EXEC, differ, run_cli, write_partial_pair   # the same JupyterLab harness

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
    part = write_partial_pair(dest)
    cell = lambda src, id_: {"cell_type": "code", "execution_count": None, "id": id_, "metadata": {}, "outputs": [], "source": src}
    nb = {"cells": [cell(src, "niivue")],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    for name, pair, titles in (('measure_real', (f'{data}/t1w.nii.gz', f'{data}/t2.nii.gz'), ['T1w', 'T2']),
                               ('measure_part', tuple(map(str, part)), ['T1', 'T2 part'])):   # one viewer per page: each its own kernel
        m = (f"from spine_osteo.niivue import NiiVueViewer\nm = NiiVueViewer('{pair[0]}', '{pair[1]}', titles={titles}, height=380)\nm")
        (dest/f'{name}.ipynb').write_text(json.dumps(dict(nb, cells=[cell(m, name)])))
    p = dest/'niivue_check.ipynb'; p.write_text(json.dumps(nb)); return p

PROBE = """import json as _j
def _st(c, v):
    vol = c.volumes[0]
    loaded = vol.frac2mm is not None and vol.dims is not None
    return dict(attached=bool(c._canvas_attached), loaded=bool(loaded), pos=list(c.scene.crosshair_pos),
                mm=[float(x) for x in c.frac2mm(c.scene.crosshair_pos)[:3]] if loaded else None, readout=v.readout.value)
print('PROBE' + _j.dumps([_st(c, VAR) for c in VAR.canvases]))"""

def probe(page, var:str='v')->list:
    "The kernel's view of each canvas of viewer `var`: attached, loaded, crosshair (fraction) and its world position (mm)"
    out = page.evaluate(KERNEL_EXEC, PROBE.replace('VAR', var))
    line = next((l for l in out.splitlines() if l.startswith('PROBE')), None)
    if line is None: raise RuntimeError(f"probe failed: {out}")
    return json.loads(line[5:])

def wait_for(page, cond, timeout:float, what:str, var:str='v'):
    "Poll `probe` until `cond(state)` holds"
    t0, st = time.time(), None
    while time.time() - t0 < timeout:
        try: st = probe(page, var)
        except RuntimeError as e: st = str(e)[:200]; page.wait_for_timeout(500); continue   # the cell has not run yet
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

def crosshair_px(png:Path, box=None)->tuple:
    "(x, y): where the red crosshair's vertical and horizontal lines are drawn in a canvas screenshot (pixels; relative to `box` when given)"
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(png).convert('RGB')).astype(int)
    if box is not None: a = a[box[1]:box[3], box[0]:box[2]]
    red = (a[..., 0] > 170) & (a[..., 1] < 110) & (a[..., 2] < 110)
    def line(counts):
        if counts.max() < 20: return None
        idx = np.flatnonzero(counts >= 0.5*counts.max()); return float((idx*counts[idx]).sum()/counts[idx].sum())
    return line(red.sum(0)), line(red.sum(1))

def set_point(page, name:str, point)->None:
    "Move every canvas of viewer `name` to one world point (mm), as the kernel does for a linked crosshair"
    code = (f"import numpy as _np\n_m = {name}; _m.point = _np.array({[float(x) for x in point]}, float)\n"
            "for _c, _v in zip(_m.canvases, _m.volumes): _c.scene.crosshair_pos = _m._frac_of(_v, _m.point)\n"
            "_m.readout.value = _m.readout_text(_m.point)\nprint('SET')")
    out = page.evaluate(KERNEL_EXEC, code)
    if 'SET' not in out: raise RuntimeError(f"could not move the point: {out}")

def kernel_json(page, expr:str):
    "The value of a Python expression in the notebook's kernel (JSON)"
    out = page.evaluate(KERNEL_EXEC, f"import json as _j\nprint('JSON' + _j.dumps({expr}))")
    line = next((l for l in out.splitlines() if l.startswith('JSON')), None)
    if line is None: raise RuntimeError(f"kernel said: {out}")
    return json.loads(line[4:])

AXES = {'sagittal': (2, 1), 'coronal': (2, 0), 'axial': (1, 0)}   # (RAS axis up the screen, across it), as volume.slice_axes

def measure_viewer(page, out:Path, name:str, ok:dict, step:float=6., k:int=0):
    "Issue 26: in every plane, after clicking its button, both canvases show one point at one place and one px/mm"
    canv = page.locator('.jp-OutputArea-output canvas')
    p0 = kernel_json(page, "[float(x) for x in m.point]")
    for plane in ('sagittal', 'coronal', 'axial'):
        page.locator('.widget-toggle-buttons').nth(k).get_by_text(plane, exact=True).click()
        page.wait_for_timeout(1500)
        set_point(page, 'm', p0); page.wait_for_timeout(1500)
        shots0 = [out/f'{name}_{plane}_c{i}_p0.png' for i in range(2)]
        for i, f in enumerate(shots0): canv.nth(i).screenshot(path=str(f))
        h, w = AXES[plane]; p1 = list(p0); p1[h] += step; p1[w] += step
        set_point(page, 'm', p1); page.wait_for_timeout(1500)
        shots1 = [out/f'{name}_{plane}_c{i}_p1.png' for i in range(2)]
        for i, f in enumerate(shots1): canv.nth(i).screenshot(path=str(f))
        xy0, xy1 = [crosshair_px(f) for f in shots0], [crosshair_px(f) for f in shots1]
        world = kernel_json(page, "[[float(x) for x in c.frac2mm(c.scene.crosshair_pos)[:3]] for c in m.canvases]")
        if any(None in xy for xy in xy0 + xy1):
            print(f"{name} {plane}: crosshair not found: {xy0} {xy1}"); ok[f'{name} {plane}: crosshair drawn'] = False; continue
        pxmm = [(abs(b[0] - a[0])/step, abs(b[1] - a[1])/step) for a, b in zip(xy0, xy1)]
        same = max(abs(xy0[0][0] - xy0[1][0]), abs(xy0[0][1] - xy0[1][1]), abs(xy1[0][0] - xy1[1][0]), abs(xy1[0][1] - xy1[1][1]))
        dw = sum((a - b)**2 for a, b in zip(*world))**0.5
        print(f"{name} {plane}: crosshair at {[tuple(round(v) for v in xy) for xy in xy0]} px, then {[tuple(round(v) for v in xy) for xy in xy1]}; "
              f"px/mm {[tuple(round(v, 2) for v in q) for q in pxmm]}; world points {dw:.2f} mm apart")
        ok[f'{name} {plane}: one world point in both canvases'] = dw < 1.5
        ok[f'{name} {plane}: drawn at the same place (within 2 px)'] = same <= 2
        ok[f'{name} {plane}: one px/mm (within 4 %)'] = all(min(q) > 0.5 for q in pxmm) and \
            max(abs(pxmm[0][d] - pxmm[1][d])/pxmm[0][d] for d in range(2)) < 0.04 and abs(pxmm[0][0] - pxmm[0][1])/pxmm[0][0] < 0.04
    set_point(page, 'm', p0)
    page.locator('.widget-toggle-buttons').nth(k).get_by_text('sagittal', exact=True).click(); page.wait_for_timeout(1000)

def tiles(png:Path, min_share:float=0.004)->list:
    "Bounding boxes (x0, y0, x1, y1), row by row, of the drawn tiles of a multiplanar canvas screenshot (tiles padded apart)"
    import numpy as np
    from PIL import Image
    from scipy import ndimage
    a = np.asarray(Image.open(png).convert('RGB')).astype(int)
    lit = ndimage.binary_closing(a.max(-1) > 30, structure=np.ones((5, 5)))   # dark voxels are see-through: bridge them
    lab, n = ndimage.label(lit)
    boxes = [[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in ndimage.find_objects(lab)]
    merged = True
    while merged:                                   # pieces of one tile (a 3D render's gaps): join overlapping boxes
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                p, q = boxes[i], boxes[j]
                if p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]:
                    boxes[i] = [min(p[0], q[0]), min(p[1], q[1]), max(p[2], q[2]), max(p[3], q[3])]; del boxes[j]; merged = True; break
            if merged: break
    boxes = [tuple(b) for b in boxes if (b[2] - b[0])*(b[3] - b[1]) >= min_share*lit.size]
    rows = []                                       # tiles whose vertical spans overlap share a row
    for b in sorted(boxes, key=lambda b: b[1]):
        r = next((r for r in rows if b[1] < max(x[3] for x in r) and min(x[1] for x in r) < b[3]), None)
        (r.append(b) if r is not None else rows.append([b]))
    return [sorted(r) for r in rows]

def red_in(png:Path, box)->int:
    "Red crosshair pixels inside `box` of a screenshot"
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(png).convert('RGB')).astype(int)[box[1]:box[3], box[0]:box[2]]
    return int(((a[..., 0] > 170) & (a[..., 1] < 110) & (a[..., 2] < 110)).sum())

MP_TILES = ('coronal', 'sagittal', 'axial')   # NiiVue's GRID layout, row by row: coronal, sagittal; axial, then the 3-D render

# for the measurement only, in both canvases alike: tiles padded 10 px apart (touching tiles cannot be told apart on the
# pixels), a 1 mm crosshair (0.3 mm is under a pixel at this scale) and every voxel lit (a window from min - range to max),
# so that what a tile draws is its volume's whole box
MP_PAD = "for _c in m.canvases: _c.opts.multiplanar_pad_pixels = 10\nprint('PAD')"
MP_MEASURE = """_mw = []
for _c, _v in zip(m.canvases, m.volumes):
    _l = _c.volumes[0]; _lo, _hi = float(_v.data.min()), float(_v.data.max()); _mw.append((_l.cal_min, _l.cal_max, _c.opts.crosshair_width))
    _c.opts.crosshair_width = 1.; _l.cal_min = _lo - (_hi - _lo); _l.cal_max = _hi
print('MEASURE')"""
MP_RESTORE = """for _c, (_a, _b, _w) in zip(m.canvases, _mw):
    _c.opts.multiplanar_pad_pixels = 0; _c.opts.crosshair_width = _w; _c.volumes[0].cal_min = _a; _c.volumes[0].cal_max = _b
print('RESTORED')"""
# each volume's world box (its voxels' centres +- half a voxel, worked out here from its grid, not asked of the viewer) and
# the letters at each tile's edges, which say which way +x, +y, +z run on the screen
MP_GEOM = """import numpy as _np, spine_osteo.volume as _V
_geom = {'boxes': [[[float(x) for x in _o - _s/2], [float(x) for x in _o + (_np.asarray(_v.shape) - .5)*_s]]
                   for _v in m.volumes for _o, _s in [_V.voxel_grid(_v)]],
         'letters': {_p: _V.orientation_labels(_p, m.radiological) for _p in ('coronal', 'sagittal', 'axial')}}
print('GEOM')"""

def one_frame(edges:list)->tuple:
    "The least-squares map px = a + b*mm through (mm, px) pairs, and its largest miss in pixels"
    import numpy as np
    mm, px = np.array(edges, float).T
    b, a = np.polyfit(mm, px, 1)
    return a, b, float(np.abs(a + b*mm - px).max())

def measure_multiplanar(page, out:Path, name:str, ok:dict, k:int=0, tol:float=2., step:float=6.):
    "Issue 26.8a, on the pixels: in multiplanar view the T1 and T2 canvases draw one tile grid, and every slice tile of both one world frame"
    canv = page.locator('.jp-OutputArea-output canvas')
    page.locator('.widget-toggle-buttons').nth(k).get_by_text('multiplanar', exact=True).click()
    page.wait_for_timeout(2500)
    page.locator('.jp-OutputArea-output').filter(has=page.locator('canvas')).first.screenshot(path=str(out/f'{name}_multiplanar.png'))
    for code, said in ((MP_PAD, 'PAD'), (MP_GEOM, 'GEOM')):
        run = page.evaluate(KERNEL_EXEC, code)
        if said not in run: raise RuntimeError(f"could not prepare the measurement: {run}")
    page.wait_for_timeout(2000)
    shots = [out/f'{name}_multiplanar_c{i}.png' for i in range(2)]   # as drawn, only padded
    for i, f in enumerate(shots): canv.nth(i).screenshot(path=str(f))
    grids = [tiles(f) for f in shots]
    shape = [[len(r) for r in g] for g in grids]
    flat = [[b for r in g for b in r] for g in grids]
    hair = [[red_in(f, b) > 20 for b in bs] for f, bs in zip(shots, flat)]
    print(f"{name} multiplanar: tiles per row T1 {shape[0]}, T2 {shape[1]}; tile boxes T1 {flat[0]}, T2 {flat[1]} px; "
          f"crosshair in tiles T1 {hair[0]}, T2 {hair[1]}")
    ok[f'{name} multiplanar: one tile grid (rows x tiles)'] = shape[0] == shape[1] and sum(shape[0]) >= 3
    ok[f'{name} multiplanar: crosshair in the same tiles'] = shape[0] == shape[1] and hair[0] == hair[1] and sum(hair[0]) >= 3
    run = page.evaluate(KERNEL_EXEC, MP_MEASURE)
    if 'MEASURE' not in run: raise RuntimeError(f"could not prepare the measurement: {run}")
    geom = kernel_json(page, '_geom')
    p0 = kernel_json(page, "[float(x) for x in m.point]"); p1 = [x + step for x in p0]
    shots = {}
    for tag, p in (('p0', p0), ('p1', p1)):
        set_point(page, 'm', p); page.wait_for_timeout(2000)
        shots[tag] = [out/f'{name}_multiplanar_c{i}_{tag}.png' for i in range(2)]
        for i, f in enumerate(shots[tag]): canv.nth(i).screenshot(path=str(f))
    grids = [tiles(f) for f in shots['p0']]                        # every voxel lit: each slice tile's box is its volume's box
    flat = [[b for r in g for b in r] for g in grids]
    print(f"{name} multiplanar, every voxel lit: drawn boxes T1 {flat[0]}, T2 {flat[1]} px")
    # one frame: per slice tile and screen axis, ONE map px = a + b*mm must put both canvases' drawn boxes (each its own
    # volume's world box, edge to edge) where they are drawn; the union of the volumes then falls on the same pixels in both
    lo, hi = [[min(b[0][a] for b in geom['boxes']) for a in range(3)], [max(b[1][a] for b in geom['boxes']) for a in range(3)]]
    miss, scales, unions, hair_off, hair_same = 0., [], {}, 0., 0.
    for t, plane in enumerate(MP_TILES):
        if min(len(bs) for bs in flat) <= t: miss = float('inf'); break
        h, w = AXES[plane]; L = geom['letters'][plane]
        maps = []
        for ax, (e0, e1), neg in ((w, (0, 2), L['left'] in 'RAS'), (h, (1, 3), L['top'] in 'RAS')):   # +x, +y, +z: R, A, S
            edges = []                                       # (world mm, pixel) of the drawn box's two edges, in each canvas
            for bs, box in zip(flat, geom['boxes']):
                near, far = (box[1][ax], box[0][ax]) if neg else (box[0][ax], box[1][ax])   # the edge drawn first (left, top)
                edges += [(near, bs[t][e0]), (far, bs[t][e1])]
            a, b, err = one_frame(edges)
            per = [abs(bs[t][e1] - bs[t][e0])/(box[1][ax] - box[0][ax]) for bs, box in zip(flat, geom['boxes'])]
            miss = max(miss, err); scales += per; maps.append((a, b))
            unions.setdefault(plane, []).append(sorted((round(float(a + b*lo[ax]), 1), round(float(a + b*hi[ax]), 1))))
        for tag, p in (('p0', p0), ('p1', p1)):           # the crosshair: the same pixel in both canvases, where the frame puts it
            xy = [crosshair_px(f, bs[t]) for f, bs in zip(shots[tag], flat)]
            if any(v is None for q in xy for v in q): hair_off = float('inf'); print(f"{name} multiplanar {plane} {tag}: crosshair not found {xy}"); continue
            xy = [(q[0] + bs[t][0] + .5, q[1] + bs[t][1] + .5) for q, bs in zip(xy, flat)]   # a pixel's centre, as the box edges are its sides
            want = (maps[0][0] + maps[0][1]*p[w], maps[1][0] + maps[1][1]*p[h])
            hair_same = max(hair_same, abs(xy[0][0] - xy[1][0]), abs(xy[0][1] - xy[1][1]))
            hair_off = max(hair_off, *(abs(q[d] - want[d]) for q in xy for d in range(2)))
            print(f"{name} multiplanar {plane} {tag}: crosshair T1 ({xy[0][0]:.1f}, {xy[0][1]:.1f}), T2 ({xy[1][0]:.1f}, {xy[1][1]:.1f}) px; "
                  f"the frame puts it at ({want[0]:.1f}, {want[1]:.1f})")
    spread = (max(scales)/min(scales) - 1) if scales and min(scales) > 0 else float('inf')
    print(f"{name} multiplanar: one frame per slice tile misses the drawn boxes by at most {miss:.1f} px; px/mm of every drawn box "
          f"{[round(v, 2) for v in scales]} (spread {spread:.1%}); the union of the volumes at x, y {unions} px; "
          f"crosshair: T1 and T2 at most {hair_same:.1f} px apart, at most {hair_off:.1f} px from where the frame puts it")
    ok[f'{name} multiplanar: tiles at the same pixels (one frame within {tol:.0f} px)'] = miss <= tol
    ok[f'{name} multiplanar: one px/mm in every tile (within 4 %)'] = spread < 0.04
    ok[f'{name} multiplanar: crosshair at the same pixel (within {tol:.0f} px)'] = hair_same <= tol and hair_off <= tol
    run = page.evaluate(KERNEL_EXEC, MP_RESTORE)
    if 'RESTORED' not in run: raise RuntimeError(f"could not restore the viewer: {run}")
    set_point(page, 'm', p0)
    page.locator('.widget-toggle-buttons').nth(k).get_by_text('sagittal', exact=True).click(); page.wait_for_timeout(1000)

LAYOUT = """() => {
  const rect = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const canv = [...document.querySelectorAll('.jp-OutputArea-output canvas')].map(rect);
  const letters = [...document.querySelectorAll('.widget-html')].filter(e => /^[APSIRL]$/.test(e.textContent.trim())).map(rect);
  const bars = [...document.querySelectorAll('.widget-html span')].filter(e => (e.getAttribute('style') || '').includes('linear-gradient')).map(rect);
  return {canv, letters, bars};
}"""

def overlaps(a, b)->bool: return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

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
            d0 = sum((a - b)**2 for a, b in zip(st0[0]['mm'], st0[1]['mm']))**0.5
            print(f"crosshairs before any click: world points {d0:.2f} mm apart (issue 26.2: they were 9.9 mm apart)")
            ok['one point at start'] = d0 < 1.5
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
            import re as _re
            ro = _re.sub('<[^>]+>', '', st1[0]['readout'])
            mm = [float(m[1]) for m in _re.findall(r'([xyz]) = (-?[0-9.]+)', ro)]
            ok['value readout'] = 'T1w' in ro and 'T2' in ro and 'mm (RAS)' in ro   # issue 26.7: where in mm, and both volumes' values
            ok['readout at the crosshair (mm)'] = len(mm) == 3 and max(abs(a - b) for a, b in zip(mm, st1[0]['mm'])) < 0.06
            d1, d2 = differ(out/'canvas0_before.png', out/'canvas0_after.png'), differ(out/'canvas1_before.png', out/'canvas1_after.png')
            print(f"pixels changed by the click: T1 canvas {d1:.1%}, T2 canvas {d2:.1%}")
            ok['both canvases redrawn'] = d1 > 0.001 and d2 > 0.001
            lay = page.evaluate(LAYOUT)
            print(f"{len(lay['letters'])} orientation letters, {len(lay['bars'])} colour scale(s), {len(lay['canv'])} canvases on the page")
            ok['letters outside every canvas'] = len(lay['letters']) == 8 and not any(overlaps(l, c) for l in lay['letters'] for c in lay['canv'])
            ok['colour scale outside every canvas'] = len(lay['bars']) == 1 and not any(overlaps(b, c) for b in lay['bars'] for c in lay['canv'])
            for name in ('measure_real', 'measure_part'):   # issue 26: what the canvases draw, in every plane, on two pairs
                try: page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")   # free the last page's WebGL canvases
                except Exception: pass
                page.goto(f'http://127.0.0.1:{port}/lab/tree/{name}.ipynb?reset&token={token}', timeout=timeout*1000)
                page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                       " && window.jupyterapp.shell.currentWidget.sessionContext"
                                       f" && window.jupyterapp.shell.currentWidget.title.label === '{name}.ipynb'", timeout=timeout*1000)
                page.evaluate(RUN_ALL)
                wait_for(page, lambda s: len(s) == 2 and all(c['attached'] and c['loaded'] for c in s), timeout, f'{name}: loading both volumes', var='m')
                page.wait_for_timeout(2000)
                page.locator('.jp-OutputArea-output').filter(has=page.locator('canvas')).first.scroll_into_view_if_needed()
                measure_viewer(page, out, name, ok)
                measure_multiplanar(page, out, name, ok)
                page.locator('.jp-OutputArea-output').filter(has=page.locator('canvas')).first.screenshot(path=str(out/f'{name}.png'))
            # the partial pair: a click low in the T1, where the T2 does not reach, shows the T2 as outside
            c0 = page.locator('.jp-OutputArea-output canvas').nth(0); b0 = c0.bounding_box()
            page.mouse.click(b0['x'] + 0.5*b0['width'], b0['y'] + 0.93*b0['height']); page.wait_for_timeout(2000)
            ro = kernel_json(page, "m.readout.value")
            print(f"partial pair, a click low in the T1: {ro}")
            ok['partial pair: outside T2 coverage shown'] = 'T2 part</b> outside' in ro
            page.locator('.jp-OutputArea-output').filter(has=page.locator('canvas')).first.screenshot(path=str(out/'measure_part_outside.png'))
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
    return all(ok.values()) and len(ok) == 40

def main(argv=None): run_cli(check, __doc__, 'niivue_check_', 'OK: NiiVue draws, overlays and links the crosshair in a real browser', argv)

if __name__ == '__main__': main()
