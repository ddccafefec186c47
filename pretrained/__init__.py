"""Bundled models, attribute classifiers and their model cards: package data of ganeval.

pyproject.toml installs this folder as `ganeval.pretrained`; `ganeval.assets` finds the files.
"""
