#!/usr/bin/env python
"""Documentation checks that can run without quarto (CI runs them; the site itself is built by GitHub's deploy workflow).

1. Every exported function and class (each module's `__all__`) has its own docstring and is indexed by
   `_modidx.py` with a link to its module page (nbdev shows every exported symbol on the page of its notebook); a
   name a room re-exports after it moved is indexed on the page of the room that defines it.
2. `nbs/sidebar.yml` lists every notebook in `nbs/`, and lists no notebook that does not exist.
3. No notebook carries more than 1 MB of outputs.
"""
import importlib, inspect, json, sys
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS, LIB = ROOT/'nbs', 'spine_osteo'
MAX_OUT = 1_000_000

def own_doc(o):
    "The docstring `o` defines itself (a class does not inherit its parent's here)"
    d = o.__dict__.get('__doc__') if inspect.isclass(o) else getattr(o, '__doc__', None)
    return (d or '').strip()

def check_docstrings(errs):
    modidx = importlib.import_module(f'{LIB}._modidx').d['syms']
    for py in sorted((ROOT/LIB).glob('*.py')):
        if py.name.startswith('_'): continue
        modname = f'{LIB}.{py.stem}'
        mod = importlib.import_module(modname)
        idx = modidx.get(modname, {})
        for name in getattr(mod, '__all__', []):
            o = getattr(mod, name, None)
            if not (inspect.isfunction(o) or inspect.isclass(o) or hasattr(o, '__wrapped__')): continue
            if not own_doc(o): errs.append(f"{modname}.{name}: no docstring. Fix: add a one-line docstring in the notebook that exports {py.name}.")
            home = getattr(o, '__module__', modname) or modname
            if home != modname and home.startswith(f'{LIB}.'):   # a moved name kept importable from its old room: documented on its new room's page
                if f'{home}.{name}' not in modidx.get(home, {}): errs.append(f"{modname}.{name}: re-exported from {home}, which does not index it. Fix: run `nbdev-export`.")
            elif f'{modname}.{name}' not in idx: errs.append(f"{modname}.{name}: not in _modidx.py, so it has no entry on its module page. Fix: run `nbdev-export`.")

def check_sidebar(errs):
    sb = yaml.safe_load((NBS/'sidebar.yml').read_text())
    listed = set()
    def walk(items):
        for it in items:
            if isinstance(it, str): listed.add(it)
            elif isinstance(it, dict):
                if 'href' in it: listed.add(it['href'])
                walk(it.get('contents') or [])
    walk(sb['website']['sidebar']['contents'])
    nbs = {p.relative_to(NBS).as_posix() for p in NBS.rglob('*.ipynb') if not any(part.startswith(('_', '.')) for part in p.relative_to(NBS).parts)}
    for n in sorted(nbs - listed): errs.append(f"nbs/{n}: missing from nbs/sidebar.yml. Fix: add it to the right section.")
    for n in sorted(listed - nbs): errs.append(f"nbs/sidebar.yml lists {n}, which does not exist. Fix: remove or rename the entry.")

def check_output_size(errs):
    for p in sorted(NBS.rglob('*.ipynb')):
        nb = json.loads(p.read_text())
        size = sum(len(json.dumps(c.get('outputs', []))) for c in nb['cells'])
        if size > MAX_OUT: errs.append(f"{p.relative_to(ROOT)}: {size/1e6:.2f} MB of outputs (limit 1 MB). Fix: shrink or clear the large outputs.")

def main():
    errs = []
    for chk in (check_docstrings, check_sidebar, check_output_size): chk(errs)
    if errs:
        print("Documentation check failed:\n  " + "\n  ".join(errs), file=sys.stderr); sys.exit(1)
    print("Documentation check passed: docstrings, sidebar and output sizes.")

if __name__ == '__main__': main()
