"""Text from steps and configs on its way to a terminal: colour stays, control does not.

A step (or anything it runs) may print escape sequences that drive the user's terminal: OSC 52
writes the clipboard, ``ESC [6n`` / ``ESC [c`` make the terminal type a reply into its input,
cursor moves and line erases (``ESC [1A ESC [2K``) rewrite what runner printed, DCS/APC strings
reach terminal extensions (issue 14). Only SGR (``ESC [ ... m``, colour and bold, which CI
users rely on and CircleCI's UI renders) survives; every other escape sequence (CSI, OSC
including OSC 8 links, DCS, SOS, PM, APC, two-character ESC sequences, their 8-bit C1 forms)
and every C0/C1 control character except tab and newline is dropped.

Carriage returns: ``\\r\\n`` is one newline. A lone ``\\r`` (a progress bar redrawing its line)
also ends the line: overwriting text in place would let a step hide what it printed behind
something else (``evil\\r✓ deploy passed``), and each redraw stays readable in logs.

The parser follows the DEC/ECMA-48 state machine (vt100.net/emu/dec_ansi_parser), with one
deliberate difference: a newline ends an unterminated string (``ESC ]`` without BEL/ST), so a
stray introducer cannot hide the rest of a log. :class:`Sanitizer` is streaming: a sequence
split across chunks is still removed, and only an SGR sequence in progress (bounded) is held.
"""

from __future__ import annotations

import re

ESC = "\x1b"
_GROUND, _ESC, _ESC_INTER, _CSI, _STRING, _STRING_ESC = range(6)
# Anything that is not plain text in the ground state (tab and newline are plain text).
_SPECIAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Inside an OSC/DCS/SOS/PM/APC string: what can end it.
_STRING_END = re.compile(r"[\x07\x1b\n\x18\x1a\x9c]")
_SGR_PARAMS = re.compile(r"[0-9;:]*")
_CSI_BODY = re.compile(r"[\x20-\x3f]+")  # parameters and intermediates
_INTER_BODY = re.compile(r"[\x20-\x2f]+")
_MAX_CSI = 64  # longer parameter strings are not colour: dropped without being buffered
# 8-bit introducers (C1): CSI, and the string kinds OSC, DCS, SOS, PM, APC.
_C1_CSI = "\x9b"
_C1_STRINGS = frozenset("\x9d\x90\x98\x9e\x9f")
_ESC_STRINGS = frozenset("]PX^_")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ASCII_CONTROLS = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


class Sanitizer:
    """Feed text as it arrives; get back what may reach a terminal."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._state = _GROUND
        self._csi: list[str] = []
        self._csi_len = 0
        self._csi_ok = True
        self._cr = False

    def feed(self, text: str) -> str:
        if self._state == _GROUND and not self._cr and _plain(text):
            return text  # the common case: plain text goes through untouched
        out: list[str] = []
        i, size = 0, len(text)
        while i < size:
            if self._state == _GROUND and not self._cr:
                match = _SPECIAL.search(text, i)
                end = match.start() if match else size
                out.append(text[i:end])
                i = end
                if i >= size:
                    break
            elif self._state == _STRING:
                match = _STRING_END.search(text, i)
                if match is None:
                    break  # the rest is string content: dropped
                i = match.start()
            elif self._state in (_CSI, _ESC_INTER):
                # A sequence's body in one step: a step printing megabytes of parameters
                # costs a scan, not a Python loop per character.
                body = (_CSI_BODY if self._state == _CSI else _INTER_BODY).match(text, i)
                if body is not None and body.end() > i:
                    if self._state == _CSI:
                        self._csi_add(text[i : body.end()])
                    i = body.end()
                    if i >= size:
                        break
            self._char(text[i], out)
            i += 1
        return "".join(out)

    def finish(self) -> str:
        """The end of the stream: a pending carriage return becomes the line's end; an
        unfinished sequence is dropped."""
        out = "\n" if self._cr else ""
        self._reset()
        return out

    def _char(self, ch: str, out: list[str]) -> None:
        if self._cr:
            self._cr = False
            out.append("\n")
            if ch == "\n":
                return
        state = self._state
        if state == _GROUND:
            self._ground(ch, out)
        elif state == _ESC:
            self._escape(ch, out)
        elif state == _ESC_INTER:
            if "\x30" <= ch <= "\x7e":
                self._state = _GROUND
            elif not "\x20" <= ch <= "\x2f":
                self._abort(ch, out)
        elif state == _CSI:
            self._csi_char(ch, out)
        elif state == _STRING:
            self._string_end(ch, out)
        else:  # _STRING_ESC: ESC \ is the string terminator; any other ESC starts a sequence
            self._state = _GROUND if ch == "\\" else _ESC
            if ch != "\\":
                self._escape(ch, out)

    def _ground(self, ch: str, out: list[str]) -> None:
        if ch in "\t\n":
            out.append(ch)
        elif ch == "\r":
            self._cr = True
        elif ch == ESC:
            self._state = _ESC
        elif ch == _C1_CSI:
            self._start_csi()
        elif ch in _C1_STRINGS:
            self._state = _STRING
        elif not _CONTROL.match(ch):
            out.append(ch)
        # any other control character is dropped

    def _escape(self, ch: str, out: list[str]) -> None:
        if ch == "[":
            self._start_csi()
        elif ch in _ESC_STRINGS:
            self._state = _STRING
        elif ch == ESC:
            pass  # ESC ESC: the second one starts the sequence
        elif "\x20" <= ch <= "\x2f":
            self._state = _ESC_INTER  # ESC ( B, ESC # 8, ...
        elif "\x30" <= ch <= "\x7e":
            self._state = _GROUND  # ESC 7, ESC c, ESC M, ...: two characters, dropped
        else:
            self._abort(ch, out)

    def _start_csi(self) -> None:
        self._state = _CSI
        self._csi.clear()
        self._csi_len = 0
        self._csi_ok = True

    def _csi_char(self, ch: str, out: list[str]) -> None:
        if "\x40" <= ch <= "\x7e":  # the final byte
            self._state = _GROUND
            params = "".join(self._csi)
            if ch == "m" and self._csi_ok and _SGR_PARAMS.fullmatch(params):
                out.append(f"{ESC}[{params}m")
        elif "\x20" <= ch <= "\x3f":
            self._csi_add(ch)
        else:
            self._abort(ch, out)

    def _csi_add(self, part: str) -> None:
        self._csi_len += len(part)
        if self._csi_ok and self._csi_len <= _MAX_CSI:
            self._csi.append(part)
        else:
            self._csi_ok = False
            self._csi.clear()

    def _string_end(self, ch: str, out: list[str]) -> None:
        if ch == ESC:
            self._state = _STRING_ESC
        elif ch == "\n":
            self._state = _GROUND
            out.append(ch)
        else:  # BEL, ST (0x9c), CAN, SUB
            self._state = _GROUND

    def _abort(self, ch: str, out: list[str]) -> None:
        """A control character inside a sequence: the sequence is cancelled, and the character
        is handled as in the ground state (so a newline is never lost)."""
        self._state = _GROUND
        if ch not in "\x18\x1a":  # CAN and SUB only cancel
            self._ground(ch, out)


def _plain(text: str) -> bool:
    """No control character but tab and newline. ASCII text (most output) is checked by a
    C-speed byte deletion, several times faster than a regular expression scan."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _ASCII_CONTROLS)) == len(data)
    return not _SPECIAL.search(text)


def clean(text: str) -> str:
    """``text`` as a whole (a stored log, a message): SGR kept, all other control removed."""
    sanitizer = Sanitizer()
    return sanitizer.feed(text) + sanitizer.finish()


def strip_sgr(text: str) -> str:
    """Cleaned text without its colour either (for output without colour)."""
    return _SGR.sub("", text) if ESC in text else text


def visible(name: str) -> str:
    """A name (job, step, workflow) with every control character shown as an escape, so a
    name can never drive the terminal nor hide in plain sight: ``a\\x1b[2Kb`` shows as
    ``a\\x1b[2Kb``, literally."""
    if not _CONTROL.search(name):
        return name
    return _CONTROL.sub(_escape_char, name)


def visible_lines(text: str) -> str:
    """Text made of lines (a listing, a plan): each line's control characters made visible."""
    return "\n".join(visible(line) for line in text.split("\n"))


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(char, f"\\x{ord(char):02x}")
