"""The ``runner`` executable (``python -m runner`` and the installed script alike).

The collector is paused before the command line's modules load (:mod:`runner.collector`);
the command resumes it once its own start-up is done."""

from runner import collector


def main() -> None:
    collector.pause()
    from runner import cli

    cli.main()


if __name__ == "__main__":
    main()
