"""Checkpoints: a long cell's progress saved to the store, so a killed run resumes it.

An optimizer hands :meth:`zoo.optimizer.Context.checkpoint` a plain state:
a tree of dicts and lists whose leaves are numbers, strings, booleans, None
and tensors (a generator's state is its byte tensor, ``gen.get_state()``).
A checkpoint is data, never a pickle: the tree is JSON with every tensor
replaced by a reference, and the tensors follow as raw bytes, each with its
dtype and shape. :func:`decode` checks all of it and raises
:class:`DamagedCheckpoint` on anything it does not expect, so a damaged or
foreign checkpoint is ignored with a warning and the cell starts afresh.

A cell's checkpoint is kept under its *experiment* id (its id without the
budgets, :attr:`zoo.cells.Cell.experiment_id`): a cell whose budget grew
continues from the progress of the smaller one. When a cell's final row
commits, its in-flight checkpoint is replaced in the same transaction by the
state it ended in (or dropped when the optimizer gives none).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch

FORMAT = 1
DEFAULT_SECONDS = 5.0  # saving interval unless the manifest or the command line says otherwise
DTYPES = {str(dtype).removeprefix("torch."): dtype for dtype in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16, torch.int8,
    torch.uint8, torch.bool)}
MAX_DEPTH = 32


class DamagedCheckpoint(ValueError):
    """A checkpoint that cannot be read back as it was written."""


@dataclass
class Saved:
    """One checkpoint as the store keeps it: a JSON header and the tensors' bytes."""

    header: str
    data: bytes
    cell_id: str = ""
    final: bool = False


def encode(state: dict) -> tuple[str, bytes]:
    """``state`` as (JSON header, tensor bytes)."""
    tensors: list[dict] = []
    chunks: list[bytes] = []
    offset = 0

    def walk(value, depth):
        nonlocal offset
        if depth > MAX_DEPTH:
            raise ValueError("a checkpoint state nested too deep")
        if isinstance(value, torch.Tensor):
            tensor = value.detach().to("cpu").contiguous()
            name = str(tensor.dtype).removeprefix("torch.")
            if name not in DTYPES:
                raise ValueError(f"a checkpoint cannot hold tensors of {tensor.dtype}")
            raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
            tensors.append({"dtype": name, "shape": list(tensor.shape), "offset": offset, "nbytes": len(raw)})
            chunks.append(raw)
            offset += len(raw)
            return {"$tensor": len(tensors) - 1}
        if isinstance(value, dict):
            if any(not isinstance(k, str) or k.startswith("$") for k in value):
                raise ValueError("checkpoint state keys must be strings not starting with '$'")
            return {k: walk(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, depth + 1) for v in value]
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(value)}
        raise ValueError(f"a checkpoint cannot hold a {type(value).__name__}")

    tree = walk(state, 0)
    header = json.dumps({"format": FORMAT, "state": tree, "tensors": tensors}, allow_nan=False)
    return header, b"".join(chunks)


def decode(header: str, data: bytes) -> dict:
    """The state :func:`encode` was given; :class:`DamagedCheckpoint` when anything does not fit."""
    try:
        head = json.loads(header)
    except (TypeError, ValueError) as error:
        raise DamagedCheckpoint(f"unreadable header ({error})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise DamagedCheckpoint(f"not a checkpoint of format {FORMAT}")
    specs, tree = head.get("tensors"), head.get("state")
    if not isinstance(specs, list) or not isinstance(tree, dict) or not isinstance(data, bytes):
        raise DamagedCheckpoint("malformed header")
    tensors = [_tensor(spec, data) for spec in specs]

    def walk(value, depth):
        if depth > MAX_DEPTH:
            raise DamagedCheckpoint("nested too deep")
        if isinstance(value, dict):
            if set(value) == {"$tensor"}:
                index = value["$tensor"]
                if not isinstance(index, int) or not 0 <= index < len(tensors):
                    raise DamagedCheckpoint("a reference to no tensor")
                return tensors[index]
            if set(value) == {"$float"}:
                if value["$float"] not in ("nan", "inf", "-inf"):
                    raise DamagedCheckpoint("a malformed number")
                return float(value["$float"])
            return {k: walk(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        return value

    return walk(tree, 0)


def _tensor(spec, data: bytes) -> torch.Tensor:
    if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES:
        raise DamagedCheckpoint("a tensor of unknown dtype")
    shape, offset, nbytes = spec.get("shape"), spec.get("offset"), spec.get("nbytes")
    if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
            or not isinstance(offset, int) or not isinstance(nbytes, int) or offset < 0 or offset + nbytes > len(data)):
        raise DamagedCheckpoint("a tensor outside the checkpoint's bytes")
    dtype = DTYPES[spec["dtype"]]
    if math.prod(shape) * torch.empty(0, dtype=dtype).element_size() != nbytes:
        raise DamagedCheckpoint("a tensor whose shape does not match its bytes")
    if nbytes == 0:
        return torch.empty(shape, dtype=dtype)
    raw = torch.frombuffer(bytearray(data[offset : offset + nbytes]), dtype=torch.uint8)
    return raw.view(dtype).reshape(shape).clone()


class Checkpointer:
    """One cell's checkpoints: what it resumes from, and saving at most every ``seconds``.

    ``save(header, data)`` writes an in-flight checkpoint (to the store); the
    final state is kept in :attr:`final` for the runner to commit with the
    cell's row. ``warn`` reports a checkpoint that cannot be used.
    """

    def __init__(self, seconds: float = DEFAULT_SECONDS, saved: Saved | None = None,
                 save: Callable[[str, bytes], None] | None = None, warn: Callable[[str], None] = lambda text: None):
        self.seconds, self.saved, self.write, self.warn = seconds, saved, save, warn
        self.last = self.began = time.monotonic()
        self.before = 0.0  # seconds the experiment had run before this process took it up
        self.final: tuple[str, bytes] | None = None
        self.resumed_from: str | None = None  # the cell whose progress this one continues
        self.saves = 0

    def elapsed(self) -> float:
        """Seconds of the experiment so far, earlier runs included."""
        return self.before + time.monotonic() - self.began

    def due(self) -> bool:
        return self.write is not None and self.seconds > 0 and time.monotonic() - self.last >= self.seconds

    def save(self, state: dict, final: bool = False) -> None:
        header, data = encode(state)
        if final:
            self.final = (header, data)
            return
        try:
            self.write(header, data)
            self.saves += 1
        except Exception as error:  # a checkpoint is a convenience: the cell goes on without it
            self.warn(f"cannot save a checkpoint ({type(error).__name__}: {error}); the cell goes on without")
            self.write = None
        self.last = time.monotonic()

    def load(self) -> dict | None:
        """The saved state, or None when there is none or it is damaged (with a warning)."""
        if self.saved is None:
            return None
        try:
            return decode(self.saved.header, self.saved.data)
        except DamagedCheckpoint as error:
            self.warn(f"ignoring a damaged checkpoint ({error}); the cell starts afresh")
            return None
