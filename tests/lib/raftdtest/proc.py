"""proc.py: where the built programs are, and what /proc and the logs say about a process."""
import os

# The source tree's top (an in-tree build puts raftd there).
SOURCE_TOP = os.path.abspath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", "..", ".."))

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer")


def build_dir():
    """The top of the build tree: $top_builddir (make check sets it), else
    the current directory if raftd is built there, else the source tree
    (an in-tree build)."""
    top = os.environ.get("top_builddir")
    if top is not None:
        return os.path.abspath(top)
    for d in (os.getcwd(), SOURCE_TOP):
        if os.access(os.path.join(d, "raftd"), os.X_OK):
            return d
    return os.getcwd()


def build_path(name):
    """A program built at the top of the build tree (raftd, raftctl)."""
    return os.path.join(build_dir(), name)


def raftd_path():
    return build_path("raftd")


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    # The state follows the ")" that closes the command name.
    return st[st.rindex(")") + 2] not in "ZX"


def _status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_kib(pid):
    """The resident set size of a process in KiB (0 if unknown)."""
    return _status_kib(pid, "VmRSS")


def hwm_kib(pid):
    """The peak resident set size (VmHWM) of a process in KiB (0 if
    unknown)."""
    return _status_kib(pid, "VmHWM")


def tail(path, lines=40, grep=None):
    """The last `lines` lines of a file (of those matching the compiled
    regex `grep`, if given)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    if grep is not None:
        text = [t for t in text if grep.search(t)]
    return "\n".join(text[-lines:])


def sanitizer_marks(text):
    """The sanitizer report marks found in a log's text."""
    return [m for m in SANITIZER_MARKS if m in text]
