"""A tar of task files, for an executor that cannot write them while setting a node up."""

from __future__ import annotations

import io
import tarfile
import time

from runner.executors.base import TaskFile


def task_files_tar(files: list[TaskFile] | tuple[TaskFile, ...]) -> bytes:
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for item in files:
            data = item.text.encode()
            info = tarfile.TarInfo(item.path)
            info.size, info.mode, info.mtime = len(data), item.mode, now
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
