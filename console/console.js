// console.js: raftd's web console (docs/CONSOLE.md).  Plain JavaScript, no
// libraries: a small XML-RPC encoder/decoder, then the four tabs.  The page
// calls every member's /RPC2 itself (CORS: each node answers the members'
// own origins); writes and linearizable reads go to the leader, following
// NOT_LEADER hints, with a tid so that a retry never applies a write twice.
"use strict";

(function () {
  const POLL_MS = 500;            // cluster view refresh
  const STATUS_TIMEOUT_MS = 1000; // a node slower than this is shown down
  const MEMBERS_MS = 5000;        // how often the member list is refreshed
  const CALL_TIMEOUT_MS = 8000;   // one call of a write or a read
  const DEADLINE_MS = 15000;      // a write or read, all retries included
  const CAL_REFRESH_MS = 2000;    // the calendar and log refresh
  const PAGE = 200;               // keys per list() page

  // ---- XML-RPC ------------------------------------------------------------

  class RpcFault extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  function xmlEscape(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;")
      .replace(/>/g, "&gt;").replace(/\r/g, "&#x0d;");
  }

  function encodeValue(v) {
    if (typeof v === "boolean") {
      return "<value><boolean>" + (v ? 1 : 0) + "</boolean></value>";
    }
    if (typeof v === "number") {
      if (!Number.isInteger(v)) throw new Error("not an integer: " + v);
      const t = v >= -2147483648 && v <= 2147483647 ? "i4" : "i8";
      return "<value><" + t + ">" + v + "</" + t + "></value>";
    }
    if (typeof v === "string") {
      return "<value><string>" + xmlEscape(v) + "</string></value>";
    }
    if (Array.isArray(v)) {
      return "<value><array><data>" + v.map(encodeValue).join("") +
        "</data></array></value>";
    }
    if (v !== null && typeof v === "object") {
      return "<value><struct>" + Object.keys(v).map((k) =>
        "<member><name>" + xmlEscape(k) + "</name>" + encodeValue(v[k]) +
        "</member>").join("") + "</struct></value>";
    }
    throw new Error("cannot encode " + typeof v);
  }

  function encodeCall(method, params) {
    return '<?xml version="1.0"?>\n<methodCall><methodName>' + method +
      "</methodName><params>" +
      params.map((p) => "<param>" + encodeValue(p) + "</param>").join("") +
      "</params></methodCall>";
  }

  function firstElement(node) {
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 1) return c;
    }
    return null;
  }

  function elements(node, name) {
    const out = [];
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 1 && c.localName === name) out.push(c);
    }
    return out;
  }

  function decodeValue(valueEl) {
    const t = firstElement(valueEl);
    if (t === null) return valueEl.textContent; // a bare <value>: a string
    switch (t.localName) {
      case "string": return t.textContent;
      case "i4": case "int": case "i8":
        return parseInt(t.textContent, 10);
      case "boolean": return t.textContent.trim() === "1";
      case "double": return parseFloat(t.textContent);
      case "nil": return null;
      case "base64": case "dateTime.iso8601": return t.textContent.trim();
      case "array": {
        const data = elements(t, "data")[0];
        return data ? elements(data, "value").map(decodeValue) : [];
      }
      case "struct": {
        const out = {};
        for (const m of elements(t, "member")) {
          const n = elements(m, "name")[0];
          const v = elements(m, "value")[0];
          if (n && v) out[n.textContent] = decodeValue(v);
        }
        return out;
      }
      default: throw new Error("unknown XML-RPC type " + t.localName);
    }
  }

  function decodeResponse(text) {
    const doc = new DOMParser().parseFromString(text, "text/xml");
    const root = doc.documentElement;
    if (!root || root.localName !== "methodResponse") {
      throw new Error("not an XML-RPC answer");
    }
    const fault = elements(root, "fault")[0];
    if (fault) {
      const f = decodeValue(elements(fault, "value")[0]);
      throw new RpcFault(f.faultCode, f.faultString);
    }
    const params = elements(root, "params")[0];
    const param = params && elements(params, "param")[0];
    const value = param && elements(param, "value")[0];
    if (!value) throw new Error("an XML-RPC answer without a value");
    return decodeValue(value);
  }

  // One call to the node at `address` ("host:port").
  async function rpc(address, method, params, timeoutMs) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      const r = await fetch(location.protocol + "//" + address + "/RPC2", {
        method: "POST",
        headers: { "Content-Type": "text/xml" },
        body: encodeCall(method, params || []),
        signal: ctl.signal,
        cache: "no-store",
        credentials: "omit",
      });
      const text = await r.text();
      if (!r.ok) throw new Error("HTTP " + r.status + ": " + text.trim());
      return decodeResponse(text);
    } catch (e) {
      if (e.name === "AbortError") {
        throw new Error(address + " did not answer within " + timeoutMs +
          " ms");
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  // ---- the cluster: members and their status -------------------------------

  const st = {
    info: null,       // /console.json: {id, address, mode, tls}
    members: [],      // [{id, address}] by id
    nodes: new Map(), // id -> {status, up, error, busy}
    readonly: false,
  };

  function leader() {
    let best = null;
    for (const m of st.members) {
      const n = st.nodes.get(m.id);
      if (n && n.up && n.status && n.status.state === "leader" &&
          (best === null || n.status.term > best.status.term)) {
        best = { id: m.id, address: m.address, status: n.status };
      }
    }
    return best;
  }

  function addressOf(id) {
    const m = st.members.find((x) => x.id === id);
    return m ? m.address : null;
  }

  async function refreshMembers() {
    // Ask this node first, then the others (this one may be down).
    const order = [st.info.address].concat(
      st.members.map((m) => m.address).filter((a) => a !== st.info.address));
    for (const a of order) {
      try {
        const ms = await rpc(a, "members", [], STATUS_TIMEOUT_MS);
        if (Array.isArray(ms) && ms.length > 0) {
          st.members = ms.map((m) => ({ id: m.id, address: m.address }))
            .sort((x, y) => x.id - y.id);
          fillNodeSelect();
          return;
        }
      } catch (e) {
        // try the next one
      }
    }
  }

  function pollNode(m) {
    let n = st.nodes.get(m.id);
    if (!n) {
      n = { status: null, up: false, error: "not asked yet", busy: false };
      st.nodes.set(m.id, n);
    }
    if (n.busy) return;
    n.busy = true;
    rpc(m.address, "status", [], STATUS_TIMEOUT_MS).then((s) => {
      n.status = s;
      n.up = true;
      n.error = "";
    }, (e) => {
      n.up = false;
      n.error = e.message;
    }).finally(() => {
      n.busy = false;
      renderNodes();
    });
  }

  function pollAll() {
    for (const m of st.members) pollNode(m);
  }

  function lagOf(id, s, lead) {
    if (!lead || !s) return "";
    if (id === lead.id) return 0;
    const peers = lead.status.peers;
    if (Array.isArray(peers)) {
      const p = peers.find((x) => x.id === id);
      if (p && typeof p.lag === "number") return p.lag;
      if (p && typeof p.matchIndex === "number") {
        return Math.max(0, lead.status.lastLogIndex - p.matchIndex);
      }
    }
    return Math.max(0, lead.status.lastLogIndex - s.lastLogIndex);
  }

  function td(row, text, cls) {
    const c = document.createElement("td");
    c.textContent = text === undefined || text === null ? "" : String(text);
    if (cls) c.className = cls;
    row.appendChild(c);
    return c;
  }

  function renderNodes() {
    const body = document.querySelector("#nodes tbody");
    const lead = leader();
    const rows = [];
    for (const m of st.members) {
      const n = st.nodes.get(m.id) || {};
      const s = n.status;
      const tr = document.createElement("tr");
      tr.dataset.id = m.id;
      tr.dataset.state = n.up && s ? s.state : "down";
      if (!n.up) {
        tr.className = "down";
        tr.title = n.error || "";
      } else if (lead && lead.id === m.id) {
        tr.className = "leader";
      }
      td(tr, m.id, "num");
      td(tr, m.address);
      td(tr, n.up && s ? s.state : "down", "state");
      const show = n.up && s;
      td(tr, show ? s.term : "", "num");
      td(tr, show ? (s.leader || "?") : "", "num");
      td(tr, show ? s.commitIndex : "", "num");
      td(tr, show ? s.lastApplied : "", "num");
      td(tr, show ? s.lastLogIndex : "", "num");
      const lag = show ? lagOf(m.id, s, lead) : "";
      td(tr, lag, "num lag" + (lag > 100 ? " lag-high" : ""));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    const who = st.nodes.get(st.info.id);
    document.getElementById("whoami").textContent = "node " + st.info.id +
      " (" + st.info.address + ")" +
      (lead ? " · leader: node " + lead.id + ", term " + lead.status.term
        : " · no leader known") +
      (who && !who.up ? " · this node does not answer" : "");
  }

  // ---- calls at the leader --------------------------------------------------

  let tidCount = 0;
  const tidBase = "console-" + randomId(10);
  function newTid() {
    tidCount += 1;
    return tidBase + "-" + tidCount;
  }

  function randomId(n) {
    const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    const bytes = new Uint8Array(n);
    crypto.getRandomValues(bytes);
    let s = "";
    for (const b of bytes) s += alphabet[b & 31];
    return s;
  }

  function hintAddress(message) {
    const m = /leader=(\d+)@(\S+)/.exec(message || "");
    return m ? m[2] : null;
  }

  // Calls `method` on the leader: starts at the leader the cluster view
  // knows (else this node), follows NOT_LEADER hints, waits out elections,
  // and retries TIMEOUT and UNAVAILABLE with the same arguments (writes
  // carry a tid, so a retry never applies twice).  Other faults are thrown.
  async function callLeader(method, params) {
    const deadline = Date.now() + DEADLINE_MS;
    const lead = leader();
    let address = lead ? lead.address : st.info.address;
    let tried = 0;
    let lastError = null;
    while (Date.now() < deadline && tried < 60) {
      tried += 1;
      try {
        return await rpc(address, method, params, CALL_TIMEOUT_MS);
      } catch (e) {
        lastError = e;
        if (e instanceof RpcFault) {
          if (e.code === 1) {
            const h = hintAddress(e.message);
            if (h && h !== address) {
              address = h;
              continue;
            }
            await sleep(150); // an election: no leader known yet
            continue;
          }
          if (e.code !== 2 && e.code !== 6) throw e;
          await sleep(150);
          continue;
        }
        // Not reachable: another node (the leader now, or the next one).
        await sleep(150);
        const l = leader();
        if (l && l.address !== address) {
          address = l.address;
        } else {
          const i = st.members.findIndex((m) => m.address === address);
          address = st.members.length > 0
            ? st.members[(i + 1) % st.members.length].address
            : st.info.address;
        }
      }
    }
    throw lastError || new Error("no leader answered");
  }

  // Every key with `prefix`, paged with list(prefix, after, limit).
  async function listAll(prefix, max) {
    let after = "";
    const out = [];
    for (let i = 0; i < 1000 && out.length < max; i++) {
      const page = await callLeader("list", [prefix, after, PAGE]);
      if (!page.length) break;
      out.push(...page);
      after = page[page.length - 1].key;
    }
    return out;
  }

  // ---- status line ----------------------------------------------------------

  function say(text, isError) {
    const f = document.getElementById("status");
    f.textContent = text;
    f.className = isError ? "error" : "";
  }

  function failed(what, e) {
    const msg = e instanceof RpcFault ? "fault " + e.code + ": " + e.message
      : e.message;
    say(what + " failed: " + msg, true);
  }

  // ---- the log tab ------------------------------------------------------------

  const logView = { node: null, from: 0, latest: true };

  function fillNodeSelect() {
    const sel = document.getElementById("log-node");
    const keep = sel.value;
    sel.replaceChildren(...st.members.map((m) => {
      const o = document.createElement("option");
      o.value = String(m.id);
      o.textContent = "node " + m.id + " (" + m.address + ")";
      return o;
    }));
    sel.value = keep || String(st.info.id);
    if (sel.value === "") sel.value = String(st.info.id);
  }

  async function loadLog() {
    const id = parseInt(document.getElementById("log-node").value, 10) ||
      st.info.id;
    const address = addressOf(id) || st.info.address;
    const count = parseInt(document.getElementById("log-count").value, 10);
    try {
      if (logView.latest) {
        const s = await rpc(address, "status", [], STATUS_TIMEOUT_MS);
        logView.from = Math.max(s.logFirstIndex || 1,
          s.lastLogIndex - count + 1, 1);
      }
      const entries = await rpc(address, "showLog", [logView.from, count],
        CALL_TIMEOUT_MS);
      renderLog(entries, count);
    } catch (e) {
      failed("showLog on node " + id, e);
    }
  }

  function renderLog(entries, count) {
    const body = document.querySelector("#log tbody");
    const rows = entries.slice().reverse().map((e) => {
      const tr = document.createElement("tr");
      if (!e.committed) tr.className = "uncommitted";
      td(tr, e.index, "num");
      td(tr, e.term, "num");
      td(tr, e.tid);
      td(tr, e.data, "data");
      td(tr, e.committed ? "yes" : "no");
      return tr;
    });
    body.replaceChildren(...rows);
    document.getElementById("log-range").textContent = entries.length
      ? "entries " + entries[0].index + "–" +
        entries[entries.length - 1].index + " (newest first)"
      : "no entries from index " + logView.from;
    logView.count = count;
  }

  // ---- the keys tab -----------------------------------------------------------

  const keysView = { prefix: "", after: "" };

  async function listKeys(more) {
    if (!more) {
      keysView.prefix = document.getElementById("prefix").value;
      keysView.after = "";
      document.querySelector("#keys tbody").replaceChildren();
    }
    try {
      const page = await callLeader("list",
        [keysView.prefix, keysView.after, PAGE]);
      const body = document.querySelector("#keys tbody");
      for (const kv of page) body.appendChild(keyRow(kv.key, kv.value));
      if (page.length) keysView.after = page[page.length - 1].key;
      document.getElementById("list-more").hidden = page.length < PAGE;
      say((more ? "more: " : "") + page.length + " keys with prefix \"" +
        keysView.prefix + "\"");
    } catch (e) {
      failed("list", e);
    }
  }

  function keyRow(key, value) {
    const tr = document.createElement("tr");
    tr.dataset.key = key;
    td(tr, key, "key");
    td(tr, value.length > 500 ? value.slice(0, 500) + "…" : value, "value");
    const c = td(tr, "");
    const edit = document.createElement("button");
    edit.type = "button";
    edit.textContent = "edit";
    edit.className = "write";
    edit.addEventListener("click", () => {
      document.getElementById("key-name").value = key;
      document.getElementById("key-value").value = value;
    });
    const del = document.createElement("button");
    del.type = "button";
    del.textContent = "delete";
    del.className = "del write";
    del.addEventListener("click", () => deleteKey(key, tr));
    c.append(edit, del);
    return tr;
  }

  function showResult(text) {
    document.getElementById("key-result").textContent = text;
  }

  async function getKey() {
    const key = document.getElementById("key-name").value;
    try {
      const v = await callLeader("get", [key]);
      showResult(v);
      say("get \"" + key + "\": " + v.length + " bytes");
    } catch (e) {
      if (e instanceof RpcFault && e.code === 4) {
        showResult("(absent)");
        say("get \"" + key + "\": absent");
      } else {
        failed("get", e);
      }
    }
  }

  async function putKey() {
    const key = document.getElementById("key-name").value;
    const value = document.getElementById("key-value").value;
    try {
      await callLeader("put", [key, value, newTid()]);
      showResult("put \"" + key + "\" = \"" + value + "\"");
      say("put \"" + key + "\": committed");
    } catch (e) {
      failed("put", e);
    }
  }

  async function deleteKey(key, row) {
    try {
      const existed = await callLeader("delete", [key, newTid()]);
      showResult(existed ? "deleted \"" + key + "\""
        : "\"" + key + "\" was absent");
      say("delete \"" + key + "\": " + (existed ? "done" : "absent"));
      if (row) row.remove();
    } catch (e) {
      failed("delete", e);
    }
  }

  // ---- the calendar tab -------------------------------------------------------

  // Events are the keys cal/YYYY-MM-DD/HH:MM/ID -> TITLE, as raftctl cal
  // writes them (client/calendar.h); created with cas(key, "", title) so
  // that an add never overwrites another.
  const CAL_KEY = /^cal\/(\d{4})-(\d{2})-(\d{2})\/(\d{2}):(\d{2})\/([A-Za-z0-9_-]{1,64})$/;
  const MONTHS = ["January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December"];
  const today = new Date();
  const calView = { year: today.getFullYear(), month: today.getMonth() + 1,
    events: [], loadedFor: "" };

  const pad = (n, w) => String(n).padStart(w, "0");

  function daysIn(y, m) {
    return [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28,
      31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  }

  // 0 = Monday .. 6 = Sunday (ISO 8601), as raftctl's grid.
  function weekday(y, m, d) {
    return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  }

  function parseDate(s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return null;
    const y = +m[1], mo = +m[2], d = +m[3];
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return null;
    return { y, mo, d };
  }

  function parseTime(s) {
    const m = /^(\d{2}):(\d{2})$/.exec(s);
    return m && +m[1] <= 23 && +m[2] <= 59 ? s : null;
  }

  async function loadCalendar() {
    const prefix = "cal/" + pad(calView.year, 4) + "-" +
      pad(calView.month, 2) + "-";
    try {
      const kvs = await listAll(prefix, 10000);
      calView.events = [];
      for (const kv of kvs) {
        const m = CAL_KEY.exec(kv.key);
        if (!m || !parseDate(m[1] + "-" + m[2] + "-" + m[3]) ||
            !parseTime(m[4] + ":" + m[5])) {
          continue; // not an event (written by hand under cal/)
        }
        calView.events.push({ key: kv.key, day: +m[3],
          time: m[4] + ":" + m[5], id: m[6], title: kv.value });
      }
      calView.loadedFor = prefix;
      renderCalendar();
    } catch (e) {
      failed("reading the calendar", e);
    }
  }

  function renderCalendar() {
    const y = calView.year, mo = calView.month;
    document.getElementById("cal-month").textContent =
      MONTHS[mo - 1] + " " + y;
    const body = document.querySelector("#cal-grid tbody");
    const first = weekday(y, mo, 1);
    const n = daysIn(y, mo);
    const isToday = (d) => y === today.getFullYear() &&
      mo === today.getMonth() + 1 && d === today.getDate();
    const picked = parseDate(document.getElementById("cal-date").value);
    const rows = [];
    let tr = null;
    for (let cell = 0; cell < Math.ceil((first + n) / 7) * 7; cell++) {
      if (cell % 7 === 0) {
        tr = document.createElement("tr");
        rows.push(tr);
      }
      const d = cell - first + 1;
      const c = document.createElement("td");
      tr.appendChild(c);
      if (d < 1 || d > n) {
        c.className = "other";
        continue;
      }
      const date = pad(y, 4) + "-" + pad(mo, 2) + "-" + pad(d, 2);
      c.dataset.date = date;
      const cls = [];
      if (isToday(d)) cls.push("today");
      if (picked && picked.y === y && picked.mo === mo && picked.d === d) {
        cls.push("picked");
      }
      c.className = cls.join(" ");
      const num = document.createElement("div");
      num.className = "day";
      num.textContent = d;
      const list = document.createElement("ul");
      for (const ev of calView.events.filter((e) => e.day === d)) {
        const li = document.createElement("li");
        li.className = "event";
        li.dataset.key = ev.key;
        li.dataset.id = ev.id;
        li.title = ev.time + " " + ev.title + " (" + ev.id + ")";
        const del = document.createElement("button");
        del.type = "button";
        del.className = "del write";
        del.textContent = "×";
        del.title = "delete this event";
        del.addEventListener("click", (evt) => {
          evt.stopPropagation();
          deleteEvent(ev);
        });
        const text = document.createElement("span");
        text.textContent = ev.time + " " + ev.title;
        li.append(del, text);
        list.appendChild(li);
      }
      c.append(num, list);
      c.addEventListener("click", () => {
        document.getElementById("cal-date").value = date;
        renderCalendar();
      });
    }
    body.replaceChildren(...rows);
    // The month's events as raftctl cal list prints them.
    const list = calView.events.map((ev) => {
      const r = document.createElement("tr");
      r.dataset.id = ev.id;
      td(r, pad(y, 4) + "-" + pad(mo, 2) + "-" + pad(ev.day, 2));
      td(r, ev.time);
      td(r, ev.id);
      td(r, ev.title);
      const del = document.createElement("button");
      del.type = "button";
      del.className = "del";
      del.textContent = "delete";
      del.addEventListener("click", () => deleteEvent(ev));
      td(r, "", "write").appendChild(del);
      return r;
    });
    document.querySelector("#cal-list tbody").replaceChildren(...list);
  }

  async function addEvent() {
    const dateText = document.getElementById("cal-date").value.trim();
    const timeText = document.getElementById("cal-time").value.trim();
    const title = document.getElementById("cal-title").value;
    const date = parseDate(dateText);
    if (!date) return say("bad date \"" + dateText + "\": want YYYY-MM-DD, a real day", true);
    if (!parseTime(timeText)) return say("bad time \"" + timeText + "\": want HH:MM, 00:00 to 23:59", true);
    // eslint-disable-next-line no-control-regex
    if (title.trim() === "" || /[\u0000-\u001f\u007f]/.test(title)) {
      return say("the title must be non-empty, on one line", true);
    }
    try {
      for (let i = 0; i < 5; i++) {
        const id = randomId(10);
        const key = "cal/" + dateText + "/" + timeText + "/" + id;
        if (await callLeader("cas", [key, "", title, newTid()])) {
          say("event " + id + " added on " + dateText + " " + timeText);
          document.getElementById("cal-title").value = "";
          calView.year = date.y;
          calView.month = date.mo;
          await loadCalendar();
          return;
        }
      }
      say("could not find a free event id", true);
    } catch (e) {
      failed("adding the event", e);
    }
  }

  async function deleteEvent(ev) {
    try {
      await callLeader("delete", [ev.key, newTid()]);
      say("event " + ev.id + " deleted");
      await loadCalendar();
    } catch (e) {
      failed("deleting the event", e);
    }
  }

  function moveMonth(delta) {
    let m = calView.month + delta;
    let y = calView.year;
    if (m < 1) { m = 12; y -= 1; }
    if (m > 12) { m = 1; y += 1; }
    if (y < 1 || y > 9999) return;
    calView.year = y;
    calView.month = m;
    calView.events = [];
    renderCalendar();
    loadCalendar();
  }

  // ---- tabs and start-up ------------------------------------------------------

  let activeTab = "cluster";

  function showTab(name) {
    activeTab = name;
    for (const b of document.querySelectorAll("#tabs button")) {
      b.classList.toggle("active", b.dataset.tab === name);
    }
    for (const s of document.querySelectorAll("main > section")) {
      s.hidden = s.id !== "tab-" + name;
    }
    if (name === "log") loadLog();
    if (name === "calendar") {
      renderCalendar();
      loadCalendar();
    }
  }

  function on(id, fn) {
    document.getElementById(id).addEventListener("click", fn);
  }

  function wire() {
    for (const b of document.querySelectorAll("#tabs button")) {
      b.addEventListener("click", () => showTab(b.dataset.tab));
    }
    on("log-latest", () => { logView.latest = true; loadLog(); });
    on("log-older", () => {
      const count = parseInt(document.getElementById("log-count").value, 10);
      logView.latest = false;
      logView.from = Math.max(1, logView.from - count);
      loadLog();
    });
    on("log-newer", () => {
      const count = parseInt(document.getElementById("log-count").value, 10);
      logView.latest = false;
      logView.from += count;
      loadLog();
    });
    document.getElementById("log-node").addEventListener("change", () => {
      logView.latest = true;
      loadLog();
    });
    document.getElementById("log-count").addEventListener("change", () => {
      loadLog();
    });
    on("list-keys", () => listKeys(false));
    on("list-more", () => listKeys(true));
    on("key-get", getKey);
    on("key-put", putKey);
    on("key-delete", () => deleteKey(
      document.getElementById("key-name").value, null));
    on("cal-prev", () => moveMonth(-1));
    on("cal-next", () => moveMonth(1));
    on("cal-today", () => {
      calView.year = today.getFullYear();
      calView.month = today.getMonth() + 1;
      moveMonth(0);
    });
    on("cal-add", addEvent);
  }

  async function start() {
    wire();
    try {
      const r = await fetch("/console.json", { cache: "no-store" });
      st.info = await r.json();
    } catch (e) {
      say("cannot read /console.json: " + e.message, true);
      return;
    }
    st.readonly = st.info.mode === "readonly";
    document.body.classList.toggle("readonly", st.readonly);
    document.getElementById("mode").textContent =
      st.readonly ? "read-only" : "";
    // location.host leaves the scheme's default port out.
    const dflt = location.protocol === "https:" ? ":443" : ":80";
    let own = st.info.address.toLowerCase();
    if (own.endsWith(dflt)) own = own.slice(0, -dflt.length);
    if (location.host.toLowerCase() !== own) {
      // The nodes answer pages of the members' own origins only.
      const b = document.getElementById("banner");
      const a = document.createElement("a");
      a.href = location.protocol + "//" + st.info.address + "/";
      a.textContent = a.href;
      b.append("This page was loaded as " + location.host +
        ", which is not one of the cluster's member addresses, so the " +
        "nodes refuse its calls: open it at ", a, ".");
      b.hidden = false;
    }
    st.members = [{ id: st.info.id, address: st.info.address }];
    fillNodeSelect();
    renderNodes();
    await refreshMembers();
    pollAll();
    setInterval(pollAll, POLL_MS);
    setInterval(refreshMembers, MEMBERS_MS);
    setInterval(() => {
      if (document.hidden) return;
      if (activeTab === "calendar") loadCalendar();
      if (activeTab === "log" && logView.latest) loadLog();
    }, CAL_REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
