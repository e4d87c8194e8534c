"""One way to write a duration in everything runner prints (issue 18): ``0.03s``, ``12.40s``,
``3m05s``, ``1h02m``. (CircleCI's own messages, such as "exceeded 10m0s", keep Go's format:
runner.explain.format_duration.)"""

from __future__ import annotations


def fmt_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
