"""Debugging step failures (issue 7): shells in a job's environment, kept environments,
re-running from one step, and failure reports a person can act on.

* ``runner run --shell``: CircleCI's "rerun job with SSH", locally. Deploy steps are skipped
  with CircleCI's words; after the job's steps a shell opens in the node (:mod:`.plan` says
  which node), with the job's environment, BASH_ENV and working directory (:mod:`.shell`).
* ``--shell-on-failure``: the same shell when a step fails, in that step's environment and
  directory, the failure explained above the prompt (:mod:`runner.report.failure`); the job
  then goes on.
* ``--keep`` records how to enter the kept node (:mod:`.kept`); ``runner shell`` enters it
  (:mod:`.reenter`; each backend reaches its own, :mod:`runner.executors.kept`), ``runner clean``
  removes it.
* ``--from-step``/``--only-step`` (:mod:`.steps`) restore a kept environment of an earlier run
  (:mod:`.restore`) instead of re-running the steps before.

The node calls in through :class:`runner.node_hooks.NodeHooks`, implemented in :mod:`.hooks`;
executors give one primitive, ``Session.shell`` (see :mod:`runner.executors.interactive`).
"""
