"""``runner serve``: CircleCI's trigger APIs (v1.1 jobs, v2 pipelines) on this machine.

Only ``runner serve`` imports this package, so only it pays for FastAPI.
"""
