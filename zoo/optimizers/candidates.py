"""How a local search evaluates one round's candidates: the reference design and two faster paths.

All three give every candidate's train accuracy, objective and normalized
loss, and the best candidate of the round (the first of equal minima, in
proposal order); they differ only in arithmetic, so a search takes the same
moves with each up to float rounding (tests/test_search_engines.py).

- :class:`FullForward` (``engine = "reference"``): the reference
  implementation's design. The current point and its candidates form one
  population, every model on all n samples in one batched forward pass
  (grouped convolutions for LeNet).
- :class:`SharedFeatures`: candidates that agree with the point before the
  model's head share the point's features, computed once per point.
- :class:`CoordinateDeltas`: candidates that each move one coordinate, on a
  model that can propagate such a move from the point's activations
  (``model.single_moves``; LeNet, :mod:`zoo.models.lenet_moves`).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch

from zoo.evaluate import accuracy
from zoo.population import declared

ENGINES = ("fast", "reference")
SAMPLE_BUDGET = 4096  # models x samples per forward pass; bounds activation memory, not results
DELTA_BUDGET = 1 << 16  # candidates x samples per incremental pass


class Scorer:
    """Train accuracy, objective (what the search minimizes) and normalized loss of logits ``[K, n, C]``."""

    def __init__(self, y: torch.Tensor, objective: str):
        self.y, self.plain = y, objective == "cross_entropy"

    def __call__(self, logits, scale):
        return (self.accuracy(logits), *self.losses(logits, scale))

    def losses(self, logits, scale):
        norm_loss = mean_cross_entropy(logits / scale.view(-1, 1, 1), self.y)
        objective = mean_cross_entropy(logits, self.y) if self.plain else norm_loss
        return objective, norm_loss

    def accuracy(self, logits):
        return accuracy(logits, self.y)


def mean_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per model of ``logits[K, n, C]``: :func:`zoo.evaluate.normalized_loss` up to rounding.

    torch's log-softmax over a last dimension of ten classes runs at a tenth
    of the speed of the exponentials it needs; the round's candidates spent
    1.4 ms there against 0.8 ms this way (99 candidates, 100 samples).
    """
    top = logits.amax(-1, keepdim=True)
    log_sum = (logits - top).exp_().sum(-1).log_() + top.squeeze(-1)
    return (log_sum - logits[:, torch.arange(len(y), device=y.device), y]).mean(1)


class Round:
    """The best candidate seen so far in a round and how many were evaluated.

    Only the best candidate's train accuracy is computed.
    """

    def __init__(self, score: Scorer):
        self.score, self.best, self.evaluated, self.point_loss = score, None, 0, None

    def offer(self, candidates_or_maker, logits, scale) -> None:
        objective, norm = self.score.losses(logits, scale)
        i = int(objective.argmin())
        if self.best is None or objective[i] < self.best[2]:
            candidate = candidates_or_maker(i) if callable(candidates_or_maker) else candidates_or_maker[i : i + 1]
            self.best = (candidate, self.score.accuracy(logits[i : i + 1])[0], objective[i], norm[i])
        self.evaluated += len(objective)


class Evaluation:
    """What the three evaluations share: counters and the threads they run the search on."""

    head_evals = 0  # candidates evaluated by a model's head alone

    def threads(self):
        """A context for the whole search: torch's threads as they are."""
        return nullcontext()


class FullForward(Evaluation):
    """The reference design: the point and its candidates, every model on all n samples, one batched pass."""

    def __init__(self, model, x, score: Scorer):
        self.model, self.x, self.score = model, x, score

    def round(self, point, moves, count: int) -> Round:
        result, chunk, first = Round(self.score), max(1, SAMPLE_BUDGET // len(self.x)), True
        while result.evaluated < count:  # the same chunks of proposals as the other evaluations: the same random draws
            candidates = moves.propose(point, min(count - result.evaluated, chunk))
            if len(candidates) == 0:
                break
            models = torch.cat([point, candidates]) if first else candidates
            logits, scale = self.model.forward(models, self.x), self.model.norm_scale(models)
            if first:  # the point is judged by the same arithmetic as the candidates it is compared with
                result.point_loss = self.score.losses(logits[:1], scale[:1])[0][0]
                logits, scale, first = logits[1:], scale[1:], False
            result.offer(candidates, logits, scale)
        return result


class SharedFeatures(Evaluation):
    """Candidates' logits, computing the features once per point for those that share them.

    A model with a feature stage and a head (``model.head_start``) gives every
    candidate that agrees with the current point before ``head_start`` the
    point's features; pattern search's one-coordinate moves mostly do (94% of
    LeNet's parameters are in its dense head), and a LeNet-1 round on 100
    MNIST samples then costs a few dense layers instead of 99 convolution
    passes. The head's logits equal a full forward pass up to float rounding.
    """

    def __init__(self, model, x, score: Scorer):
        self.model, self.x, self.score = model, x, score
        self.point, self.features = None, None
        self.head_evals = 0

    def round(self, point, moves, count: int) -> Round:
        result, chunk = Round(self.score), max(1, SAMPLE_BUDGET // len(self.x))
        while result.evaluated < count:
            candidates = moves.propose(point, min(count - result.evaluated, chunk))
            if len(candidates) == 0:
                break
            logits, point_logits = self.logits(point, candidates)
            if point_logits is not None:  # judge the point by the same arithmetic as the candidates
                result.point_loss = self.score.losses(point_logits, self.model.norm_scale(point))[0][0]
            result.offer(candidates, logits, self.model.norm_scale(candidates))
        return result

    def logits(self, point: torch.Tensor, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of ``candidates`` and, when the head was used, of ``point`` computed the same way."""
        k = self.model.head_start
        same = (candidates[:, :k] == point[:, :k]).all(1) if k is not None else None
        if same is None or not bool(same.any()):
            return self.model.forward(candidates, self.x), None
        if self.point is not point:  # the search replaces the point object when it moves
            self.point, self.features = point, self.model.features(point, self.x)[0]
        head = self.model.head(torch.cat([point, candidates[same]]), self.features)
        self.head_evals += len(head) - 1
        if bool(same.all()):
            return head[1:], head[:1]
        logits = head.new_empty(len(candidates), *head.shape[1:])
        logits[same] = head[1:]
        logits[~same] = self.model.forward(candidates[~same], self.x)
        return logits, head[:1]


class CoordinateDeltas(Evaluation):
    """Single-coordinate moves evaluated from the point's activations (``model.single_moves``), no candidate copies.

    The whole search runs on one torch thread (:func:`one_thread`).
    """

    def __init__(self, model, x, score: Scorer):
        self.model, self.x, self.score = model, x, score
        self.point, self.moved = None, None

    def threads(self):
        return one_thread()

    def round(self, point, moves, count: int) -> Round:
        if self.point is not point:  # the search replaces the point object when it moves
            self.point, self.moved = point, self.model.single_moves(point, self.x, self.moved)
        result, chunk = Round(self.score), max(1, DELTA_BUDGET // len(self.x))
        result.point_loss = self.score.losses(self.moved.logits, self.moved.scale)[0][0]
        while result.evaluated < count:
            index, delta = moves.propose_moves(min(count - result.evaluated, chunk))
            if len(index) == 0:
                break
            result.offer(lambda i: moved(point, index[i], delta[i]), *self.moved.evaluate(index, delta))
        return result


@contextmanager
def one_thread():
    """Run torch's operations on this thread alone for a while.

    The incremental moves, and the reshuffles of pattern search's move list,
    are many operations of well under a millisecond.
    A second OpenMP thread gains little on them on idle cores, and when other
    jobs hold the cores each operation waits for a thread that has none: a
    ReLU of 571k floats took 0.3 ms on one thread and 10.9 ms on two at load
    average 9 on two cores.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def moved(point: torch.Tensor, index: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """A copy of ``point[1, P]`` with coordinate ``index`` moved by ``delta``, as a candidate copy holds it."""
    candidate = point.clone()
    candidate[0, index] += delta
    return candidate


def evaluator(engine: str, model, x, score: Scorer, moves):
    """The fastest evaluation that ``engine`` allows for this model and these moves."""
    if engine == "reference":
        return FullForward(model, x, score)
    if hasattr(moves, "propose_moves") and declared(model, "single_moves") is not None:
        return CoordinateDeltas(model, x, score)
    if model.head_start is not None and declared(model, "head") is not None:
        return SharedFeatures(model, x, score)
    return FullForward(model, x, score)
