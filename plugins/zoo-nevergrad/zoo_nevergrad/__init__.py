"""Nevergrad's gradient-free optimizers as zoo optimizers (see README.md)."""
