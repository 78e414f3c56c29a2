# test_console.py: the web console in headless Chromium against a real 3-node cluster: the leader highlighted, a calendar event and a key written in the page and read back with raftctl (and the other way), the log tab, and a kill -9 of the leader shown as down with the new leader highlighted.
#
# Needs chromium, chromium-driver and python3-selenium (Debian); skips (77)
# without them.  Screenshots go to tests/cluster/console-*.png in the build
# tree; with CONSOLE_SCREENSHOT_DIR=DIR the docs' console-cluster.png,
# console-calendar.png and console-failover.png are written there too.
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, wait_for  # noqa: E402

# Debian's python3-selenium installs for the system python3; a python3
# of another installation (a virtualenv, pyenv) runs this test with it.
SYSTEM_PYTHON = "/usr/bin/python3"
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    if (os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON)
            and os.access(SYSTEM_PYTHON, os.X_OK)
            and subprocess.call([SYSTEM_PYTHON, "-c", "import selenium"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) == 0):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    print("test_console: skipped: python3-selenium is not installed "
          "(Debian: apt-get install python3-selenium)")
    sys.exit(77)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") \
    or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
if not CHROMIUM or not CHROMEDRIVER:
    print("test_console: skipped: %s is not installed (Debian: apt-get "
          "install chromium chromium-driver)" %
          ("chromium" if not CHROMIUM else "chromedriver"))
    sys.exit(77)

# Bounds of the waits on the page (sanitizer builds run slower).
PAGE_WAIT = 15.0
DOWN_WAIT = 3.0     # a killed node must show down within this
FAILOVER_WAIT = 15.0


# The screenshots docs/CONSOLE.md shows (docs/img/console-NAME.png).
DOC_SHOTS = ("cluster", "calendar", "failover")


def artifact_dir():
    d = os.path.join(rt.proc.build_dir(), "tests", "cluster")
    os.makedirs(d, exist_ok=True)
    return d


def screenshot(drv, name, height):
    """Saves the page, in a window `height` pixels high, as
    console-NAME.png in the build tree, and into $CONSOLE_SCREENSHOT_DIR
    when set; returns the build tree's path."""
    path = os.path.join(artifact_dir(), "console-%s.png" % name)
    drv.set_window_size(1280, height)
    drv.save_screenshot(path)
    extra = os.environ.get("CONSOLE_SCREENSHOT_DIR")
    if extra and name in DOC_SHOTS:
        os.makedirs(extra, exist_ok=True)
        shutil.copyfile(path, os.path.join(extra, "console-%s.png" % name))
    return path


class Browser:
    """Headless Chromium under chromedriver, both ended by quit() (which
    stops the chromedriver process selenium started, by its pid)."""

    def __init__(self, workdir):
        self.profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        # As root in a container Chromium needs --no-sandbox; the rest
        # keeps it off the network (the test talks to loopback only).
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--no-first-run",
                  "--no-default-browser-check", "--disable-extensions",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-domain-reliability",
                  "--disable-client-side-phishing-detection",
                  "--metrics-recording-only", "--window-size=1280,860",
                  "--user-data-dir=%s" % self.profile):
            opts.add_argument(a)
        self.service = Service(executable_path=CHROMEDRIVER,
                               log_path=os.path.join(workdir,
                                                     "chromedriver.log"))
        self.drv = webdriver.Chrome(service=self.service, options=opts)
        self.drv.set_page_load_timeout(PAGE_WAIT)

    def quit(self):
        try:
            self.drv.quit()
        finally:
            p = getattr(self.service, "process", None)
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(5)


# The page re-renders its tables as it polls: read them in one script
# rather than element by element (which could go stale in between).
ROWS_JS = """return Array.from(document.querySelectorAll('#nodes tbody tr'))
  .map((tr) => [tr.dataset.id, tr.className, tr.dataset.state]);"""
EVENTS_JS = """return Array.from(document.querySelectorAll('#cal-grid li.event'))
  .map((li) => ({id: li.dataset.id, key: li.dataset.key,
                 text: li.textContent}));"""
TEXTS_JS = """return Array.from(document.querySelectorAll(arguments[0]))
  .map((e) => e.textContent);"""
ATTRS_JS = """return Array.from(document.querySelectorAll(arguments[0]))
  .map((e) => e.getAttribute(arguments[1]));"""


def rows(drv):
    """{id: (class, state)} of the cluster view's rows."""
    return {int(i): (cls, state)
            for i, cls, state in drv.execute_script(ROWS_JS)}


def events(drv):
    """[{id, key, text}] of the calendar grid's events."""
    return drv.execute_script(EVENTS_JS)


def texts(drv, css):
    return drv.execute_script(TEXTS_JS, css)


def attrs(drv, css, name):
    return drv.execute_script(ATTRS_JS, css, name)


def leader_row(drv):
    ids = [nid for nid, (cls, _) in rows(drv).items() if cls == "leader"]
    return ids[0] if len(ids) == 1 else None


def click(drv, css):
    drv.find_element(By.CSS_SELECTOR, css).click()


def type_into(drv, css, text):
    el = drv.find_element(By.CSS_SELECTOR, css)
    el.clear()
    el.send_keys(text)


def status_line(drv):
    return drv.find_element(By.ID, "status").text


def raftctl(c, *args):
    p = subprocess.run([rt.build_path("raftctl"), "-c", c.conf, "-t", "10"] +
                       list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check_cluster_view(ck, c, drv, lid):
    got = wait_for(lambda: leader_row(drv) == lid and
                   all(st != "down" for _, st in rows(drv).values()) and
                   len(rows(drv)) == 3 and rows(drv),
                   PAGE_WAIT, "the page to show 3 nodes up, node %d leading"
                   % lid)
    ck.eq(sorted(got), [1, 2, 3], "the cluster view lists every member")
    ck.eq(leader_row(drv), lid, "the leader's row is highlighted")
    ck.eq(got[lid][1], "leader", "its state says leader")
    for nid in c.ids():
        if nid != lid:
            ck.eq(got[nid][1], "follower", "node %d shown follower" % nid)


def check_calendar(ck, c, drv):
    today = datetime.date.today()
    month = today.strftime("%Y-%m")
    click(drv, "#tabs button[data-tab=calendar]")
    wait_for(lambda: drv.find_element(By.ID, "cal-month").text ==
             today.strftime("%B %Y"), PAGE_WAIT, "the calendar's month")
    ck.eq(attrs(drv, "#cal-grid td.today", "data-date"),
          [today.isoformat()], "today is marked in the month view")

    # Added in the page, read with raftctl.
    title = "Review the raft log"
    type_into(drv, "#cal-date", today.isoformat())
    type_into(drv, "#cal-time", "09:30")
    type_into(drv, "#cal-title", title)
    click(drv, "#cal-add")
    ev = wait_for(lambda: [e for e in events(drv) if title in e["text"]],
                  PAGE_WAIT, "the page's event in the grid")
    ev_id = ev[0]["id"]
    ck.eq(ev[0]["key"],
          "cal/%s/09:30/%s" % (today.isoformat(), ev_id),
          "the event's key is raftctl cal's encoding")
    rc, out, err = raftctl(c, "cal", "list", month)
    ck.eq(rc, 0, "raftctl cal list runs (%s)" % err.strip())
    ck.check("%s 09:30  %s  %s" % (today.isoformat(), ev_id, title) in out,
             "raftctl cal list shows the page's event:\n%s" % out)

    # Added with raftctl, seen by the page (shared by everyone).
    other_day = today.replace(day=3 if today.day != 3 else 4)
    rc, out, err = raftctl(c, "cal", "add", other_day.isoformat(), "14:00",
                           "Team", "lunch")
    ck.eq(rc, 0, "raftctl cal add (%s)" % err.strip())
    cli_id = out.strip()
    wait_for(lambda: [e for e in events(drv) if e["id"] == cli_id and
                      "14:00 Team lunch" in e["text"]],
             PAGE_WAIT, "raftctl's event to show in the page")
    ck.check(True, "an event added with raftctl shows in the page")

    # One more, then deleted in the page.
    last_day = today.replace(day=28 if today.day != 28 else 27)
    type_into(drv, "#cal-date", last_day.isoformat())
    type_into(drv, "#cal-time", "18:00")
    type_into(drv, "#cal-title", "Cancelled meeting")
    click(drv, "#cal-add")
    gone = wait_for(lambda: [e for e in events(drv)
                             if "Cancelled meeting" in e["text"]],
                    PAGE_WAIT, "the third event")
    gone_id = gone[0]["id"]
    # A real click; the grid may be re-rendered between find and click,
    # and wait_for takes a stale element as "not yet".
    wait_for(lambda: drv.find_element(
        By.CSS_SELECTOR, "#cal-grid li.event[data-id='%s'] button.del" %
        gone_id).click() or True, PAGE_WAIT, "the event's delete button")
    wait_for(lambda: gone_id not in [e["id"] for e in events(drv)],
             PAGE_WAIT, "the deleted event to leave the grid")
    rc, out, err = raftctl(c, "cal", "list", month)
    ck.check(gone_id not in out and ev_id in out and cli_id in out,
             "raftctl sees the page's delete and the other events:\n%s" %
             out)
    # A third kept event for the screenshot.
    type_into(drv, "#cal-date", last_day.isoformat())
    type_into(drv, "#cal-time", "16:45")
    type_into(drv, "#cal-title", "Snapshot drill")
    click(drv, "#cal-add")
    wait_for(lambda: [e for e in events(drv) if "Snapshot drill" in
                      e["text"]], PAGE_WAIT, "the third event in the grid")
    # Next and previous month.
    click(drv, "#cal-next")
    nxt = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    wait_for(lambda: drv.find_element(By.ID, "cal-month").text ==
             nxt.strftime("%B %Y") and not events(drv),
             PAGE_WAIT, "the next month, without this month's events")
    click(drv, "#cal-prev")
    wait_for(lambda: len(events(drv)) == 3, PAGE_WAIT,
             "this month's 3 events again")
    ck.check(True, "previous/next month")
    ck.eq(sorted(attrs(drv, "#cal-list tbody tr", "data-id")),
          sorted([ev_id, cli_id, events(drv)[-1]["id"]]),
          "the month's list under the grid")
    screenshot(drv, "calendar", 1100)


def check_keys_and_log(ck, c, drv):
    click(drv, "#tabs button[data-tab=keys]")
    type_into(drv, "#key-name", "console/greeting")
    type_into(drv, "#key-value", "hello from the browser")
    click(drv, "#key-put")
    wait_for(lambda: "committed" in status_line(drv), PAGE_WAIT,
             "the page's put to commit")
    rc, out, err = raftctl(c, "get", "console/greeting")
    ck.eq((rc, out), (0, "hello from the browser\n"),
          "raftctl get reads the key put in the page")
    rc, out, err = raftctl(c, "put", "console/other", "from raftctl")
    type_into(drv, "#prefix", "console/")
    click(drv, "#list-keys")
    got = wait_for(lambda: attrs(drv, "#keys tbody tr", "data-key"),
                   PAGE_WAIT, "the keys listed")
    ck.eq(got, ["console/greeting", "console/other"],
          "the page lists the keys by prefix")
    type_into(drv, "#key-name", "console/other")
    click(drv, "#key-get")
    wait_for(lambda: drv.find_element(By.ID, "key-result").text ==
             "from raftctl", PAGE_WAIT, "the page's get")
    ck.check(True, "the page gets a key raftctl put")
    screenshot(drv, "keys", 520)

    click(drv, "#tabs button[data-tab=log]")
    cells = wait_for(lambda: [t for t in texts(drv, "#log tbody td.data")
                              if "console/greeting" in t], PAGE_WAIT,
                     "the put in the log tab")
    ck.check('"hello from the browser"' in cells[0],
             "the log shows the put readably (%r)" % cells[0])
    screenshot(drv, "log", 760)


def check_paused(ck, c, drv, nid):
    """A node that stops answering (SIGSTOP) shows down within DOWN_WAIT
    (the page's 1 s timeout and a 500 ms poll), and up again after
    SIGCONT."""
    click(drv, "#tabs button[data-tab=cluster]")
    c.pause(nid)
    t0 = time.monotonic()
    try:
        wait_for(lambda: rows(drv).get(nid, ("", ""))[1] == "down",
                 DOWN_WAIT, "the paused node %d to show down" % nid)
        ck.note("a paused node shows down in %.2f s" %
                (time.monotonic() - t0))
    finally:
        c.resume(nid)
    wait_for(lambda: rows(drv).get(nid, ("", ""))[1] == "follower",
             PAGE_WAIT, "node %d to show up again" % nid)
    ck.check(True, "the node shows up again once it answers")


def check_failover(ck, c, drv, lid):
    click(drv, "#tabs button[data-tab=cluster]")
    c.kill9(lid)
    t0 = time.monotonic()
    wait_for(lambda: rows(drv).get(lid, ("", ""))[1] == "down",
             DOWN_WAIT, "the killed leader %d to show down" % lid)
    ck.note("the killed leader shows down in %.2f s" %
            (time.monotonic() - t0))
    new = wait_for(lambda: leader_row(drv) not in (None, lid) and
                   leader_row(drv), FAILOVER_WAIT,
                   "the page to show a new leader")
    ck.check(new in c.ids() and new != lid,
             "the page highlights the new leader %s" % new)
    ck.note("the page shows the new leader %d %.2f s after the kill" %
            (new, time.monotonic() - t0))
    ck.eq(rows(drv)[lid], ("down", "down"), "the old leader stays down")
    lid2, _ = c.stable_leader(nids=[n for n in c.ids() if n != lid])
    ck.eq(new, lid2, "the page's leader is the cluster's")
    # A write from the page after the failover follows the new leader.
    click(drv, "#tabs button[data-tab=keys]")
    type_into(drv, "#key-name", "console/after")
    type_into(drv, "#key-value", "failover")
    click(drv, "#key-put")
    wait_for(lambda: "console/after\": committed" in status_line(drv),
             PAGE_WAIT, "the page's put after the failover")
    ck.eq(c.client(lid2).get("console/after"), "failover",
          "a put from the page after the failover is committed")
    click(drv, "#tabs button[data-tab=cluster]")
    screenshot(drv, "failover", 420)


# A call the page's own script could make, bypassing its hidden controls.
FETCH_JS = """const done = arguments[arguments.length - 1];
fetch("/RPC2", {method: "POST", headers: {"Content-Type": "text/xml"},
                body: arguments[0]})
  .then((r) => r.text()).then(done, (e) => done("error: " + e));"""


def check_readonly_page(ck, drv):
    c = Cluster(1, name="console-ro-page", extra={"console": "readonly"})
    c.leader(among=[1])
    c.call_with_retry("put", "ro/k", "kept")
    drv.get("http://%s/" % c.address(1))
    wait_for(lambda: drv.find_element(By.ID, "mode").text == "read-only" and
             leader_row(drv) == 1, PAGE_WAIT,
             "the read-only page with its leader")
    click(drv, "#tabs button[data-tab=keys]")
    ck.check(not any(drv.find_element(By.ID, i).is_displayed()
                     for i in ("key-put", "key-delete", "key-value")),
             "the read-only page hides put and delete")
    type_into(drv, "#key-name", "ro/k")
    click(drv, "#key-get")
    wait_for(lambda: drv.find_element(By.ID, "key-result").text == "kept",
             PAGE_WAIT, "a get in the read-only page")
    ck.check(True, "the read-only page reads keys")
    click(drv, "#tabs button[data-tab=calendar]")
    ck.check(not drv.find_element(By.ID, "cal-add").is_displayed(),
             "the read-only page hides the calendar's add")
    drv.set_script_timeout(10)
    text = drv.execute_async_script(
        FETCH_JS, xmlrpc.client.dumps(("ro/k", "from the page"), "put"))
    try:
        xmlrpc.client.loads(text)
        ck.check(False, "a put from the read-only page must fail: %r" % text)
    except xmlrpc.client.Fault as f:
        ck.eq(f.faultCode, rt.UNAUTHORIZED,
              "the node refuses a put from the read-only page")
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        ck.check(False, "a put from the read-only page: %r (%r)" % (e, text))
    ck.eq(c.client(1).get("ro/k"), "kept", "and nothing was written")
    c.finish(ck)


def main(ck):
    c = Cluster(3, name="console")
    lid, _ = c.stable_leader()
    # Load the page from a follower: the page reaches the leader and the
    # other node cross-origin.
    page_node = [n for n in c.ids() if n != lid][0]
    b = Browser(c.dir)
    try:
        drv = b.drv
        drv.get("http://%s/" % c.address(page_node))
        ck.eq(drv.title, "raftd console", "the page loads from node %d" %
              page_node)
        check_cluster_view(ck, c, drv, lid)
        check_calendar(ck, c, drv)
        check_keys_and_log(ck, c, drv)
        click(drv, "#tabs button[data-tab=cluster]")
        check_cluster_view(ck, c, drv, lid)
        screenshot(drv, "cluster", 460)
        if lid == page_node:
            raise rt.TestFailure("the page's node must not be the leader")
        check_paused(ck, c, drv, [n for n in c.ids()
                                  if n not in (lid, page_node)][0])
        check_failover(ck, c, drv, lid)
        errors = [e for e in drv.get_log("browser")
                  if e.get("level") == "SEVERE" and
                  "/RPC2" not in e.get("message", "")]
        ck.eq(errors, [], "no script errors in the page")
        c.finish(ck)
        check_readonly_page(ck, drv)
    finally:
        b.quit()


rt.run(main)
