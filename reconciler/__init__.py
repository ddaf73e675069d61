"""ecs-reconciler: a GitOps reconciler for Amazon ECS.

The version has one home, ``[project] version`` in pyproject.toml; the installed package's
metadata carries it here, to ``--version``, to the image's label and tag.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecs-reconciler")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
