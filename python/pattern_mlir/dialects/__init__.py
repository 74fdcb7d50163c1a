"""Python op classes of the pattern dialect (generated) and their helpers."""
