"""tinygrad_tf: deep learning from scratch, to read and to see.

    import tinygrad_tf as tg
    x = tg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    y = (x @ x.T).relu().sum(); y.backward(); x.grad
"""

from . import autograd_functional, backend, cuda, graph_xp, linalg, optim  # noqa: F401  (graph_xp: create_graph=True)
from .autograd import (AnomalyError, Function, GraphReleasedError, OpError, compile, detect_anomaly, enable_grad,
                       inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled)
from .backend import (DeviceError, Generator, bool_, cuda_available, device, dtype, float16, float32, float64, int8,
                      int16, int32, int64, manual_seed, uint8)
from .creation import (Size, as_tensor, asarray, atleast_1d, atleast_2d, atleast_3d, broadcast_shapes,
                       broadcast_tensors, bucketize, cartesian_prod, cdist, column_stack, dstack, empty_like, finfo,
                       from_numpy, get_default_dtype, get_rng_state, histogram, hstack, iinfo, initial_seed,
                       is_tensor, isin, meshgrid, row_stack, searchsorted, seed, set_default_dtype, set_rng_state,
                       std_mean, tensordot, tril_indices, triu_indices, var_mean, vstack)
from .creation import TWINS as _TAIL_TWINS
from .einsum import einsum
from .factory import (arange, bernoulli, cat, concatenate, empty, eye, full, full_like, linspace, logspace,
                      multinomial, normal, ones, ones_like, rand, rand_like, randint, randint_like, randn,
                      randn_like, randperm, stack, tensor, where, zeros, zeros_like)
from .factory import TWINS as _TWINS
from .factory import twin as _twin
from .gradcheck import GradcheckError, GradcheckReport, gradcheck, gradgradcheck
from .serialization import load, save
from .tensor import Tensor, set_printoptions

__version__ = "0.1.0"

# PyTorch's dtype aliases, and the type of dtypes (tg.float32 is a NumPy dtype: isinstance(x.dtype, tg.dtype))
half, double, long, short = float16, float64, int64, int16
bool = bool_  # noqa: A001  (tg.bool, as torch.bool)
concat = concatenate

# PyTorch's constants
pi, e, inf, nan, newaxis = 3.141592653589793, 2.718281828459045, float("inf"), float("nan"), None

# module-level twins of Tensor methods: tg.exp(x), tg.maximum(a, b), tg.softmax(x, dim=-1), tg.log1p(x), ...
for _name in _TWINS + _TAIL_TWINS:
    globals()[_name] = _twin(_name)
del _name

from .backend import float32 as float  # noqa: E402,A001  (torch.float)
from .backend import int32 as int  # noqa: E402,A001  (torch.int)

from .compat import module_getattr as _module_getattr  # noqa: E402

# torch.nn, torch.utils, ... after a plain `import tinygrad_tf as torch` (imported on first use, so that
# `import tinygrad_tf` itself loads only NumPy); any other missing name says that tinygrad_tf lacks it.
__getattr__ = _module_getattr(__name__, "torch", lazy=("nn", "utils", "viz", "text", "train", "testing",
                                                                   "distributed"))
