"""ganeval: the StyleGAN family and the metrics of its papers."""

__version__ = "0.1.0"
