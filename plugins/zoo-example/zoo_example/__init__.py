"""The example plugins of docs/plugins.md."""
