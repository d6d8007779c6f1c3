"""The 150-subject study shown in `nbs/92_tutorial_study.ipynb`, resumable.

Synthetic cohort `make_cohort(n_subjects=150, seed=0)` (50 a class) converted with `convert_dicom`; 5 subject-level
folds; the fused model (`attention`) and `t1` at the demo's settings (32³, batch 6, 40 epochs, peak lr 1e-3,
spatial augmentation, one torch thread) + the logistic-regression baseline. `late` and `t2` were not run (CPU time).

Run from the repository root:

    python benchmarks/study150.py                 # make the data (once), run or resume the study, write the report
    python benchmarks/study150.py --report-only   # rebuild the report from the runs finished so far; train nothing

The study folder is `nbs/runs/study150/` (git-ignored). The report is the full one (`study_report`) once every
variant has finished every fold, else an interim one (`interim_report`) on the folds all of them have finished. It is
copied to `benchmarks/study150/` (tables, out-of-fold predictions, run times) and its figures to `nbs/images/`.
"""
import argparse, json, os, re, shutil, time
from pathlib import Path

VARIANTS, FOLDS = 'attention,t1', 5
here = Path(__file__).resolve().parent
real, shipped, images = here.parent/'nbs'/'runs'/'study150', here/'study150', here.parent/'nbs'/'images'

def main(report_only:bool=False, n_boot:int=2000):
    import torch; torch.set_num_threads(1)
    from spine_osteo.study import run_study, study_report, interim_report, read_runs
    if not report_only:
        from spine_osteo.synth import make_cohort
        from spine_osteo.convert import convert_dicom
        t0 = time.time()
        if not (real/'dicom'/'labels.csv').exists(): make_cohort(real/'dicom', n_subjects=150, seed=0, workers=2, progress=False)
        t1 = time.time()
        if not (real/'nifti'/'conversion_report.csv').exists():
            convert_dicom(real/'dicom', real/'nifti', labels=real/'dicom'/'labels.csv', workers=2, progress=False, verbose=False)
        print(f"data: synthesis {t1 - t0:.0f} s, conversion {time.time() - t1:.0f} s")
        run_study(real/'nifti', real/'study', folds=FOLDS, variants=VARIANTS, baseline=True, size=32, bs=6, epochs=40,
                  lr=1e-3, seed=0, report=False)
    runs = read_runs(real/'study')
    complete = all((runs.variant == v).sum() == FOLDS for v in ['baseline', *VARIANTS.split(',')])
    rep = study_report(real/'study', n_boot=n_boot) if complete else interim_report(real/'study', n_boot=n_boot)
    src = real/'study' if complete else rep['dest']
    shipped.mkdir(exist_ok=True); images.mkdir(exist_ok=True)
    for f in ('report.json', 'metrics.csv', 'comparisons.csv', 'calibration.csv', 'runs.csv', 'folds.csv', 'oof_predictions.csv'):
        shutil.copy(src/f, shipped/f)
    for f in ('roc.png', 'reliability.png'): shutil.copy(src/f, images/f'study150_{f}')
    md = re.sub(r'\]\((roc|reliability)\.png\)', r'](../../nbs/images/study150_\1.png)', (src/'report.md').read_text())
    (shipped/'report.md').write_text(md)
    data = json.loads((real/'data_times.json').read_text()) if (real/'data_times.json').exists() else {}
    (shipped/'data_times.json').write_text(json.dumps(data))
    print(f"{'full' if complete else 'interim'} report copied to {shipped.relative_to(here.parent)}/ and nbs/images/study150_*.png")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--report-only', action='store_true', help='rebuild the report from the finished runs; train nothing')
    ap.add_argument('--n-boot', type=int, default=2000, help='bootstrap resamples')
    a = ap.parse_args(); main(a.report_only, a.n_boot)
