"""The parts of pattern-vectorize-dense: planners that turn linalg ops into generated kernels
(plans.py and its siblings), and the rewrites that prepare the remaining linalg ops for the
upstream transform script (transform.py)."""
