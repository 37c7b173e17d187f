"""The Guess & Check engine.

- :mod:`zoo.guessing.stream`: guess i's parameters, from the cell seed and i alone.
- :mod:`zoo.guessing.reference`: the reference judge, every guess on all n samples
  (the baseline, and the arbiter of every close call).
- :mod:`zoo.guessing.probes`: the model's probes: fast logits of a population on a few
  training samples, asked of the model (the built-in models' in :mod:`zoo.models.probes`).
- :mod:`zoo.guessing.early`: the fast judge, which rejects a guess at its first
  clear misclassification.
- :mod:`zoo.guessing.search`: the loop that walks the stream until enough guesses
  are accepted, on one or more threads.
"""
