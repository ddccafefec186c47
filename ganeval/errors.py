"""Errors a user can cause and fix. The CLI prints them as one line and exits with code 2."""


class GanevalError(Exception):
    """Base class: a bad path, a wrong format, a missing weight file, a bad option."""


class CheckpointError(GanevalError):
    """A checkpoint file is missing, truncated, of an unknown format, or refused for safety."""


class WeightsNotFoundError(GanevalError):
    """An external weight file (Inception, VGG16, classifiers) is not on this machine."""


class DataError(GanevalError):
    """A dataset folder, zip or CelebA-format directory cannot be read."""


class ConfigError(GanevalError):
    """An option or architecture setting is invalid (unknown arch, bad resolution, ...)."""


class MetricError(GanevalError):
    """A metric cannot be computed for this generator (e.g. PPL in W without a W space)."""


class NonFiniteError(GanevalError):
    """A network produced NaN or Inf (damaged weights, a non-finite option): the run stops instead of turning
    it into a number."""
