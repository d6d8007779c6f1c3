#!/usr/bin/env python
"""Deterministic mutation fuzz of spine_osteo's DICOM -> NIfTI converter (`spine_osteo.convert.convert_dicom`).

The base is a small real series: 12 slices of the shipped Siemens sagittal T1 (`testdata/dicom/dcm_qa_decubitus/In/HFS`),
cropped to 32 x 32 pixels with their real headers (Siemens private elements included) and the geometry kept consistent.
Each case copies it into a fresh workspace, applies one mutation (a header value, the pixel data, the file, the
folder), runs `convert_dicom` on it and asserts:

- no exception escapes (a deliberate one-line ValueError, which the console script prints as one line, is a refusal);
- the input files are unchanged (names, bytes, modification times) and nothing is written outside DST;
- the written T1 equals the unmutated one voxel for voxel, with the same affine, or no T1 is written and the report
  gives a reason (one line, without the source path); a few mutations may legitimately drop an end slice (a file
  deleted, or made another series), and then the T1 must equal that sub-stack of the reference.

The base is a head scan (BodyPartExamined BRAIN), so every conversion asks for it with `region='any'`: by default a
series whose own headers say it is no spine is refused. One file given another orientation, matrix or pixel spacing
is split off as a part of its own (`series.group_series`, as dcm2niix splits it), so at an end of the stack the rest
is written: those mutations may drop an end slice too.

    python scripts/fuzz_convert.py                      # 2,000 cases, all cores, prints the summary table
    python scripts/fuzz_convert.py --cases 300 --workers 2 --seed 0

The notebook `nbs/98_fuzz_convert.ipynb` runs 300 cases of the same fuzz as a test.
"""
import argparse, os, re, sys, io, shutil, hashlib, tempfile, random, struct, time, warnings, platform, traceback
from pathlib import Path
import numpy as np
import pandas as pd
import nibabel as nib
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

N_SLICES, SIZE = 8, 32
TMP = '/dev/shm' if os.path.isdir('/dev/shm') and os.access('/dev/shm', os.W_OK) else None   # workspaces in memory where possible

# ---------------------------------------------------------------- the base series
def _normal(ds):
    "Slice normal of a dataset"
    o = np.asarray(ds.ImageOrientationPatient, float)
    return np.cross(o[:3], o[3:])

def make_base(dest:Path, n_slices:int=N_SLICES, size:int=SIZE)->Path:
    "Write the base series: `n_slices` central slices of the shipped HFS T1, cropped to `size`², named in position order"
    from spine_osteo.test_utils import test_data
    files = sorted(test_data('dicom', 'dcm_qa_decubitus', 'In', 'HFS').rglob('*.dcm'))
    dss = [pydicom.dcmread(f) for f in files]
    dss.sort(key=lambda d: float(np.asarray(d.ImagePositionPatient, float) @ _normal(d)))
    k0 = (len(dss) - n_slices)//2
    dest = Path(dest)/'sub01'/'t1_series'; dest.mkdir(parents=True)
    for k, ds in enumerate(dss[k0:k0 + n_slices]):
        a = ds.pixel_array; r0, c0 = (a.shape[0] - size)//2, (a.shape[1] - size)//2
        o = np.asarray(ds.ImageOrientationPatient, float); ps = np.asarray(ds.PixelSpacing, float)
        ipp = np.asarray(ds.ImagePositionPatient, float) + c0*ps[1]*o[:3] + r0*ps[0]*o[3:]
        ds.PixelData = np.ascontiguousarray(a[r0:r0+size, c0:c0+size]).tobytes()
        ds.Rows = ds.Columns = size
        ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
        for t in (0x00291010, 0x00291020): ds.pop(t, None)   # Siemens CSA blobs (130 KB a file): the fuzz runs 10x faster without them
        ds.save_as(dest/f"im{k:04d}.dcm", enforce_file_format=True)
    return Path(dest).parent.parent

# ---------------------------------------------------------------- mutation helpers
def _tag(kw):
    "The tag of a keyword (or a tag given as an int)"
    return Tag(kw) if isinstance(kw, int) else Tag(pydicom.datadict.tag_for_keyword(kw))

def _vr(ds, tag):
    "The VR an element has in `ds`, else its dictionary VR ('UN' for unknown private tags)"
    if tag in ds: return ds.get_item(tag).VR or pydicom.datadict.dictionary_VR(tag)
    return pydicom.datadict.dictionary_VR(tag) if pydicom.datadict.dictionary_has_tag(tag) else 'UN'

def put(ds, kw, raw:bytes, vr=None):
    "Set element `kw` to the raw bytes `raw` (padded to even length), whatever they mean"
    t = _tag(kw); vr = vr or _vr(ds, t).split(' or ')[0]
    if len(raw) % 2: raw += b'\x00' if vr in ('UI', 'OB', 'US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UN') else b' '
    ds[t] = RawDataElement(t, vr, len(raw), raw, 0, False, True)

def drop(ds, kw):
    "Remove element `kw` when present"
    t = _tag(kw)
    if t in ds: del ds[t]

def edit(path:Path, fn):
    "Read `path`, apply `fn(ds)`, write it back as it was encoded"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ds = pydicom.dcmread(path, force=True)
        fn(ds)
        ds.save_as(path)

def files_of(src:Path)->list:
    "Every file under `src`, sorted (the base series' names sort in slice order)"
    return sorted(p for p in src.rglob('*') if p.is_file())

def targets(src:Path, rng:random.Random, where:str)->list:
    "The files a mutation touches: 'one' random file, an 'end' file, a 'middle' file, or 'all'"
    fs = files_of(src)
    return {'one': [rng.choice(fs)], 'end': [fs[rng.choice([0, -1])]], 'middle': [fs[len(fs)//2]], 'all': fs}[where]

# ---------------------------------------------------------------- the mutations
# Each mutation: (kind, name, where, fn(paths, rng, src) -> extra, options). `extra` may name oracles:
# 'substack' (an end slice may be dropped), 'scaled' {slice k: (slope, intercept)}, 'affine_tol' (mm), 'must_reject' (no T1 may be written).
def US(v):
    "A US (unsigned short) value's bytes"
    return struct.pack('<H', v)
TEXT = dict(garbage=b'abc', empty=b'', inf=b'1e999', ninf=b'-1e999', nan=b'nan', huge=b'1e300', zero=b'0', neg=b'-1',
            bigint=b'99999999999999999999', two=b'1\\2', latin1='Müller'.encode('latin-1'), long=b'7'*64)

def _rescale_oracle(kw, raw, paths, src)->dict:
    "For a valid RescaleSlope/Intercept (a finite number in float32's range; a slope not 0): the rescaled slices the T1 must have"
    try: v = float(raw.decode().strip())
    except (UnicodeDecodeError, ValueError): return {}
    if kw not in ('RescaleSlope', 'RescaleIntercept') or not np.isfinite(v) or abs(v) > np.finfo(np.float32).max or (kw == 'RescaleSlope' and v == 0): return {}
    ks = [files_of(src).index(p) for p in paths]
    return dict(scaled={k: (v, 0.) if kw == 'RescaleSlope' else (1., v) for k in ks})

def header(kw, raw, where='one', vr=None, **opts):
    "Set `kw` to the raw bytes `raw` in the target file(s)"
    def fn(paths, rng, src):
        for p in paths: edit(p, lambda ds: put(ds, kw, raw, vr))
        return _rescale_oracle(kw, raw, paths, src)
    return ('header', f"{kw}={raw[:24]!r}" + ('' if where == 'one' else f" ({where})"), where, fn, opts)

def _each(change):
    "A mutation applying `change(ds)` to each target file"
    def fn(paths, rng, src):
        for p in paths: edit(p, change)
    return fn

def delete(kw, where='one', **opts):
    "Remove `kw` from the target file(s)"
    return ('header', f"{kw} deleted" + ('' if where == 'one' else f" ({where})"), where, _each(lambda ds: drop(ds, kw)), opts)

def shift(mm, along='normal', where='middle', **opts):
    "Move the target slice(s) by `mm` along the slice normal or the row direction"
    def fn(paths, rng, src):
        def mv(ds):
            o = np.asarray(ds.ImageOrientationPatient, float)
            d = _normal(ds) if along == 'normal' else o[:3]
            ds.ImagePositionPatient = [f"{v:.6f}" for v in np.asarray(ds.ImagePositionPatient, float) + mm*d]
        for p in paths: edit(p, mv)
    return ('position', f"slice moved {mm:g} mm along the {along} ({where})", where, fn, opts)

def _pixels(change):
    "A mutation replacing the pixel data bytes `b` by `change(b)`"
    return _each(lambda ds: setattr(ds, 'PixelData', change(ds.PixelData)))

def _truncate_file(frac):
    "Cut the target file(s) to `frac` of their length"
    def fn(paths, rng, src):
        for p in paths:
            b = p.read_bytes(); p.write_bytes(b[:int(len(b)*frac)])
    return fn

def _resave(transfer_syntax=None, strip_meta=False, declare_implicit=False, declare=None):
    "Write files again: in another transfer syntax, without preamble and file meta, or with a file meta that lies about the VR (or declares `declare`)"
    def fn(paths, rng, src):
        for p in paths:
            ds = pydicom.dcmread(p)
            if transfer_syntax == pydicom.uid.RLELossless: ds.compress(transfer_syntax); ds.save_as(p, enforce_file_format=True)
            elif transfer_syntax == pydicom.uid.ExplicitVRBigEndian:   # pydicom writes OW bytes as they are: swap the pixels first
                ds.PixelData = ds.pixel_array.astype('>u2').tobytes(); ds.file_meta.TransferSyntaxUID = transfer_syntax
                pydicom.dcmwrite(p, ds, force_encoding=True, implicit_vr=False, little_endian=False)
            elif transfer_syntax: ds.file_meta.TransferSyntaxUID = transfer_syntax; ds.save_as(p, enforce_file_format=True)
            elif strip_meta:
                buf = pydicom.filebase.DicomBytesIO(); buf.is_little_endian, buf.is_implicit_VR = True, False
                pydicom.filewriter.write_dataset(buf, ds); p.write_bytes(buf.getvalue())
            elif declare_implicit or declare:   # only the file meta changes: the data set stays explicit VR while the meta says implicit (or deflated)
                b = p.read_bytes(); n = 132 + 12 + int(pydicom.filereader.read_file_meta_info(p).FileMetaInformationGroupLength)
                ds.file_meta.TransferSyntaxUID = declare or pydicom.uid.ImplicitVRLittleEndian
                m = pydicom.filebase.DicomBytesIO(); m.is_little_endian, m.is_implicit_VR = True, False
                pydicom.filewriter.write_file_meta_info(m, ds.file_meta, enforce_standard=True)
                p.write_bytes(b[:128] + b'DICM' + m.getvalue() + b[n:])
    return fn

def _meta_length_6(paths, rng, src):
    "The file meta group length element (0002,0000) UL says 6 bytes where it holds 4 (byte 138 of the file: 4 -> 6)"
    for p in paths:
        b = bytearray(p.read_bytes()); assert b[132:138] == b'\x02\x00\x00\x00UL' and b[138] == 4; b[138] = 6; p.write_bytes(bytes(b))

def _junk(name, content):
    "Add a junk file `name` next to the series"
    def fn(paths, rng, src):
        (src/'sub01'/'t1_series'/name).write_bytes(content() if callable(content) else content)
    return fn

def _delete_file(paths, rng, src):
    "Delete the target file(s)"
    for p in paths: p.unlink()

def _duplicate(paths, rng, src):
    "Copy the target file(s) under another name"
    for p in paths: shutil.copy2(p, p.with_name('copy_' + p.name))

def _latin1_file(paths, rng, src):
    "Rename the target file(s) to a Latin-1 (not UTF-8) name"
    for p in paths: os.rename(p, os.fsdecode(os.fsencode(p.parent) + b'/M\xfcller_' + os.fsencode(p.name)))

def _latin1_folder(paths, rng, src):
    "Rename the subject folder to a Latin-1 (not UTF-8) name"
    os.rename(src/'sub01', os.fsdecode(os.fsencode(src) + b'/M\xfcller'))

def _second_patient_series(paths, rng, src):
    "A copy of the series as another patient's T2 in the same subject folder"
    dst = src/'sub01'/'other_t2'; dst.mkdir()
    uid = pydicom.uid.generate_uid()
    for p in files_of(src/'sub01'/'t1_series'):
        q = dst/p.name; shutil.copy2(p, q)
        edit(q, lambda ds: (setattr(ds, 'SeriesInstanceUID', uid), setattr(ds, 'SeriesDescription', 't2_tse_sag'),
                            setattr(ds, 'PatientID', 'SOMEONE-ELSE')))

def _scale_one(paths, rng, src):
    "A valid per-slice rescaling of one slice: the T1 must have that slice rescaled"
    k = files_of(src).index(paths[0])
    for p in paths: edit(p, lambda ds: (put(ds, 'RescaleSlope', b'2'), put(ds, 'RescaleIntercept', b'-10')))
    return dict(scaled={k: (2., -10.)})

def _rescale_all(slope, intercept):
    "Valid rescaling of every slice: the T1 must equal the reference rescaled"
    def fn(paths, rng, src):
        for p in paths: edit(p, lambda ds: (put(ds, 'RescaleSlope', slope), put(ds, 'RescaleIntercept', intercept)))
        return dict(scaled={k: (float(slope), float(intercept)) for k in range(len(paths))})
    return fn

def _philips_b0(paths, rng, src):
    "Philips classic: DiffusionBValue 0 in every image (not diffusion)"
    for p in paths: edit(p, lambda ds: (put(ds, 'Manufacturer', b'Philips Medical Systems'), put(ds, 'DiffusionBValue', struct.pack('<d', 0.), 'FD')))

def mutations()->list:
    "Every mutation of the fuzz, in a fixed order"
    M = []
    split = dict(substack=True)   # one file of another orientation, matrix or pixel spacing is a part of its own: at an end, the rest is written
    for kw in ('Rows', 'Columns'):
        M += [header(kw, US(31), **split), header(kw, US(31), 'all'), header(kw, US(0), **split), header(kw, US(0), 'all'), header(kw, US(65535), **split),
              header(kw, b'abc', vr='LO', **split), delete(kw, **split)]
    M += [header('BitsAllocated', US(8)), header('BitsAllocated', US(8), 'all'), header('BitsAllocated', US(32)), header('BitsAllocated', US(12)),
          header('BitsAllocated', US(0)), delete('BitsAllocated'),
          header('BitsStored', US(8)), header('BitsStored', US(17)), header('BitsStored', US(0)), delete('BitsStored'),
          header('HighBit', US(3)), header('PixelRepresentation', US(1), 'all'), header('PixelRepresentation', US(2)), delete('PixelRepresentation'),
          header('SamplesPerPixel', US(3)), header('SamplesPerPixel', US(0)),
          header('PhotometricInterpretation', b'RGB'), header('PhotometricInterpretation', b'PALETTE COLOR'), header('PhotometricInterpretation', b'MONOCHROME1', 'all'),
          delete('PhotometricInterpretation'),
          header('NumberOfFrames', b'2'), header('NumberOfFrames', b'0'), header('NumberOfFrames', TEXT['bigint']), header('NumberOfFrames', b'abc')]
    for kw in ('RescaleSlope', 'RescaleIntercept'):
        M += [header(kw, TEXT[v], w) for v in ('garbage', 'inf', 'ninf', 'nan', 'huge', 'two', 'bigint') for w in ('one',)]
        M += [header(kw, TEXT['empty']), header(kw, TEXT['inf'], 'all')]
    M += [header('RescaleSlope', b'0'), header('RescaleSlope', b'0', 'all'), header('RescaleIntercept', b'1e39'),
          header('RescaleSlope', b'1e39', 'all'), ('header', 'RescaleSlope=2, Intercept=-10 (one slice)', 'one', _scale_one, {}),
          ('header', 'RescaleSlope=1, Intercept=1 (all)', 'all', _rescale_all(b'1', b'1'), {}),
          ('header', 'RescaleSlope=0.5, Intercept=0 (all)', 'all', _rescale_all(b'0.5', b'0'), {}),
          header('RescaleSlope', b'1e30', 'middle', must_reject=True), header('RescaleSlope', b'1e-30', 'middle', must_reject=True)]
    M += [header('PixelSpacing', v, w, **(split if w == 'one' else {})) for v in (b'-1.015625\\1.015625', b'0\\0', b'1.015625', b'1\\1\\1', b'abc\\1', b'1e999\\1')
          for w in ('one', 'all')] + [delete('PixelSpacing', **split), delete('PixelSpacing', 'all')]
    M += [header('ImageOrientationPatient', v, w, **(split if w == 'one' else {})) for v in (b'0\\1\\0\\0\\0', b'0\\1\\0\\0\\0\\-1\\0', b'0\\1\\1\\0\\0\\-1',
          b'0\\2\\0\\0\\0\\-2', b'0\\1\\0\\0\\1\\0', b'abc', b'0\\1\\0\\nan\\0\\-1') for w in ('one', 'all')]
    M += [delete('ImageOrientationPatient', **split), delete('ImageOrientationPatient', 'all')]
    M += [header('ImagePositionPatient', v, w) for v in (b'1\\2', b'abc\\0\\0', b'1e999\\0\\0', b'1\\2\\3\\4') for w in ('one', 'all')]
    M += [delete('ImagePositionPatient'), shift(0.05), shift(0.1), shift(0.15), shift(0.15, where='end', affine_tol=0.2),
          shift(0.1, 'row'), shift(0.6), shift(2.0), shift(-4.0), shift(5.0, 'row')]
    M += [header('InstanceNumber', v) for v in (b'1000', b'-5', b'abc', TEXT['bigint'], b'1')] + [delete('InstanceNumber', 'all')]
    M += [header('SliceThickness', v, 'all') for v in (b'0', b'-3', b'abc')] + [header('SpacingBetweenSlices', b'abc', 'all')]
    M += [header('GantryDetectorTilt', b'15', 'all'), header('GantryDetectorTilt', b'abc', 'all')]
    M += [header('SeriesInstanceUID', b'1.2.3.4', 'end', substack=True), header('SeriesInstanceUID', b'1.2.3.4', 'middle'),
          header('SeriesInstanceUID', b'', 'all'), delete('SeriesInstanceUID', 'all')]
    M += [header('SeriesDescription', v, 'all') for v in (b'ep2d_diff', b'B0 fieldmap', b'T2 TSE', TEXT['latin1'], b'', b'3-plane loc')]
    M += [header('ProtocolName', b'', 'all'), header('SequenceName', b'T1FFE', 'all'), header('SeriesNumber', TEXT['bigint'], 'all'),
          header('ImageType', b'ORIGINAL\\PRIMARY\\P\\ND', 'all'), header('ImageType', b'ORIGINAL\\PRIMARY\\P\\ND', 'end', substack=True),
          header('ImageType', b'DERIVED\\SECONDARY\\MPR', 'all'), header('ImageType', b'ORIGINAL\\PRIMARY\\DIFFUSION', 'all'),
          header('EchoTime', b'4.92', 'middle'), header('EchoNumbers', b'2', 'middle'), header('EchoTime', b'abc', 'all'),
          header('RepetitionTime', TEXT['huge'], 'all'), header('FlipAngle', TEXT['inf'], 'all'),
          header('DiffusionBValue', struct.pack('<d', 0.), 'all', vr='FD'), header('DiffusionBValue', struct.pack('<d', 1000.), 'one', vr='FD'),
          ('header', 'Philips with DiffusionBValue 0 (all)', 'all', _philips_b0, {}),
          header('Modality', b'CT', 'all'), header('SOPClassUID', b'1.2.3', 'all'), header('SpecificCharacterSet', b'ISO_IR 192', 'all'),
          header('Manufacturer', TEXT['latin1'], 'all')]
    M += [header(kw, v, 'one') for kw in ('AcquisitionDate', 'AcquisitionTime') for v in (b'', b'abc', b'2025-13-45', TEXT['bigint'])]
    M += [header('PatientID', b'OTHER', 'one'), header('PatientID', b'OTHER', 'all'), header('PatientName', b'OTHER^NAME', 'one'),
          header('PatientBirthDate', b'19000101', 'one'), header('PatientID', b'', 'all'), header('PatientName', TEXT['latin1'], 'all'),
          ('header', 'another patient\'s T2 in the subject folder', 'one', _second_patient_series, {})]
    M += [('pixel', 'pixel data 2 bytes short', 'one', _pixels(lambda b: b[:-2]), {}),
          ('pixel', 'pixel data 2 bytes long', 'one', _pixels(lambda b: b + b'\0\0'), {}),
          ('pixel', 'pixel data one row long', 'one', _pixels(lambda b: b + b'\0'*2*SIZE), {}),
          ('pixel', 'pixel data half', 'all', _pixels(lambda b: b[:len(b)//2]), {}),
          ('pixel', 'pixel data double', 'one', _pixels(lambda b: b + b), {}),
          ('pixel', 'pixel data removed', 'one', _each(lambda ds: drop(ds, 'PixelData')), {}),
          ('pixel', 'pixel values above BitsStored', 'one', _pixels(lambda b: (np.frombuffer(b, '<u2') | 0x8000).astype('<u2').tobytes()), {})]
    M += [('file', f'file cut at {f:.0%}' + ('' if w == 'one' else f' ({w})'), w, _truncate_file(f), dict(substack=True))
          for f in (0.01, 0.1, 0.3, 0.5, 0.9, 0.99) for w in ('one', 'end')]
    M += [('file', 'file deleted (end)', 'end', _delete_file, dict(substack=True)), ('file', 'file deleted (middle)', 'middle', _delete_file, {}),
          ('file', 'file duplicated', 'one', _duplicate, {}),
          ('file', 'zero-filled 2 MB file added', 'one', _junk('zeros.dcm', b'\0'*2_000_000), {}),
          ('file', 'random bytes added', 'one', _junk('noise', lambda: random.Random(1).randbytes(50_000)), {}),
          ('file', 'text file added', 'one', _junk('notes.txt', b'scanned by ...\n'*100), {}),
          ('file', 'empty file added', 'one', _junk('empty.dcm', b''), {}),
          ('file', 'DICM preamble then zeros added', 'one', _junk('fake.dcm', b'\0'*128 + b'DICM' + b'\0'*500_000), {}),
          ('file', 'DICOMDIR-named junk added', 'one', _junk('DICOMDIR', b'\0'*1000), {}),
          ('file', 'file meta stripped', 'one', _resave(strip_meta=True), {}),
          ('file', 'file meta stripped (all)', 'all', _resave(strip_meta=True), {}),
          ('file', 'meta says implicit VR, data explicit', 'one', _resave(declare_implicit=True), {}),
          ('file', 'meta says deflated, data plain', 'one', _resave(declare=pydicom.uid.DeflatedExplicitVRLittleEndian), {}),
          ('file', 'meta group length element 6 bytes long', 'one', _meta_length_6, {}),
          ('file', 're-encoded implicit VR', 'all', _resave(transfer_syntax=pydicom.uid.ImplicitVRLittleEndian), {}),
          ('file', 're-encoded big endian', 'one', _resave(transfer_syntax=pydicom.uid.ExplicitVRBigEndian), {}),
          ('file', 're-encoded deflated', 'one', _resave(transfer_syntax=pydicom.uid.DeflatedExplicitVRLittleEndian), {}),
          ('file', 're-encoded RLE', 'one', _resave(transfer_syntax=pydicom.uid.RLELossless), {}),
          ('file', 'Latin-1 file name', 'one', _latin1_file, {}),
          ('file', 'Latin-1 folder name', 'one', _latin1_folder, {})]
    return M

# ---------------------------------------------------------------- one case
def snapshot(root:Path)->dict:
    "relative path -> (size, mtime_ns, sha1) of every file under `root` (names as bytes: any encoding)"
    out = {}
    for dirpath, dirs, names in os.walk(os.fsencode(root)):
        for n in names:
            p = os.path.join(dirpath, n); st = os.lstat(p)
            out[os.path.relpath(p, os.fsencode(root))] = (st.st_size, st.st_mtime_ns, hashlib.sha1(open(p, 'rb').read()).hexdigest())
    return out

def _equal(img, ref, tol):
    "Is `img` the reference: the same voxels, the affine within `tol` mm?"
    a, A = np.asanyarray(img.dataobj).astype(np.float64), img.affine
    return a.shape == ref['data'].shape and np.array_equal(a, ref['data']) and np.allclose(A, ref['affine'], atol=tol)

def _substack(img, ref, tol):
    "Is `img` a contiguous sub-stack of the reference (an end slice dropped), with the matching affine?"
    a, A, R = np.asanyarray(img.dataobj).astype(np.float64), img.affine, ref['data']
    if a.shape[:2] != R.shape[:2] or not 2 < a.shape[2] < R.shape[2]: return False
    for k in range(R.shape[2] - a.shape[2] + 1):
        B = ref['affine'].copy(); B[:3, 3] = ref['affine'][:3, :3] @ [0, 0, k] + ref['affine'][:3, 3]
        if np.array_equal(a, R[..., k:k + a.shape[2]]) and np.allclose(A[:, :3], ref['affine'][:, :3], atol=0.2) and np.allclose(A[:3, 3], B[:3, 3], atol=tol): return True
    return False

RAW = re.compile(r"codec can't|surrogates not allowed|Python int too large|encountered in|has no attribute|unsupported operand|"
                 r"NoneType|Traceback|invalid literal|out of range|not subscriptable|Errno")   # a raw Python error, not a human reason

def run_case(args):
    "Run one case: (index, mutation index, seed, base folder, reference) -> result row"
    i, m, seed, base, ref = args
    from spine_osteo.convert import convert_dicom
    kind, name, where, fn, opts = mutations()[m]
    rng = random.Random(seed*1_000_003 + i)
    row = dict(case=i, kind=kind, mutation=name, outcome='', detail='')
    with tempfile.TemporaryDirectory(prefix='fuzz_', dir=TMP) as tmp:
        ws = Path(tmp); src = ws/'src'; shutil.copytree(base, src)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            extra = fn(targets(src, rng, where), rng, src) or {}
        before = snapshot(ws)
        dst = ws/'dst'
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('error')   # a warning would reach the user's console: count it
                rep = convert_dicom(src, dst, workers=1, progress=False, verbose=False, region='any')   # the base is a head
        except ValueError as e:
            msg = str(e)
            row.update(outcome='refused (one line)' if '\n' not in msg and str(ws) not in msg else 'bad message', detail=msg[:160])
            rep = None
        except Exception as e:
            row.update(outcome='crash', detail=f"{type(e).__name__}: {str(e).splitlines()[0][:140] if str(e) else ''} @ "
                                               + ' < '.join(f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_tb(e.__traceback__)[-3:]))
            rep = None
        after = snapshot(ws)
        src_b = os.fsencode('src') + b'/'; dst_b = os.fsencode('dst') + b'/'
        if {k: v for k, v in before.items() if k.startswith(src_b)} != {k: v for k, v in after.items() if k.startswith(src_b)}:
            row.update(outcome='input changed', detail='')
        elif [k for k in after if not k.startswith(src_b) and not k.startswith(dst_b)]:
            row.update(outcome='written outside DST', detail=str([k for k in after if not k.startswith(src_b) and not k.startswith(dst_b)][:3]))
        if row['outcome']: return row
        reasons = [str(x) for x in rep.reason] if len(rep) else []
        bad = [r for r in reasons if '\n' in r or str(ws) in r or 'sub01/' in r or RAW.search(r)]
        if bad: return dict(row, outcome='bad reason', detail=bad[0][:160])
        t1 = sorted(dst.rglob('T1_*.nii.gz')) if dst.exists() else []
        if t1 and opts.get('must_reject'):   # an implausible slice (a slope of 1e30 on one of them) must never be written
            return dict(row, outcome='WRONG', detail='written, where the series must be refused')
        if t1:
            img = nib.load(t1[0]); tol = opts.get('affine_tol', 2e-3)
            exp = ref
            if 'scaled' in extra:   # computed as the converter must: float64, then the written dtype
                d = ref['data'].copy()
                for k, (s, b) in extra['scaled'].items(): d[..., k] = d[..., k]*s + b
                exp = dict(ref, data=d.astype(img.get_data_dtype()).astype(np.float64))
            if _equal(img, exp, tol): return dict(row, outcome='equal')
            if opts.get('substack') and _substack(img, exp, tol): return dict(row, outcome='equal (end slice dropped)')
            a = np.asanyarray(img.dataobj)
            return dict(row, outcome='WRONG', detail=f"written {a.shape} {a.dtype}, max |diff| "
                        f"{float(np.abs(a.astype(float) - exp['data']).max()) if a.shape == exp['data'].shape else 'shape'}; "
                        f"affine diff {float(np.abs(img.affine - exp['affine']).max()):.3g}")
        t1_rows = rep[rep['class'] == 'T1'] if len(rep) else rep
        why = [r for r in (t1_rows.reason if len(t1_rows) else rep.reason if len(rep) else []) if r]
        if not why: return dict(row, outcome='no T1, no reason')
        return dict(row, outcome='rejected', detail=why[0][:160])

# ---------------------------------------------------------------- the run
def reference(base:Path)->dict:
    "The T1 written from the unmutated base series"
    from spine_osteo.convert import convert_dicom
    with tempfile.TemporaryDirectory() as d:
        convert_dicom(base, Path(d)/'o', workers=1, progress=False, verbose=False, region='any')
        img = nib.load(next((Path(d)/'o').rglob('T1_*.nii.gz')))
        return dict(data=np.asanyarray(img.dataobj).astype(np.float64), affine=img.affine.copy())

def run_fuzz(n_cases:int=300, seed:int=0, workers:int|None=None, progress:bool=False)->pd.DataFrame:
    "Run `n_cases` cases (mutations in turn, each with its own seeded random choices) and return one row per case"
    from fastcore.parallel import parallel
    with tempfile.TemporaryDirectory(prefix='fuzz_base_') as tmp:
        base = make_base(Path(tmp))
        ref = reference(base)
        n_mut = len(mutations())
        order = random.Random(seed).sample(range(n_mut), n_mut)
        jobs = [(i, order[i % n_mut], seed, base, ref) for i in range(n_cases)]
        rows = parallel(run_case, jobs, n_workers=workers if workers is not None else (os.cpu_count() or 1),
                        progress=progress, method='fork', chunksize=4)
    return pd.DataFrame(list(rows))

GOOD = ('equal', 'equal (end slice dropped)', 'rejected', 'refused (one line)')

def damaged_export(dest:Path, kinds=('file', 'pixel', 'header'), n_good:int=2, seed:int=0)->dict:
    "One export holding a subject per mutation of `kinds` (`m<index>`) and `n_good` untouched subjects (`good<k>`); returns subject -> mutation name"
    dest = Path(dest); dest.mkdir(parents=True); out = {}
    with tempfile.TemporaryDirectory(prefix='fuzz_export_', dir=dest.parent) as tmp:   # beside DST: subjects are moved, not copied
        base = make_base(Path(tmp)/'base')
        for k in range(n_good): shutil.copytree(base/'sub01', dest/f'good{k}'); out[f'good{k}'] = ''
        for i, (kind, name, where, fn, opts) in enumerate(mutations()):
            if kind not in kinds: continue
            src = Path(tmp)/f'ws{i}'; shutil.copytree(base, src)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                fn(targets(src, random.Random(seed*1_000_003 + i), where), random.Random(i), src)
            (top,) = os.listdir(os.fsencode(src))   # the subject folder (renamed by one mutation)
            os.rename(os.path.join(os.fsencode(src), top), dest/f'm{i:03d}'); out[f'm{i:03d}'] = name
    return out

def summary(df:pd.DataFrame)->pd.DataFrame:
    "Cases per mutation kind and outcome"
    t = df.pivot_table(index='kind', columns='outcome', values='case', aggfunc='count', fill_value=0)
    t.loc['all'] = t.sum()
    return t[[c for c in GOOD if c in t] + [c for c in t if c not in GOOD]]

def main():
    "Run the fuzz, print the summary table and the failing mutations; exit 1 if any case failed"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cases', type=int, default=2000, help='number of cases (mutations taken in turn)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--workers', type=int, default=None, help='processes (default: all cores)')
    ap.add_argument('--failures', type=int, default=30, help='failing cases to list')
    a = ap.parse_args()
    t0 = time.perf_counter()
    df = run_fuzz(a.cases, a.seed, a.workers)
    wall = time.perf_counter() - t0
    import psutil
    print(f"{len(df)} cases ({df.mutation.nunique()} mutations), seed {a.seed}, {wall:.0f} s on {os.cpu_count()} cores "
          f"({platform.machine()}, {psutil.virtual_memory().total/2**30:.0f} GiB RAM), Python {platform.python_version()}, "
          f"pydicom {pydicom.__version__}, load {os.getloadavg()[0]:.1f}\n")
    t = summary(df)
    print('| kind | ' + ' | '.join(t.columns) + ' |'); print('|---|' + '---:|'*len(t.columns))
    for k, r in t.iterrows(): print(f"| {k} | " + ' | '.join(str(int(v)) for v in r) + ' |')
    bad = df[~df.outcome.isin(GOOD)]
    if len(bad):
        print(f"\n{len(bad)} failing case(s):")
        for r in bad.drop_duplicates('mutation').head(a.failures).itertuples(): print(f"  [{r.outcome}] {r.mutation}: {r.detail}")
    sys.exit(1 if len(bad) else 0)

if __name__ == '__main__': main()
