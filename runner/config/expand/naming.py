"""Final names of workflow jobs, and ``requires`` rewritten to them.

1. In one workflow, a name used by several entries is numbered on every one of them: "when invoking
   the same job multiple times ... the build name will be changed (i.e. ``sayhello-1``,
   ``sayhello-2``, etc.)", and an explicit ``name`` that is not unique is numbered too [RC
   "Authoring parameterized jobs"]. ``requires`` must then use the numbered name, as on CircleCI.
2. Concrete jobs share one ``jobs`` map across workflows. Identical invocations share one job and
   keep their name. Different invocations under one name, or one that would replace a job other
   entries run as defined, are numbered the same way ("across any number of workflows" [RC]);
   ``requires`` in the same workflow follow that renaming, since there it is unambiguous.
3. ``requires: [<matrix alias>]`` (the alias defaults to the job's name) waits for every instance
   of that matrix in the workflow [CR "matrix"].
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from runner.config.expand.entries import Instance
from runner.config.yaml import MDict, MList


def numbered(groups: Sequence[Sequence[Instance]], plain_refs: set[str]
             ) -> tuple[list[list[str]], list[dict[str, str]]]:
    """Final names per workflow, and the renames of step 2 per workflow."""
    firsts = [_unique_in_workflow(instances) for instances in groups]
    signatures: dict[str, dict[Any, int]] = {}
    for instances, names in zip(groups, firsts, strict=True):
        for inst, name in zip(instances, names, strict=True):
            if inst.kind == "concrete":
                known = signatures.setdefault(name, {})
                known.setdefault(inst.signature, len(known) + 1)
    finals: list[list[str]] = []
    renames: list[dict[str, str]] = []
    for instances, names in zip(groups, firsts, strict=True):
        out: list[str] = []
        renamed: dict[str, str] = {}
        for inst, name in zip(instances, names, strict=True):
            final = name
            if inst.kind == "concrete":
                known = signatures[name]
                if len(known) > 1 or name in plain_refs:
                    final = f"{name}-{known[inst.signature]}"
                    renamed[name] = final
            out.append(final)
        finals.append(out)
        renames.append(renamed)
    return finals, renames


def _unique_in_workflow(instances: Sequence[Instance]) -> list[str]:
    counts = Counter(inst.base for inst in instances if inst.kind != "raw")
    seen: Counter[str] = Counter()
    names: list[str] = []
    for inst in instances:
        if inst.kind != "raw" and counts[inst.base] > 1:
            seen[inst.base] += 1
            names.append(f"{inst.base}-{seen[inst.base]}")
        else:
            names.append(inst.base)
    return names


def rewrite_requires(entry: MDict, targets: Mapping[str, list[str]]) -> Any:
    """An entry's ``requires`` with aliases and renamed jobs replaced by what they stand for."""
    value = entry["requires"]
    if not _touched(value, targets):
        return value
    if isinstance(value, str):
        value = MList(entry.mark_of("requires"))
        value.add(entry["requires"], entry.mark_of("requires"), None)
    if not isinstance(value, MList):
        return value
    out = MList(value.mark)
    for index, item in enumerate(value):
        mark = value.mark_of(index)
        if isinstance(item, str):
            for name in targets.get(item, [item]):
                out.add(name, mark, None)
        elif isinstance(item, MDict):
            mapped = MDict(item.mark)
            for key, status in item.items():
                for name in targets.get(key, [key]):
                    mapped.set(name, status, item.key_mark_of(key), item.mark_of(key),
                               item.raw.get(key))
            out.add(mapped, mark, None)
        else:
            out.add(item, mark, value.raw.get(index))
    return out


def _touched(value: Any, targets: Mapping[str, list[str]]) -> bool:
    if isinstance(value, str):
        return value in targets
    if isinstance(value, MList):
        return any((isinstance(i, str) and i in targets)
                   or (isinstance(i, MDict) and any(k in targets for k in i)) for i in value)
    return False
