__version__ = "0.0.1"

import warnings as _warnings
# fastai's `layers.py` decorates a few functions with `torch.jit.script` at import, which torch >= 2.10 deprecates
# with a FutureWarning that no user can act on; keep it out of notebooks, docs and every console script's --help.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
