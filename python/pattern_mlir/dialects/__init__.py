"""Python op classes of the pattern dialect (generated) and their helpers."""

from .._registration import register_dialect

register_dialect()  # the package builds and reads pattern IR
