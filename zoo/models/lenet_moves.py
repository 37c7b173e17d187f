"""LeNet logits of single-coordinate moves, computed from the point's activations instead of a forward pass each.

Pattern search evaluates copies of one point that each differ in a single
parameter. Such a move changes one logit column (last layer), one hidden
unit (dense layers) or one conv2 channel, so its effect on every sample's
logits follows from the point's stored activations in O(n * width) instead
of a full forward pass of O(n * parameters). Every change is propagated as
a difference that is exactly zero where nothing changes, so a move without
effect (a dead ReLU unit, say) gets the point's own logits bit for bit.
A conv1 move changes one conv1 channel, and conv2 only through that channel:
one grouped convolution of the change.

Normalized-loss scales are updated the same way: a move changes one weight
tensor's squared norm by ``(w + d)^2 - w^2``, summed in float64.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.compiled import build
from zoo.models.layers import relu_pool2


@lru_cache(maxsize=None)
def fc1_moves_kernel():
    """``zoo_lenet_fc1_moves(...)`` (``lenet_moves.c``): the logits of LeNet's fc1 moves, or None without a compiler."""
    library = build((Path(__file__).with_name("lenet_moves.c"),))
    if library is None:
        return None
    moves = library.zoo_lenet_fc1_moves
    moves.argtypes, moves.restype = [ctypes.c_int64] * 6 + [ctypes.c_void_p] * 12, None
    return moves

class LeNetMoves:
    """The activations of one LeNet point on ``x`` and the logits and scales of its single-coordinate moves."""

    def __init__(self, model, point: torch.Tensor, x: torch.Tensor, previous: "LeNetMoves | None" = None):
        """``previous``: the activations of an earlier point; what its parameters and inputs leave unchanged is kept."""
        self.model, self.point, self.x = model, point, x
        self.offsets, start = {}, 0
        for block in model.blocks:
            self.offsets[block.name] = (start, start + block.numel)
            start += block.numel
        if previous is None or previous.model is not model:
            self.ends = torch.tensor([end for _, end in self.offsets.values()], device=point.device)
            self.in_norm = torch.tensor([spec.in_norm for spec in model.blocks], device=point.device)
        else:
            self.ends, self.in_norm = previous.ends, previous.in_norm
        p = {name: t[0] for name, t in model.unflatten(point).items()}
        self.p, self.c2, self.side = p, model.sizes[2], model.sizes[3]
        self.kernel = fc1_moves_kernel() if point.device.type == "cpu" and point.dtype == torch.float32 else None
        changed = self.changed(previous)
        conv1 = self.channels(changed, "conv1_w", "conv1_b", self.x.shape[1] * 25)
        conv2 = self.channels(changed, "conv2_w", "conv2_b", model.sizes[1] * 25)
        if conv1 is None:
            self.pre1 = F.conv2d(x, p["conv1_w"], p["conv1_b"])  # [n, c1, 2*s1, 2*s1]
            self.pool1 = relu_pool2(self.pre1)  # [n, c1, s1, s1]
        else:  # only these channels of conv1 changed: each computed again alone
            self.pre1, self.pool1 = previous.pre1, previous.pool1
            if conv1:
                self.pre1, self.pool1 = self.pre1.clone(), self.pool1.clone()
                for c in conv1:
                    self.pre1[:, c] = one_channel(x, p["conv1_w"][c], p["conv1_b"][c])
                    self.pool1[:, c] = relu_pool2(self.pre1[:, c])
        if conv1 or conv2 is None:
            self.pre2 = F.conv2d(self.pool1, p["conv2_w"], p["conv2_b"])  # [n, c2, 2*side, 2*side]
            self.feat = relu_pool2(self.pre2).flatten(1)  # [n, c2*side*side]
        else:
            self.pre2, self.feat = previous.pre2, previous.feat
            if conv2:
                self.pre2, self.feat, area = self.pre2.clone(), self.feat.clone(), self.side * self.side
                for o in conv2:
                    self.pre2[:, o] = one_channel(self.pool1, p["conv2_w"][o], p["conv2_b"][o])
                    self.feat[:, o * area : (o + 1) * area] = relu_pool2(self.pre2[:, o]).flatten(1)
        # where the features may differ from the previous point's: (samples, columns); None: anywhere
        area, diff = self.side * self.side, None
        if conv1 == [] and conv2 is not None:
            diff = (torch.empty(0, dtype=torch.long, device=x.device), [o * area + j for o in conv2 for j in range(area)])
        self.a1, diff = self.dense(previous, changed, "a1", self.feat, "feat", diff, "fc1_w", "fc1_b")
        self.h1 = previous.h1 if diff is not None and self.a1 is previous.a1 else torch.relu(self.a1)
        self.a2, diff = self.dense(previous, changed, "a2", self.h1, "h1", diff, "fc2_w", "fc2_b")
        self.h2 = previous.h2 if diff is not None and self.a2 is previous.a2 else torch.relu(self.a2)
        self.a3, _ = self.dense(previous, changed, "a3", self.h2, "h2", diff, "fc3_w", "fc3_b")
        self.logits = self.a3.unsqueeze(0)  # [1, n, C]
        # per block: squared Frobenius norm in float64 (1 for biases, which the scale leaves out)
        moved = set(changed.tolist()) if changed is not None and len(changed) <= 4 else None
        self.squares = torch.stack([self.square(previous, moved, i, spec) for i, spec in enumerate(model.blocks)])
        self.scale64 = (self.squares[self.in_norm].sqrt() / 3.0).prod().reshape(1)
        self.scale = self.scale64.float()

    def square(self, previous, moved, i, spec) -> torch.Tensor:
        """Block ``spec``'s squared norm in float64: the previous point's when none of its parameters moved."""
        start, end = self.offsets[spec.name]
        if moved is not None and not any(start <= j < end for j in moved):
            return previous.squares[i]
        if not spec.in_norm:
            return torch.ones((), dtype=torch.float64, device=self.point.device)
        return self.p[spec.name].double().square().sum()

    def changed(self, previous) -> torch.Tensor | None:
        """The parameters in which this point differs from ``previous`` (None without one)."""
        if previous is None or previous.x is not self.x:
            return None
        return (self.point[0] != previous.point[0]).nonzero().flatten()

    def channels(self, changed, weight: str, bias: str, per_out: int) -> list[int] | None:
        """The output channels or units of a layer whose parameters changed; None: compute the layer whole."""
        if changed is None or len(changed) > 4:
            return None
        (w0, w1), (b0, b1) = self.offsets[weight], self.offsets[bias]
        out = {int(i - w0) // per_out for i in changed.tolist() if w0 <= i < w1}
        return sorted(out | {int(i - b0) for i in changed.tolist() if b0 <= i < b1})

    def dense(self, previous, changed, name, inputs, inputs_name, diff, weight, bias):
        """A dense layer's pre-activations ``[n, out]`` and where they differ from the previous point's.

        ``diff``: (samples, columns) that hold every difference of ``inputs``
        from the previous point's, or None (anywhere: computed whole). A unit
        whose weights changed is computed again on every sample, a sample
        whose inputs changed on every unit, the rest is kept. Each value is
        computed from the current inputs and weights, so no error builds up
        over the steps of a search.
        """
        w, b = self.p[weight], self.p[bias]
        units = self.channels(changed, weight, bias, w.shape[1]) if diff is not None else None
        if units is None:
            return torch.addmm(b, inputs, w.t()), None
        old, old_inputs = getattr(previous, name), getattr(previous, inputs_name)
        rows, columns = diff
        if columns:
            moved = (inputs[:, columns] != old_inputs[:, columns]).any(1).nonzero().flatten()  # ascending, unique
            rows = torch.cat([rows, moved]).unique() if len(rows) else moved
        if 2 * len(rows) > len(inputs):
            return torch.addmm(b, inputs, w.t()), None
        if not units and not len(rows):
            return old, (rows, [])
        out = old.clone()
        if len(rows):
            out[rows] = torch.addmm(b, inputs[rows], w.t())
        if units:
            out[:, units] = torch.addmm(b[units], inputs, w[units].t())
        return out, (rows, units)

    def evaluate(self, index: torch.Tensor, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[K, n, C]`` and normalized-loss scales ``[K]`` of the point moved at ``index[k]`` by ``delta[k]``."""
        old = self.point[0, index]
        new = old + delta  # the moved coordinates' values, as a candidate holds them
        block = torch.bucketize(index, self.ends, right=True)
        order = torch.argsort(block, stable=True)
        counts = torch.bincount(block, minlength=len(self.ends)).tolist()
        parts, first = [], 0
        for spec, count in zip(self.model.blocks, counts):
            if count:
                rows = order[first : first + count]
                local = index[rows] - self.offsets[spec.name][0]
                parts.append(getattr(self, spec.name)(local, new[rows] - old[rows], new[rows]))
                first += count
        joined = torch.cat(parts)  # in block order; back to the order of the moves
        logits = torch.empty_like(joined).index_copy_(0, order, joined)
        # a move changes one weight tensor's squared norm, and the scale by the square root of its ratio
        squares = self.squares[block]
        ratio = torch.where(self.in_norm[block], (squares - old.double().square() + new.double().square()) / squares, 1.0)
        return logits, (self.scale64 * ratio.sqrt()).float()

    # One method per block: (local indices, deltas as applied, new values) -> logits [K, n, C].

    def conv1_w(self, local, delta, values):
        out, channel, offset = self.kernel_position(local, self.x.shape[1])
        return self.conv1_channel(out, delta.view(-1, 1, 1, 1) * windows(self.x, self.pre1, channel, offset))

    def conv1_b(self, local, delta, values):
        return self.conv1_channel(local, delta.view(-1, 1, 1, 1).expand(-1, self.x.shape[0], *self.pre1.shape[-2:]))

    def conv1_channel(self, out, change):
        """Logits after conv1's output channel ``out[k]`` changes by ``change[k]`` (``[K, n, s, s]``): every conv2 channel."""
        k, c2 = len(out), self.c2
        pool = relu_pool2(self.pre1.index_select(1, out).transpose(0, 1) + change)  # [K, n, s1, s1]
        dpool = (pool - self.pool1.index_select(1, out).transpose(0, 1)).transpose(0, 1).contiguous()  # [n, K, s1, s1]
        weight = self.p["conv2_w"].index_select(1, out).transpose(0, 1).reshape(k * c2, 1, 5, 5)  # conv2 from channel out[k] alone
        dpre = F.conv2d(dpool, weight, groups=k).view(len(self.x), k, c2, *self.pre2.shape[-2:]).transpose(0, 1)
        feat = relu_pool2(self.pre2 + dpre).reshape(k, len(self.x), -1)
        return self.from_h1(torch.relu(self.a1 + F.linear(feat - self.feat, self.p["fc1_w"])) - self.h1)

    @staticmethod
    def kernel_position(local, channels):
        """(output channel, input channel, offset in the 5x5 kernel) of a conv weight's flat index."""
        per_out = channels * 25
        return local // per_out, (local % per_out) // 25, local % 25

    def conv2_w(self, local, delta, values):
        out, channel, offset = self.kernel_position(local, self.pool1.shape[1])
        return self.conv2_channel(out, delta.view(-1, 1, 1, 1) * windows(self.pool1, self.pre2, channel, offset))

    def conv2_b(self, local, delta, values):
        return self.conv2_channel(local, delta.view(-1, 1, 1, 1).expand(-1, self.x.shape[0], *self.pre2.shape[-2:]))

    def conv2_channel(self, out, change):
        """Logits after conv2's output channel ``out[k]`` changes by ``change[k]`` (``[K, n, s, s]``)."""
        area, k, n = self.side * self.side, len(out), len(self.x)
        pre = self.pre2.index_select(1, out).transpose(0, 1) + change
        feat = relu_pool2(pre).flatten(2)  # [K, n, side*side]
        columns = (out.view(-1, 1) * area + torch.arange(area, device=out.device)).flatten()  # K * area
        dfeat = feat - self.feat.index_select(1, columns).view(n, k, area).transpose(0, 1)
        w = self.p["fc1_w"].index_select(1, columns).view(-1, k, area).permute(1, 2, 0)  # [K, area, f1]
        return self.from_h1(torch.relu(self.a1 + torch.bmm(dfeat, w)) - self.h1)

    def fc1_w(self, local, delta, values):
        unit, column = local // self.feat.shape[1], local % self.feat.shape[1]
        if self.kernel is not None:
            return self.fc1_compiled(unit, column, delta)
        return self.fc1_unit(unit, delta.view(-1, 1) * self.feat[:, column].t())

    def fc1_b(self, local, delta, values):
        if self.kernel is not None:
            return self.fc1_compiled(local, torch.full_like(local, -1), delta)
        return self.fc1_unit(local, delta.view(-1, 1).expand(-1, self.x.shape[0]))

    def fc1_compiled(self, unit, column, delta):
        """:meth:`fc1_unit` in the compiled kernel (``lenet_moves.c``), each row in one pass; ``column`` -1: a bias."""
        (n, f1), (flat, f2), classes = self.a1.shape, (self.feat.shape[1], self.a2.shape[1]), self.a3.shape[1]
        if getattr(self, "w2t", None) is None:
            self.w2t = self.p["fc2_w"].t().contiguous()  # [f1, f2]: unit u's outgoing weights in a row
        tensors = (unit.contiguous(), column.contiguous(), delta.contiguous(), self.a1.contiguous(), self.feat.contiguous(),
                   self.w2t, self.a2.contiguous(), self.h2.contiguous(), self.a3.contiguous(), self.p["fc3_w"].contiguous())
        out, scratch = self.a3.new_empty(len(unit), n, classes), self.a3.new_empty(f2)
        self.kernel(len(unit), n, f1, flat, f2, classes, *(t.data_ptr() for t in tensors), out.data_ptr(), scratch.data_ptr())
        return out

    def fc1_unit(self, unit, change):
        """Logits after hidden unit ``unit[k]`` of fc1 changes its pre-activation by ``change[k]`` (``[K, n]``)."""
        a = self.a1[:, unit].t()
        dh = (torch.relu(a + change) - torch.relu(a)).contiguous()  # [K, n]
        flat = dh.view(-1).nonzero().flatten()  # move * n + sample, where the unit's output changed
        sample, moved = flat % dh.shape[1], flat // dh.shape[1]
        w = self.p["fc2_w"][:, unit].t().index_select(0, moved)  # [rows, f2]
        a2 = torch.addcmul(self.a2.index_select(0, sample), dh.view(-1).index_select(0, flat).unsqueeze(1), w)
        return self.from_a2(len(unit), flat, sample, a2)

    def from_h1(self, dh1):
        """Logits after fc1's outputs change by ``dh1`` (``[K, n, f1]``)."""
        flat = (dh1.abs().sum(2) > 0).view(-1).nonzero().flatten()  # rows with a change: a sum of |.| is 0 only if all are
        if 2 * len(flat) > dh1.shape[0] * dh1.shape[1]:  # most rows changed: every row, without gathering them
            # a row without change adds exact zeros: relu(a2 + 0) - h2 = 0, and a3 + 0 = a3, bit for bit
            a2 = self.a2 + F.linear(dh1, self.p["fc2_w"])
            return self.a3 + F.linear(torch.relu(a2) - self.h2, self.p["fc3_w"])
        sample = flat % dh1.shape[1]
        change = F.linear(dh1.view(-1, dh1.shape[2]).index_select(0, flat), self.p["fc2_w"])
        return self.from_a2(len(dh1), flat, sample, self.a2.index_select(0, sample) + change)

    def from_a2(self, k, flat, sample, a2):
        """Logits ``[K, n, C]`` of ``k`` moves, where row ``flat[i]`` (move * n + sample) has fc2 pre-activations ``a2[i]``.

        Only those rows are computed; every other sample keeps the point's logits bit for bit.
        """
        logits = self.logits.expand(k, -1, -1).clone()
        change = F.linear(torch.relu(a2) - self.h2.index_select(0, sample), self.p["fc3_w"])
        logits.view(-1, logits.shape[2]).index_copy_(0, flat, self.a3.index_select(0, sample) + change)
        return logits

    def fc2_w(self, local, delta, values):
        unit, column = local // self.h1.shape[1], local % self.h1.shape[1]
        return self.fc2_unit(unit, delta.view(-1, 1) * self.h1[:, column].t())

    def fc2_b(self, local, delta, values):
        return self.fc2_unit(local, delta.view(-1, 1).expand(-1, self.x.shape[0]))

    def fc2_unit(self, unit, change):
        a = self.a2[:, unit].t()
        dh = torch.relu(a + change) - torch.relu(a)  # [K, n]
        return torch.addcmul(self.logits, dh.unsqueeze(2), self.p["fc3_w"][:, unit].t().unsqueeze(1))

    def fc3_w(self, local, delta, values):
        cls, column = local // self.h2.shape[1], local % self.h2.shape[1]
        return self.fc3_class(cls, delta.view(-1, 1) * self.h2[:, column].t())

    def fc3_b(self, local, delta, values):
        return self.fc3_class(local, delta.view(-1, 1).expand(-1, self.x.shape[0]))

    def fc3_class(self, cls, change):
        logits = self.logits.repeat(len(cls), 1, 1)
        rows = torch.arange(len(cls), device=cls.device)
        logits[rows, :, cls] += change
        return logits


def one_channel(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``[n, h, w]``: one output channel of a 5x5 convolution of ``inputs`` (``[n, c, H, W]``) with ``weight`` (``[c, 5, 5]``).

    A depthwise convolution of every (sample, channel) plane, summed over
    channels. On 1,000 samples on one thread it took 0.8 to 1.3 ms for
    MNIST's conv2 and 1.4 ms for its conv1, against 2.4 and 28 ms for
    F.conv2d with one output channel and 3 to 5 ms for a plain C loop.
    """
    n, c, h, w = inputs.shape
    planes = F.conv2d(inputs.reshape(1, n * c, h, w), weight.reshape(c, 1, 5, 5).repeat(n, 1, 1, 1), groups=n * c)
    return planes.view(n, c, h - 4, w - 4).sum(1) + bias


def windows(inputs, outputs, channel, offset):
    """``[K, n, s, s]``: the inputs that kernel position ``offset[k]`` of input channel ``channel[k]`` meets at each output."""
    s = outputs.shape[-1]
    at = zip(channel.tolist(), (offset // 5).tolist(), (offset % 5).tolist())
    return torch.stack([inputs[:, c, i : i + s, j : j + s] for c, i, j in at])
