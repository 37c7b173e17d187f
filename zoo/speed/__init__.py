"""Measurements that compose plugins: the reference designs zoo is timed against, rates, load and cost.

They sit above the built-in plugins (they build models, tasks and optimizers
to time them) and below the commands; only ``zoo speed``, ``zoo bench
--estimate`` and asv import them, never the spine, the engine or a plugin.

- :mod:`zoo.speed.guess_rate`: Guess & Check guesses per second, on one process or on Ray workers.
- :mod:`zoo.speed.search_rate`: pattern search and random greedy search rounds per second.
- :mod:`zoo.speed.sgd_rate`: SGD steps per second of LeNet populations, against
  :mod:`zoo.speed.sgd_reference`, the reference implementation's design.
- :mod:`zoo.speed.contention`: a cell's wall time on idle cores and beside busy loops.
- :mod:`zoo.speed.estimate`: the guesses and time each Guess & Check cell needs, before it runs.
"""
