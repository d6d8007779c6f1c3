"""Write the small run folder `run_a6ebd37/` (and its data, `data/`) with the package as it was at commit a6ebd37.

    git worktree add /tmp/old a6ebd37
    PYTHONPATH=/tmp/old python testdata/compat/make_run.py testdata/compat   # check: spine_osteo.__file__ is under /tmp/old
    git worktree remove /tmp/old

The tests (`nbs/16_cli.ipynb`) load its `model.pkl` with today's code, resume the run and predict from it. They import
`tiny_osteonet` from this file, so the model they rebuild for the resume is the one written here.
"""
import sys

def tiny_osteonet(stages:int=2, # backbone stages kept after the stem
                 ):
    "A real `OsteoNet` (cross-modal attention, B0 branches, group norm) cut to its stem and first `stages` stages: the same classes and parameter names, about 12k weights"
    import torch, torch.nn as nn
    from spine_osteo.model import OsteoNet, CrossModalAttention
    torch.manual_seed(0)
    m = OsteoNet(fusion='attention', head=False, heads=2, attn_dim=8, norm='group')
    for b in (m.backbone_t1, m.backbone_t2):
        b._blocks = b._blocks[:stages]
        b.stage_names = b.stage_names[:stages+1]
        b.out_channels = b._blocks[-1][-1]._project_conv.out_channels
    c = m.backbone_t1.out_channels
    m.attn_t1, m.attn_t2 = CrossModalAttention(c, heads=2, attn_dim=8), CrossModalAttention(c, heads=2, attn_dim=8)
    m.n_features = c * sum(2 if k == 'cat' else 1 for k in m.combine)
    m.fc = nn.Linear(m.n_features, m.n_classes)
    return m

VALID_ROWS = [1, 3, 5]   # one subject per class held out
TRAIN_KW = dict(size=32, bs=3, epochs=2, lr=1e-2, seed=0, dls_kwargs=dict(cache_dir=False, device='cpu'))

if __name__ == '__main__':
    import contextlib, io, json, shutil
    from pathlib import Path
    import spine_osteo
    from spine_osteo.test_utils import tiny_dataset
    from spine_osteo.data import find_subjects
    from spine_osteo.learner import train_run
    dest = Path(sys.argv[1])
    data, run = dest/'data', dest/'run_a6ebd37'
    for p in (data, run): shutil.rmtree(p, ignore_errors=True)
    tiny_dataset(data, n_per_class=2)
    df = find_subjects(data)
    with contextlib.redirect_stdout(io.StringIO()):
        res = train_run(df, VALID_ROWS, run, model=tiny_osteonet(), **TRAIN_KW)
    print(spine_osteo.__file__, json.dumps(res['report']['balanced_accuracy']), sorted(p.name for p in run.iterdir()))
