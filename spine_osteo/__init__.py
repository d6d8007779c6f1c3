__version__ = "0.0.1"

import os as _os, sys as _sys
import warnings as _warnings
# fastai's `layers.py` decorates a few functions with `torch.jit.script` at import, which torch >= 2.10 deprecates
# with a FutureWarning that no user can act on; keep it out of notebooks, docs and every console script's --help.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

# A console script (`spine-osteo-*`): OpenMP's thread count and a bounded spin, where the user set neither, before any
# module of ours imports torch (libgomp reads them once, as torch loads it). See `core.thread_policy` (issue 25).
if _os.path.basename((getattr(_sys, 'argv', None) or [''])[0]).startswith('spine-osteo-') and 'torch' not in _sys.modules:
    from .core import thread_policy as _thread_policy
    _thread_policy()
