"""The preflight tag, shared by the pipelines that declare checks and the hook that runs them.

A node tagged ``PREFLIGHT_TAG`` checks a run's prerequisites from parameters alone (e.g. that
pretrained weights can be found; such nodes are named ``check_…``). ``hooks.PreflightChecksHooks``
runs them before the first node, so a run that cannot finish stops in seconds rather than
after an hour of earlier work.
"""

PREFLIGHT_TAG = "preflight"
