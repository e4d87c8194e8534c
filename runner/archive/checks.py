"""The rules every archive member must pass before anything of it reaches a disk.

An archive is hostile until proven otherwise (reliability.md §6): members are checked one by
one, in order, against what the archive itself has created so far, so that a later member
cannot use an earlier one (a link) to land outside the destination.

The link rule, since real caches hold absolute links (a virtualenv's ``bin/python ->
/usr/bin/python3``) and a cache restores to its original absolute places:

* ``LinkPolicy.ANY`` (caches, workspaces): a symbolic link may point anywhere; it is created
  as a link and never followed while extracting. What is refused is a member *below* a link
  (``link/file``: writing through it), a hard link to anything but an earlier regular file of
  the same archive, and every name that is absolute or climbs with ``..``.
* ``LinkPolicy.CONTAINED`` (artifacts and test results kept on the host): as above, and a link
  target must also be relative and free of ``..``, so every link resolves inside the
  destination, whatever other links exist (each one can only point at or below its own folder).
"""

from __future__ import annotations

import tarfile
from enum import Enum
from typing import Protocol

from msgspec import Struct, field

from runner.errors import RunnerError

_KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hard link",
}


class Member(Protocol):
    """What the checks read of a member: ``tarfile.TarInfo``, or the cheaper
    :class:`runner.archive.headers.Header` that the fast reader makes."""

    name: str
    type: bytes
    size: int
    linkname: str

    @property
    def sparse(self) -> object: ...


class ArchiveError(RunnerError):
    """An archive that runner refuses to read or extract; nothing of it was kept."""


class LinkPolicy(Enum):
    ANY = "any"
    CONTAINED = "contained"


class Limits(Struct, frozen=True):
    """Budgets for one archive: bytes of file content, and members."""

    max_bytes: int = 20 * 1024**3
    max_members: int = 2_000_000


# what a member is once created: a hard link is one more name for a file; a symlink is what
# must never be followed
_REMEMBERED = {"symlink": "link", "hard link": "file"}


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def clean_name(name: str, *, what: str = "archive member") -> str:
    """A member name as a normalised relative path; absolute names and ``..`` are refused."""
    if (name and name[0] not in "./" and name[-1] != "/" and "//" not in name
            and "/." not in name and "\0" not in name):  # fmt: skip
        return name  # already clean: no empty, "." or ".." part (most names, and cheaper)
    if not name or "\0" in name:
        raise ArchiveError(f"refused {what} {name!r}: empty or NUL in its name")
    if name.startswith("/"):
        raise ArchiveError(f"refused {what} '{name}': absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"refused {what} '{name}': '..' in its path")
    return "/".join(parts) or "."


class MemberChecker(Struct):
    """Checks members in archive order; remembers what the archive created (for links)."""

    limits: Limits = field(default_factory=Limits)
    links: LinkPolicy = LinkPolicy.ANY
    members: int = 0
    total: int = 0
    kinds: dict[str, str] = field(default_factory=dict)  # name -> "dir" | "file" | "link"
    files: list[str] = field(default_factory=list)  # regular files and links, in order
    # the last parent folder found free of links and files: members come folder by folder
    _clear: str = ""

    def check(self, member: Member) -> str:
        """The member's clean name, or ArchiveError saying why it is refused."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveError(f"refused archive: more than {self.limits.max_members} members")
        name = clean_name(member.name)
        # the usual kinds inline: this runs for every member, 20,000 times a cache
        kind = _KINDS.get(member.type) if member.sparse is None else None
        if kind is None:
            kind = _kind(member, name)
        if kind != "file" and member.size:
            raise ArchiveError(f"refused archive member '{name}': a {kind} carrying data")
        self.total += member.size
        if self.total > self.limits.max_bytes:
            raise ArchiveError(
                f"refused archive: more than {human_size(self.limits.max_bytes)} of content"
            )
        end = name.rfind("/")
        if end >= 0 and name[:end] != self._clear:  # members come folder by folder
            self._check_parents(name, end)
        previous = self.kinds.get(name)
        if previous is not None and (previous != "dir" or kind != "dir"):
            raise ArchiveError(f"refused archive member '{name}': it appears twice")
        if name == "." and kind != "dir":
            raise ArchiveError("refused archive member '.': only a directory may be the root")
        if kind == "symlink":
            self._check_symlink(name, member.linkname)
        elif kind == "hard link":
            self._check_hardlink(name, member.linkname)
        self.kinds[name] = _REMEMBERED.get(kind, kind)
        if kind != "dir":
            self.files.append(name)
            clear = self._clear  # no longer clear if this member is it, or above it
            if clear.startswith(name) and (len(clear) == len(name) or clear[len(name)] == "/"):
                self._clear = ""
        return name

    def _check_parents(self, name: str, end: int) -> None:
        at = name.find("/")
        while at >= 0:
            parent = name[:at]
            at = name.find("/", at + 1)
            found = self.kinds.get(parent)
            if found == "link":
                raise ArchiveError(
                    f"refused archive member '{name}': it would be written through the link "
                    f"'{parent}'"
                )
            if found == "file":
                raise ArchiveError(f"refused archive member '{name}': '{parent}' is a file")
        self._clear = name[:end]

    def _check_symlink(self, name: str, target: str) -> None:
        if not target or "\0" in target:
            raise ArchiveError(f"refused archive member '{name}': empty link target")
        if self.links is LinkPolicy.ANY:
            return
        parts = target.split("/")
        if target.startswith("/") or ".." in parts:
            raise ArchiveError(
                f"refused archive member '{name}': link to {target} leaves the archive"
            )

    def _check_hardlink(self, name: str, target: str) -> None:
        clean = clean_name(target, what=f"hard link target of '{name}':")
        if self.kinds.get(clean) != "file":
            raise ArchiveError(
                f"refused archive member '{name}': hard link to '{target}', which is not an "
                "earlier file of this archive"
            )


def _kind(member: Member, name: str) -> str:
    if member.sparse is not None:
        raise ArchiveError(f"refused archive member '{name}': sparse files are not supported")
    kind = _KINDS.get(member.type)
    if kind is not None:
        return kind
    if member.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        raise ArchiveError(f"refused archive member '{name}': device file")
    if member.type == tarfile.FIFOTYPE:
        raise ArchiveError(f"refused archive member '{name}': FIFO")
    raise ArchiveError(f"refused archive member '{name}': unsupported type {member.type!r}")
