"""The plugin contract.

Every optimizer, model and task in zoo, built-in or third-party, is
contributed through these hooks. A third-party package exposes a module (or
object) implementing some of them under the entry-point group ``zoo``::

    [project.entry-points.zoo]
    myplugin = "my_package.zoo_plugin"

Registration hooks return a list of :class:`zoo.registry.PluginSpec`.
Lifecycle hooks are called by the runner so that observers (loggers,
dashboards) can follow a run without touching the runner.
"""

import pluggy

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@hookspec
def zoo_optimizers():
    """Return a list of optimizer :class:`~zoo.registry.PluginSpec`.

    ``spec.build(**params)`` must return an object with a
    ``run(problem, model, ctx) -> Outcome`` method (see :mod:`zoo.optimizer`).
    """


@hookspec
def zoo_models():
    """Return a list of model :class:`~zoo.registry.PluginSpec`.

    ``spec.build(input_shape=..., num_classes=..., **params)`` must return a
    :class:`zoo.population.PopulationModel`.
    """


@hookspec
def zoo_tasks():
    """Return a list of task :class:`~zoo.registry.PluginSpec`.

    ``spec.build(data_root=..., **params)`` must return a :class:`zoo.task.Task`.
    """


@hookspec
def zoo_run_start(suite, cells):
    """Called once before the first cell of a run, with every pending cell."""


@hookspec
def zoo_cell_start(cell):
    """Called before a cell runs."""


@hookspec
def zoo_cell_finish(cell, record):
    """Called after a cell's record was committed to the store."""


@hookspec
def zoo_cell_error(cell, error):
    """Called when a cell raised; the run continues with the next cell."""


@hookspec
def zoo_run_finish(suite, summary):
    """Called once after the last cell, also after an interruption.

    ``summary`` is a dict with the counts ``done``, ``skipped``, ``failed``
    and ``interrupted`` (a bool).
    """
