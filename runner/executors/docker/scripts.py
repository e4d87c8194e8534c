"""The small POSIX ``sh`` programs runner runs inside a job's primary container.

They must work in any image that has ``/bin/sh``: busybox's ash, Debian's dash, bash. So they
use shell builtins, ``/proc`` and at most ``chmod``, ``chown``, ``mkdir``, ``tr`` and ``sleep``.

How a step runs, and why this way
---------------------------------
Every step runs :data:`STEP` (``sh -c STEP runner-step PREFIX TAG GRACE CWD SHELL... ``) in a
session of its own: either started by runner's keep-alive shell, which serves foreground steps
of the job (see :data:`SERVE` and ``server.py``), or as one ``docker exec``,
streamed and finished with ``exec_inspect`` for the exit code (docker-py#1989). Either way the
engine has no API to signal the step, so the wrapper makes one possible:

* runc starts every exec process with ``setsid()`` (and the serving shell starts it under
  ``setsid``), so the wrapper leads its own session and process group. It writes ``$$`` to
  ``PREFIX.pid``; to interrupt the step, runner starts a second, root exec of :data:`SIGNAL`
  that sends ``kill -INT|-TERM|-KILL -<pgid>`` to that group, which holds the step's shell and
  everything it started (busybox and dash both accept the ``kill -SIG -pgid`` form; neither
  takes ``kill -s SIG -- -pgid``).
* The wrapper sets *handlers* (not ignores) for INT, TERM and HUP: a group signal must not
  end the wrapper before the step's shell has reacted to it (traps run after a foreground
  child ends), and a handled signal is reset to its default in the shell it starts, so the
  step sees the signals exactly as on the machine executor. Only KILL ends the wrapper early.
* The step's script is written to ``PREFIX.sh`` and passed as a file after the shell words,
  as on the machine executor. It travels in the step's environment (``RUNNER_SCRIPT``, removed
  before the shell starts), which saves a ``put_archive`` round trip (~40 ms) per step; a
  script too large for one environment string is put with ``put_archive`` instead.
* When the shell ends, the wrapper looks for what the step left running: members of its
  process group, and orphans (re-parented to PID 1) carrying the step's ``RUNNER_STEP_ID``:
  daemons that left the group with ``setsid``. Only orphans other than runner's own
  keep-alive (``init.pid``) have their environment searched, so the usual step forks
  nothing. It describes the first ten in ``PREFIX.end``, stops them all with TERM, waits up
  to GRACE tenths of a second, KILLs the rest, waits for them to be gone, then looks again
  (a fork caught before its ``setsid``/``exec`` is a different process a moment later), and
  exits with the shell's status. Doing this inside the same exec costs nothing for the usual
  step that leaves nothing behind.

Out of memory: Docker 20.10 sets ``State.OOMKilled`` only when a container's first process is
killed, never for an exec, so the wrapper compares the cgroup's ``oom_kill`` counter before the
step and after everything it started is gone, and notes ``oom`` in ``PREFIX.end`` when the
kernel killed something meanwhile; a step ending with 137 and that note is reported as out of
memory. Read as soon as the step's shell ended, a second kill in the step's pipeline a moment
later was charged to the next step (seen once in a full run of the suite).

The step's working directory is entered by the wrapper, not given to the engine: a missing one
is noted (``nocwd``) and runner creates it and runs the step again, which saves asking the
engine whether it exists before every step.

The exit status of a process killed by signal N reaches runner as 128+N (containerd reports
it that way), so a step's shell that is itself killed by a signal it did not get from runner
shows as exit code 128+N, as CircleCI shows it for docker jobs.
"""

from __future__ import annotations

# Runs as root, as the container's first process (after docker-init) or as a root exec when
# the image's entrypoint is kept. Arguments: USER[:GROUP] WORKDIR RUNNER_DIR HOME_OVERRIDE
# TOKEN SWITCH, then (PATH MODE TEXT) triples: task-data files written here, so the node needs
# no upload. Prints one line: ``runner-ready UID GID HAS_BASH SERVES HOME`` (warnings before).
# SERVES says who may serve steps (see SERVE) when given a TOKEN and the image has ``setsid``
# and ``env``: 1, this shell, which can be the job's user: root already, or for a user of the
# image's /etc/passwd with its own group, through util-linux's ``setpriv`` (Debian, Ubuntu,
# ``cimg``; busybox's lacks ``--reuid``), which gives the uid, gid and supplementary groups that
# ``docker exec --user`` gives; 2, a server started by one exec as the user (any other user);
# 0, nobody: one exec per step. SWITCH is 0 when the container has extra groups (``group_add``,
# for setup_remote_docker's socket): setpriv would not give those, an exec does.
SETUP = r"""
spec=$1 wd=$2 r=$3 home=$4 tok=$5 switch=$6
u=${spec%%:*} g=
case $spec in *:*) g=${spec#*:} ;; esac
[ -n "$u" ] || u=0
uid= gid= phome= name=
if [ -r /etc/passwd ]; then
  while IFS=: read -r n x i j c h s; do
    if [ "$n" = "$u" ] || [ "$i" = "$u" ]; then uid=$i gid=$j phome=$h name=$n; break; fi
  done < /etc/passwd
fi
if [ -z "$uid" ]; then
  case $u in
    *[!0-9]*) echo "runner-error unknown user '$u' (not in the image's /etc/passwd)"; exit 0 ;;
    *) uid=$u ;;
  esac
fi
[ -n "$gid" ] || gid=0
if [ -n "$g" ]; then
  case $g in
    *[!0-9]*) while IFS=: read -r n x i m; do [ "$n" = "$g" ] && gid=$i && break; done \
        < /etc/group ;;
    *) gid=$g ;;
  esac
fi
[ -n "$home" ] || home=${phome:-/}
case $wd in
  "~") wd=$home ;;
  "~/"*) wd=$home/${wd#"~/"} ;;
  /*) ;;
  *) wd=$home/$wd ;;
esac
mk() {  # create $1 and its missing parents, each owned by the job's user
  [ -z "$1" ] || [ -d "$1" ] && return 0
  mk "${1%/*}"
  mkdir "$1" && chown "$uid:$gid" "$1" 2>/dev/null
  return 0
}
[ -d /tmp ] || { mkdir -p /tmp; chmod 1777 /tmp; }
mk "$wd"
[ -d "$wd" ] || echo "runner-warning cannot create the working directory $wd"
mkdir -p "$r/task-data" "$r/steps" && : > "$r/bash_env" \
  && chown "$uid:$gid" "$r" "$r/task-data" "$r/steps" "$r/bash_env" 2>/dev/null \
  || echo "runner-warning cannot give $r to user $u: steps may fail to write there"
shift 6
while [ $# -ge 3 ]; do
  f=$r/task-data/$1
  mk "${f%/*}"
  printf '%s' "$3" > "$f" && chmod "$2" "$f" && chown "$uid:$gid" "$f" 2>/dev/null
  shift 3
done
b=0
[ -x /bin/bash ] && b=1
s=0 priv=
if [ -n "$tok" ] && command -v setsid >/dev/null 2>&1 && command -v env >/dev/null 2>&1; then
  s=2
  if [ "$uid" = 0 ] && [ "$gid" = 0 ]; then
    s=1
  elif [ "$switch" = 1 ] && [ -n "$name" ] && [ -z "$g" ] \
      && setpriv --reuid="$uid" --regid="$gid" --init-groups true >/dev/null 2>&1; then
    s=1 priv="setpriv --reuid=$uid --regid=$gid --init-groups"
  fi
fi
echo $$ > "$r/init.pid"
echo "runner-ready $uid $gid $b $s $home"
"""

# What keeps the container alive once nothing else runs in it.
_STAY = r"""
exec 0</dev/null 1>/dev/null 2>&1
if command -v sleep >/dev/null; then
  while :; do sleep 86400; done  # a step that kills every `sleep` must not end the container
fi
exec tail -f /dev/null
"""

# Serves foreground steps, as the job's user. Arguments: TOKEN STEP (the text of :data:`STEP`).
# runner writes a command to the container's stdin (attached before the start), ended by a
# line holding only TOKEN. The command sets ``d`` (the step's PREFIX) and starts STEP under
# ``setsid`` with ``env``: a new session and process group, and the step's environment over
# the container's, which is what a ``docker exec`` gives. Output goes to the container's stdout
# and stderr. When the step ends, a marker goes to each stream, so runner knows both are
# complete: ``RS TOKEN STATUS NOTES`` on stdout (the end note's lines, each ended by US) and
# ``RS TOKEN`` on stderr. Saves one exec (~45 ms of engine work) per step. ``SHLVL`` is unset
# so that a step's shells count as under an exec.
SERVE = r"""
tok=$1 step=$2
unset SHLVL
c= nl="
" us=$(printf '\037')
while IFS= read -r l; do
  if [ "$l" != "$tok" ]; then
    c="$c$l$nl"
    continue
  fi
  d=
  # `command`: a failed fork (a step exhausted the PID limit) fails this command only; a
  # special builtin's error would end the shell, and the container with it.
  command eval "$c" </dev/null
  rc=$?
  c= n=
  if [ -n "$d" ] && [ -s "$d.end" ]; then  # no command substitution: it would need a fork
    while IFS= read -r x; do n="$n$x$us"; done < "$d.end"
  fi
  printf '\036%s %s %s\n' "$tok" "$rc" "$n"
  printf '\036%s\n' "$tok" >&2
done
""" + _STAY

# One step. Arguments: PREFIX TAG GRACE_TENTHS CWD SHELL_WORD... (the script is PREFIX.sh).
# What runner must know afterwards goes to PREFIX.end, written only when there is something:
# ``nocwd`` (CWD is missing: nothing ran), ``oom``, ``halt``, and ``pid N: COMMAND`` lines
# for what the step left running (at most ten, then ``and N more``).
STEP = r"""
d=$1 tag=$2 grace=$3 cwd=$4 nl="
"
shift 4
echo $$ > "$d.pid"
if [ -n "${RUNNER_SCRIPT+x}" ]; then
  printf '%s' "$RUNNER_SCRIPT" > "$d.sh" || exit 125
  unset RUNNER_SCRIPT
fi
[ ! -e "$d.end" ] || : > "$d.end"  # a retry after nocwd: runner created CWD meanwhile
# The shell starts where the engine would have put it (-P: the physical path, as a chdir gives).
cd -P "$cwd" 2>/dev/null || { echo nocwd > "$d.end"; exit 125; }
oom() {  # kills = the container's OOM kills so far (cgroup v1 memory.oom_control, v2 memory.events)
  kills=0
  for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do
    [ -r "$f" ] || continue
    while read -r k v; do [ "$k" = oom_kill ] && kills=$v; done < "$f"
    return
  done
}
oom
before=$kills
trap : INT TERM HUP
"$@" "$d.sh"
rc=$?
note=
[ -e "${d%/steps/*}/task-data/halt" ] && note="${note}halt$nl"
init=
read -r init 2>/dev/null < "${d%/steps/*}/init.pid"
scan() {  # found = what the step left running that no earlier round stopped; groups = daemons'
  found= groups=
  o=
  for f in /proc/[0-9]*/stat; do
    p=${f#/proc/} && p=${p%/stat}
    [ "$p" = "$$" ] && continue
    case "$seen " in *" $p "*) continue ;; esac
    s= && read -r s 2>/dev/null < "$f"
    s=${s##*) }
    set -- $s
    [ "$1" = Z ] && continue
    if [ "$3" = "$$" ]; then
      found="$found $p"
    elif [ "$2" = 1 ] && [ "$p" != "$init" ]; then
      o="$o $p"
    fi
  done
  for p in $o; do
    # An environment reads empty while its process is inside execve (setsid exec'ing the
    # daemon): read again before deciding it is not the step's.
    e= t=0
    while [ "$t" -lt 3 ]; do
      e=$(tr '\0' '\n' 2>/dev/null < "/proc/$p/environ")
      [ -z "$e" ] && [ -d "/proc/$p" ] || break
      sleep 0.05
      t=$((t + 1))
    done
    case "
$e
" in
      *"
RUNNER_STEP_ID=$tag
"*) ;;
      *) continue ;;
    esac
    found="$found $p"
    # A daemon that left with setsid leads its own group: its children are in that group and
    # are no orphans yet, so the group is stopped too.
    s= && read -r s 2>/dev/null < "/proc/$p/stat"
    s=${s##*) }
    set -- $s
    [ "$3" = "$p" ] && groups="$groups -$p"
  done
}
alive() {  # is any of $found still there (a zombie counts until PID 1 reaps it)
  for p in $found; do kill -0 "$p" 2>/dev/null && return 0; done
  return 1
}
stop() {  # TERM, up to GRACE tenths of a second, KILL, then wait briefly for them to be gone
  kill -TERM $found 2>/dev/null
  for g in $groups; do kill -TERM "$g" 2>/dev/null; done
  i=0
  while [ "$i" -lt "$grace" ] && alive; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL $found 2>/dev/null
  for g in $groups; do kill -KILL "$g" 2>/dev/null; done
  i=0
  while [ "$i" -lt 20 ] && alive; do
    sleep 0.05
    i=$((i + 1))
  done
}
seen= n=0 round=0
scan
while [ -n "$found" ] && [ "$round" -lt 4 ]; do
  # Processes change while they are stopped (a fork not yet exec'd turns into a daemon), so
  # look again after each round until a round finds nothing new.
  for p in $found; do
    n=$((n + 1))
    [ "$n" -le 10 ] || continue
    c=$(tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline")
    [ -n "$c" ] || read -r c 2>/dev/null < "/proc/$p/comm"
    note="${note}pid $p: $c$nl"
  done
  stop
  seen="$seen$found"
  round=$((round + 1))
  scan
done
[ "$n" -le 10 ] || note="${note}and $((n - 10)) more$nl"
# Counted once everything the step started is gone: a process of the step the kernel killed
# a moment after its shell ended (the rest of a pipeline) is this step's kill, not the next's.
oom
[ "$kills" = "$before" ] || note="${note}oom$nl"
[ -z "$note" ] || printf '%s' "$note" > "$d.end"
exit $rc
"""

# A step's working directory, created when missing (as on the machine executor [CR]), each new
# directory owned by the job's user. Runs as root. Arguments: UID GID DIR.
MAKE_DIR = r"""
uid=$1 gid=$2
mk() {
  [ -z "$1" ] || [ -d "$1" ] && return 0
  mk "${1%/*}"
  mkdir "$1" && chown "$uid:$gid" "$1" 2>/dev/null
  return 0
}
mk "$3"
[ -d "$3" ]
"""

# Signal a step's process group. Runs as root. Arguments: PIDFILE SIGNAL.
# The pid file appears as soon as the wrapper runs; wait briefly for a step just starting.
SIGNAL = r"""
p= i=0
while :; do
  read -r p 2>/dev/null < "$1"
  [ -n "$p" ] && break
  i=$((i + 1))
  [ "$i" -gt 50 ] && exit 3
  sleep 0.02
done
kill -"$2" -"$p" 2>/dev/null || kill -"$2" "$p" 2>/dev/null
exit 0
"""

# Append lines to a file as the job's user (BASH_ENV exports). Arguments: FILE LINE...
APPEND = r"""
f=$1
shift
for line in "$@"; do printf '%s\n' "$line"; done >> "$f"
"""


def quote(text: str) -> str:
    """One word for ``sh``, whatever it holds."""
    return "'" + text.replace("'", "'\\''") + "'"


# The container's command when runner owns it: set up, then serve steps (the same process,
# so ``init.pid`` stays true) or just stay alive until removed. docker-init (``init: true``)
# is PID 1 and reaps the orphans of steps.
KEEP_ALIVE = (
    SETUP
    + f"step={quote(STEP)}\nserve={quote(SERVE)}\n"
    + 'if [ "$s" = 1 ]; then exec $priv /bin/sh -c "$serve" runner-serve "$tok" "$step"; fi\n'
    + _STAY
)
