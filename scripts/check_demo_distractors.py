#!/usr/bin/env python
"""Does the demo's cohort still convert to the intended lumbar T1/T2 when the anatomy distractors are added?

Writes the same synthetic cohort (seed 0) twice, with the demo's distractors and with the anatomy distractors too
(`synth.ANATOMY_DISTRACTORS`: thoracic and cervical stations, a brain MPRAGE), converts both, and counts for how many
subjects' T1 and T2 the converter selected the series synth intended (`intended_series.csv`). Not a test (minutes);
CI does not run it. Usage: `python scripts/check_demo_distractors.py N_SUBJECTS [OUT]`.
"""
import sys, time
from pathlib import Path
import pandas as pd
from spine_osteo.synth import make_cohort, DISTRACTORS, ANATOMY_DISTRACTORS
from spine_osteo.convert import convert_dicom

n = int(sys.argv[1]) if len(sys.argv) > 1 else 24
out = Path(sys.argv[2] if len(sys.argv) > 2 else 'demo_distractors')
t = time.time()
for name, d in (('plain', True), ('anatomy', tuple(DISTRACTORS) + tuple(ANATOMY_DISTRACTORS))):
    raw, nii = out/f'raw_{name}', out/f'nii_{name}'
    make_cohort(raw, n_subjects=n, seed=0, distractors=d, progress=False)
    convert_dicom(raw, nii, labels=raw/'labels.csv', progress=False, verbose=False)
    want = pd.read_csv(raw/'intended_series.csv')
    rep = pd.read_csv(nii/'conversion_report.csv')
    sel = rep[rep.decision == 'selected'][['subject', 'class', 'series']].rename(columns={'class': 'modality'})
    m = want.merge(sel, on=['subject', 'modality'], how='left')
    print(f"{name:8}: the intended series selected for {(m.series_uid == m.series).sum()} of {len(want)} volumes "
          f"(T1 and T2 of {want.subject.nunique()} subjects)", flush=True)
print(f"{time.time() - t:.0f} s")
