"""zoo's public interface for plugin authors: import from here.

Everything named in ``__all__`` is stable: it keeps its name, signature and
meaning within a major version of zoo (a change that breaks it raises the
major version and is announced in docs/plugins.md). Everything else under
``zoo.`` is internal and may change in any release, even when a plugin can
reach it. docs/plugins.md explains each name.

- Registering: :func:`hookimpl` marks hook functions (the hooks are in
  :mod:`zoo.hookspecs`); :class:`PluginSpec` and :class:`Param` describe what
  a hook contributes; :func:`module_model` turns a ``torch.nn.Module`` into a
  model plugin.
- Optimizers receive a :class:`Problem`, a :class:`PopulationModel` and a
  :class:`Context`, and return an :class:`Outcome`; the acceptance rule is
  :func:`fit_and_loss`, :func:`accepted` and :func:`test_accuracy`.
- Tasks subclass :class:`Task`; :func:`data_root`, :func:`cache_dir` and
  :func:`cached_arrays` find and cache data.
- Observers receive :class:`Cell`, :class:`SuiteInfo`, :class:`CellRecord`
  and :class:`RunSummary`.
- Testing: :func:`run_manifest` runs a manifest in process with your
  plugins and returns its records (:class:`RunResult`); benchmarking:
  :class:`CellBenchmark` is an asv benchmark of one cell.
"""

from zoo.benchmarking import CellBenchmark
from zoo.cells import Cell, Component
from zoo.data import cache_dir, cached_arrays, data_root
from zoo.evaluate import accepted, fit_and_loss, normalized_loss, test_accuracy
from zoo.hookspecs import CellRecord, Curve, RunSummary, SuiteInfo, hookimpl
from zoo.module_population import module_model
from zoo.optimizer import Context, Outcome, derive_seed
from zoo.population import ParamBlock, PopulationModel, frobenius
from zoo.registry import Param, PluginSpec
from zoo.task import Problem, Task, balanced_indices, relabel
from zoo.testing import RunResult, run_manifest

__all__ = [
    "Cell", "CellBenchmark", "CellRecord", "Component", "Curve", "Context", "Outcome", "Param", "ParamBlock", "PluginSpec", "PopulationModel",
    "Problem", "RunResult", "RunSummary", "SuiteInfo", "Task", "accepted", "balanced_indices", "cache_dir", "cached_arrays",
    "data_root", "derive_seed", "fit_and_loss", "frobenius", "hookimpl", "module_model", "normalized_loss", "relabel",
    "run_manifest", "test_accuracy",
]
