"""The generator: the architecture registry, configs and presets, the CLI, emission and flows."""
