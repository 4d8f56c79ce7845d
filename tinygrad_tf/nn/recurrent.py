"""Recurrent layers, as ``torch.nn``: RNN, LSTM, GRU (stacked, bidirectional, with dropout between layers) and
the single-step RNNCell, LSTMCell, GRUCell.

One step of each, in PyTorch's gate order (so a PyTorch ``state_dict`` loads and the outputs agree):

    RNN:   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                  (or relu, with nonlinearity="relu")
    LSTM:  i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh, 4)        input, forget, cell, output gates
           c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
           h' = sigmoid(o) * tanh(c')                                  (then h' W_hr^T with proj_size > 0)
    GRU:   r, z, n_x = split(W_ih x + b_ih, 3);  r_h, z_h, n_h = split(W_hh h + b_hh, 3)
           r = sigmoid(r + r_h);  z = sigmoid(z + z_h)                 reset and update gates
           n = tanh(n_x + r * n_h)
           h' = (1 - z) * n + z * h

The layers run the step over time in a Python loop; the gradient flows back through it like through any
other graph (backpropagation through time). Parameter names are PyTorch's: ``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}``), with ``_reverse`` for the
backward direction; all start in U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch.
"""

from __future__ import annotations

import math
import warnings

from ..factory import cat, empty, stack, zeros
from ..tensor import Tensor
from ..tensor_args import _check_choice
from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, packed_to_steps, steps_to_packed

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------- one step
def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, relu=False):
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else F.linear(h, w_hr)), c


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    r_x, z_x, n_x = F.linear(x, w_ih, b_ih).chunk(3, -1)
    r_h, z_h, n_h = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = (r_x + r_h).sigmoid(), (z_x + z_h).sigmoid()
    n = (n_x + r * n_h).tanh()
    return (1 - z) * n + z * h


# ---------------------------------------------------------------- the layers
class RNNBase(Module):
    """What RNN, LSTM and GRU share: the stacked, possibly bidirectional parameters and the loop over time."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_choice(name, "mode", mode, tuple(_GATES))
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability of an "
                             f"element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        if proj_size < 0 or (proj_size and mode != "LSTM"):
            raise ValueError(f"{name}: proj_size must be 0, or positive for an LSTM, got {proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gates, out = _GATES[mode] * hidden_size, proj_size or hidden_size
        directions = 2 if bidirectional else 1
        kw = dict(device=device, dtype=dtype)
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gates, input_size if layer == 0 else out * directions),
                          "weight_hh": (gates, out)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for base, shape in shapes.items():
                    setattr(self, base + suffix, Parameter(empty(*shape, **kw)))
                self._all_weights.append([base + suffix for base in shapes])
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """Does nothing: PyTorch packs the weights into one block of memory for cuDNN; there is no cuDNN here
        (kept so that programs calling it run)."""

    @property
    def all_weights(self):
        """The parameters, one list per layer and direction (PyTorch's order)."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return (get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix),
                get("bias_hh" + suffix), get("weight_hr" + suffix))

    def _check_hidden(self, h, expected, which):
        if tuple(h.shape) != expected:
            raise RuntimeError(f"{type(self).__name__}: expected {which} of size {expected} (num_layers * "
                               f"num_directions, batch, hidden), got {tuple(h.shape)}")

    def forward(self, input, hx=None):  # noqa: A002
        """input (L, N, input_size) (``batch_first``: (N, L, input_size)), (L, input_size) unbatched, or a
        PackedSequence; ``hx`` the initial state(s) (zeros if not given). Returns ``(output, h_n)`` — for an
        LSTM ``(output, (h_n, c_n))`` — with output (L, N, D * H_out) holding the last layer's h at every step
        and h_n (num_layers * D, N, H_out) the final h of every layer and direction."""
        name, lstm = type(self).__name__, self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            steps, lengths = packed_to_steps(input)
            batch, unbatched = steps[0].shape[0], False
        else:
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: expected input to be 2D or 3D, got {input.ndim}D tensor of shape "
                                 f"{input.shape} instead")
            unbatched = input.ndim == 2
            x = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
            if x.shape[-1] != self.input_size:
                raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                                   f"got {x.shape[-1]} (input shape {input.shape})")
            steps, lengths, batch = [x[t] for t in range(x.shape[0])], None, x.shape[1]
        directions = 2 if self.bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        if lstm and hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise RuntimeError(f"{name}: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
        h0, c0 = hx if lstm and hx is not None else (hx, None)
        h0 = self._initial(h0, unbatched, batch, out_size, steps[0], "hx[0]" if lstm else "hx")
        c0 = self._initial(c0, unbatched, batch, self.hidden_size, steps[0], "hx[1]") if lstm else None
        if packed and input.sorted_indices is not None:                 # the states follow the sorted batch
            h0 = h0[:, input.sorted_indices]
            c0 = c0[:, input.sorted_indices] if lstm else None
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                seq, h, c = self._run(steps, lengths, h0[k], c0[k] if lstm else None, self._weights(layer, direction),
                                      direction == 1)
                outs.append(seq)
                h_n.append(h)
                c_n.append(c)
            steps = outs[0] if directions == 1 else [cat(pair, dim=-1) for pair in zip(*outs)]
            if self.dropout and self.training and layer < self.num_layers - 1:
                steps = [F.dropout(s, self.dropout, True) for s in steps]
        h_n = stack(h_n)
        c_n = stack(c_n) if lstm else None
        if packed:
            output = steps_to_packed(steps, input)
            if input.unsorted_indices is not None:
                h_n = h_n[:, input.unsorted_indices]
                c_n = c_n[:, input.unsorted_indices] if lstm else None
        else:
            output = stack(steps)                                        # (L, N, D * H_out)
            if unbatched:
                output, h_n = output.squeeze(1), h_n.squeeze(1)
                c_n = c_n.squeeze(1) if lstm else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _initial(self, h, unbatched, batch, size, like, which):
        """The initial state as (num_layers * D, N, size): zeros when not given, else checked."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        if h is None:
            return zeros(layers, batch, size, dtype=like.dtype, device=like.device)
        if h.ndim != (2 if unbatched else 3):
            raise RuntimeError(f"{type(self).__name__}: for {'unbatched 2-D' if unbatched else 'batched 3-D'} input, "
                               f"{which} should be {'2' if unbatched else '3'}-D but got a {h.ndim}-D tensor")
        h = h.unsqueeze(1) if unbatched else h
        self._check_hidden(h, (layers, batch, size), which)
        return h

    def _run(self, steps, lengths, h, c, weights, reverse):
        """One layer in one direction over the list of per-step inputs; (per-step outputs, last h, last c).
        With ``lengths`` (a packed batch, longest first) a sequence's state stops changing after its end, and
        the reverse direction starts at each sequence's own last step."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        n = len(steps)
        outs = [None] * n
        for t in (range(n - 1, -1, -1) if reverse else range(n)):
            x = steps[t]
            if self.mode == "LSTM":
                h_new, c_new = lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr)
            elif self.mode == "GRU":
                h_new, c_new = gru_step(x, h, w_ih, w_hh, b_ih, b_hh), None
            else:
                h_new, c_new = rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, self.mode == "RNN_RELU"), None
            if lengths is not None and lengths[-1] <= t:                # some sequences have already ended
                live = Tensor((lengths > t)[:, None].astype(h.dtype)).to(h.device)
                h_new = h_new * live + h * (1 - live)
                c_new = c_new * live + c * (1 - live) if c_new is not None else None
                outs[t] = h_new * live
            else:
                outs[t] = h_new
            h, c = h_new, c_new
        return outs, h, c

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (``nonlinearity="relu"`` for relu), stacked
    ``num_layers`` deep. ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        _check_choice("RNN", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's gate order (input, forget, cell, output). ``LSTM(input_size,
    hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False, proj_size=0)``;
    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's gate order (reset, update, new). ``GRU(input_size, hidden_size,
    num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False)``;
    ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# ---------------------------------------------------------------- one step as a layer
class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (G * hidden, input), ``weight_hh`` (G * hidden, hidden), ``bias_ih``,
    ``bias_hh`` (G * hidden), uniform in +-1/sqrt(hidden_size); input (N, input_size) or (input_size,)."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g, kw = self.gates * hidden_size, dict(device=device, dtype=dtype)
        self.weight_ih = Parameter(empty(g, input_size, **kw))
        self.weight_hh = Parameter(empty(g, hidden_size, **kw))
        if bias:
            self.bias_ih, self.bias_hh = Parameter(empty(g, **kw)), Parameter(empty(g, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def _prepare(self, input, hx):  # noqa: A002
        """(input as (N, input_size), the state(s) as (N, hidden) (zeros if None), whether to drop N again)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input to be 1D or 2D, got {input.ndim}D (shape {input.shape})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size} (input shape {input.shape})")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        states = hx if isinstance(hx, tuple) else (hx,)
        out = []
        for h in states:
            if h is None:
                h = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            else:
                h = h.unsqueeze(0) if unbatched and h.ndim == 1 else h
                if tuple(h.shape) != (x.shape[0], self.hidden_size):
                    want = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
                    raise RuntimeError(f"{name}: the hidden state must have shape {want} for input of shape "
                                       f"{input.shape}, got {tuple(h.shape)}")
            out.append(h)
        return x, out, unbatched

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        _check_choice("RNNCell", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, hx)
        h = rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity == "relu")
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step. ``forward(input, (h, c)=None) -> (h', c')``."""

    gates = 4

    def forward(self, input, hx=None):  # noqa: A002
        x, (h, c), unbatched = self._prepare(input, hx if hx is not None else (None, None))
        h, c = lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step. ``forward(input, hx=None) -> h'``."""

    gates = 3

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, hx)
        h = gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h.squeeze(0) if unbatched else h
