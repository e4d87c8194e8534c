"""A run's workspace: one layer per ``persist_to_workspace`` step of each job node [WS].

Layout, under the run's directory::

    workspace/layers/<job>/<node>-<step>/   manifest.json + one archive per persisted entry
    workspace/pending/<job>.<node>-<step>   written when a persist starts, removed once its
                                            layer is published (so a missing layer is known)
    workspace/tmp/                          layers being written

A layer is complete or absent: it is written under ``tmp`` and renamed into place with its
manifest. ``attach_workspace`` applies the layers of every upstream job in graph order; when
two concurrent layers (jobs where neither requires the other, or two nodes of one job) hold
the same file, attaching fails, as CircleCI's does: "If multiple concurrent jobs persist the
same filename, then attaching the workspace will error" [WS].
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from msgspec import Struct

from runner.names import name_form
from runner.store.files import StoredArchive, read_json, write_json
from runner.store.pending import PendingArchives

MANIFEST = "manifest.json"


def place(target: str, name: str) -> str | None:
    """Where member ``name`` of a part (``top/rest``) lands in the workspace, or None for the
    top directory of a part persisted as ``.`` (the workspace root itself)."""
    rest = name.split("/", 1)[1] if "/" in name else ""
    if target == ".":
        return rest or None
    return f"{target}/{rest}" if rest else target


class LayerPart(Struct, frozen=True):
    target: str  # where the entry goes in the workspace, relative to it ("." for all of it)
    archive: StoredArchive

    def names(self) -> list[str]:
        return [n for n in (place(self.target, name) for name in self.archive.names) if n]


class Layer(Struct, frozen=True):
    job: str
    node: int
    step: int
    root: str  # the persist root, as the node resolved it (for messages)
    created: float
    parts: tuple[LayerPart, ...]
    folder: Path

    @property
    def label(self) -> str:
        return f"{self.job} (node {self.node}, step {self.step})"

    @property
    def size(self) -> int:
        return sum(p.archive.size for p in self.parts)

    def names(self) -> set[str]:
        return {name for part in self.parts for name in part.names()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "node": self.node,
            "step": self.step,
            "root": self.root,
            "created": self.created,
            "parts": [
                {"target": p.target, **p.archive.to_dict(with_names=True)} for p in self.parts
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> Layer:
        return cls(
            job=str(data["job"]),
            node=int(data["node"]),
            step=int(data["step"]),
            root=str(data["root"]),
            created=float(data["created"]),
            parts=tuple(
                LayerPart(str(p["target"]), StoredArchive.from_dict(p)) for p in data["parts"]
            ),
            folder=folder,
        )


class PendingLayer(PendingArchives[LayerPart]):
    """A layer being written. Discarding it drops what was written; the pending marker stays:
    the layer is then missing (attaching says so)."""

    def __init__(self, folder: Path, marker: Path, job: str, node: int, step: int) -> None:
        super().__init__(folder, LayerPart)
        self.marker = marker
        self.job, self.node, self.step = job, node, step


class WorkspaceStore(Struct, frozen=True):
    root: Path  # <run_dir>/workspace

    def _layer_dir(self, job: str, node: int, step: int) -> Path:
        return self.root / "layers" / name_form(job) / f"{node}-{step:03d}"

    def _marker(self, job: str, node: int, step: int) -> Path:
        # a folder per job: a prefix ("a." of "a.b.0-001") would mix jobs up
        return self.root / "pending" / name_form(job) / f"{node}-{step:03d}"

    def begin(self, job: str, node: int, step: int) -> PendingLayer:
        marker = self._marker(job, node, step)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(job)
        folder = self.root / "tmp" / uuid.uuid4().hex
        folder.mkdir(parents=True)
        return PendingLayer(folder, marker, job, node, step)

    def publish(self, pending: PendingLayer, root: str) -> Layer:
        final = self._layer_dir(pending.job, pending.node, pending.step)
        layer = Layer(
            job=pending.job,
            node=pending.node,
            step=pending.step,
            root=root,
            created=time.time(),
            parts=tuple(pending.parts),
            folder=final,
        )
        write_json(pending.folder / MANIFEST, layer.to_dict())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(pending.folder, final)
        pending.marker.unlink(missing_ok=True)
        return layer

    def layers_of(self, job: str) -> tuple[list[Layer], list[str]]:
        """The published layers of a job in node, step order; and those that are missing
        (a persist that started and never published) or damaged (no readable manifest)."""
        folder = self.root / "layers" / name_form(job)
        layers: list[Layer] = []
        problems: list[str] = []
        for path in sorted(folder.glob("*-*")) if folder.is_dir() else []:
            try:
                layers.append(Layer.from_dict(read_json(path / MANIFEST), path))
            except (OSError, ValueError, KeyError, TypeError):
                problems.append(f"{path.name} (damaged)")
        pending = self.root / "pending" / name_form(job)
        for marker in sorted(pending.iterdir()) if pending.is_dir() else []:
            problems.append(f"{marker.name} (its persist_to_workspace did not finish)")
        return sorted(layers, key=lambda layer: (layer.node, layer.step)), problems
