#!/usr/bin/env python
"""The house rules that code can check, read from the code itself (CI runs this; `--graph` prints the import graph).

1. Every import of one of our rooms by another runs downhill: the imported room's notebook has a lower number
   (`nbs/NN_name.ipynb` exports `spine_osteo/name.py`), imports inside function bodies included; a lettered notebook sits just
   above its number: 05 < 05a < 05b < 06. The one exception
   is a module-level `__getattr__` (PEP 562) that keeps a moved name importable from its old room.
2. No production room imports the demo-data generators (`synth`, and the `phantom` it draws with) or a test room
   (`test_*`); the demo in `cli` is the one room that may (it writes the demo's synthetic cohort), and a leaf may
   import a lower leaf.
3. No room imports another room's private name (`from .x import _y`).
4. No module of ours is over 700 lines (the generated `_modidx.py` aside).
"""
import ast, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB, NBS = ROOT/'spine_osteo', ROOT/'nbs'
MAX_LINES = 700
LEAVES = {'synth', 'phantom'}           # demo data: imported by tests, the demo and benchmarks only
MAY_IMPORT_LEAVES = {'cli'}         # the demo lives in cli

def rooms()->dict:
    "module name -> (notebook number, notebook file) for every notebook with `#| default_exp`"
    out = {}
    for nb in sorted(NBS.glob('*.ipynb')):
        m = re.match(r'(\d+)([a-z]?)', nb.name)   # 05 < 05a < 05b < 06: a lettered room sits just above its number
        if not m: continue
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            d = re.search(r'^#\|\s*default_exp\s+(\S+)', src, re.M)
            if c['cell_type'] == 'code' and d: out[d.group(1)] = ((int(m.group(1)), m.group(2)), nb.name); break
    return out

def imports(py:Path)->list:
    "(line, room, names) for each import of one of our rooms in `py`, except inside a module-level `__getattr__`"
    out, tree = [], ast.parse(py.read_text())
    compat = {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == '__getattr__' for n in ast.walk(f)}
    for node in ast.walk(tree):
        if id(node) in compat: continue
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1: room = mod.split('.')[0] if mod else None
            elif mod.startswith('spine_osteo.'): room = mod.split('.')[1]
            elif mod == 'spine_osteo': room = None
            else: continue
            if room is None:   # `from . import x` / `from spine_osteo import x`
                for a in node.names: out.append((node.lineno, a.name, []))
            else: out.append((node.lineno, room, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith('spine_osteo.'): out.append((node.lineno, a.name.split('.')[1], []))
    return out

def check()->tuple:
    rm, errs, graph = rooms(), [], {}
    for py in sorted(LIB.glob('*.py')):
        name = py.stem
        if name.startswith('_'): continue
        n = len(py.read_text().splitlines())
        if n > MAX_LINES: errs.append(f"spine_osteo/{py.name}: {n} lines (limit {MAX_LINES}). Fix: split the room by job in its notebook.")
        if name not in rm: errs.append(f"spine_osteo/{py.name}: no notebook exports it (`#| default_exp {name}`). Fix: delete it, or restore its notebook."); continue
        for line, room, names in imports(py):
            if room not in rm or room == name: continue
            graph.setdefault(name, set()).add(room)
            where = f"spine_osteo/{py.name}:{line}"
            if rm[room][0] >= rm[name][0]:
                errs.append(f"{where}: {name} ({rm[name][1]}) imports {room} ({rm[room][1]}), which is not below it. Fix: move the shared code down (to core), or renumber the notebooks.")
            if (room in LEAVES or room.startswith('test_')) and name not in MAY_IMPORT_LEAVES | LEAVES and not name.startswith('test_'):
                errs.append(f"{where}: production room {name} imports {room}. Fix: take the helper from core.")
            for nm in names:
                if nm.startswith('_'): errs.append(f"{where}: {name} imports the private name {room}.{nm}. Fix: give it a public name in {rm[room][1]}.")
    return errs, graph, rm

def main():
    errs, graph, rm = check()
    if '--graph' in sys.argv:
        for name in sorted(rm, key=lambda k: rm[k][0]):
            print(f"{''.join(map(str, rm[name][0])):>3} {name:12} <- {', '.join(sorted(graph.get(name, ()), key=lambda k: rm[k][0])) or '(nothing of ours)'}")
    if errs:
        print("House check failed:\n  " + "\n  ".join(errs), file=sys.stderr); sys.exit(1)
    print(f"House check passed: {len(rm)} rooms, every import downhill, no private names across rooms, no module over {MAX_LINES} lines.")

if __name__ == '__main__': main()
