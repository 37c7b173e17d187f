"""Few-shot learning on a ResNet-12 backbone.

Pre-train the backbone on a dataset's base classes (:mod:`~zoo.fewshot.pretrain`,
``zoo pretrain``), then fit linear heads on its frozen features in N-way
K-shot episodes over novel classes (:mod:`~zoo.fewshot.task`, the ``fewshot``
task) with any registered optimizer. See docs/fewshot.md.
"""
