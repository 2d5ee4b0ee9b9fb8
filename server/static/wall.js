// Pantau wall display: a grid of WHEP players driven by the event stream.
//
// Everything the page knows comes from authenticated APIs (the wall token is an
// HttpOnly cookie set at pairing). The page recovers by itself: a tile whose
// frames stop shows OFFLINE and clears when frames return; a dead peer
// connection is re-offered with backoff; the event stream reconnects with
// ?since=<last id> so no layout change or alarm is missed.
"use strict";

const MONITOR = JSON.parse(document.body.dataset.monitor);
const STALL_MS = 2500;      // no decoded frame this long: the tile says OFFLINE
const RECONNECT_MAX_MS = 10000;
const $ = (id) => document.getElementById(id);

const wall = {
  me: null, monitor: null, cameras: new Map(), tiles: [], popupTiles: [],
  lastEventId: null, ws: null, page: 0, rotateTimer: null, zoomed: null, selected: 0,
  alarms: new Map(), stopped: false, staleSince: null,
};
window.pantauWall = wall;  // for the tests and for debugging on the kiosk

// --- words: the monitor's language ---------------------------------------------------
// The server renders the page's fixed words in the monitor's language; what this
// script writes comes from /api/wall/strings (no inline script may carry them).

const words = { lang: document.documentElement.lang, strings: {}, plurals: {} };

async function loadStrings(language) {
  const resp = await fetch(`/api/wall/strings?lang=${encodeURIComponent(language)}`);
  if (!resp.ok) throw new Error(`strings: ${resp.status}`);
  const body = await resp.json();
  Object.assign(words, { lang: body.lang, strings: body.strings, plurals: body.plurals });
  document.documentElement.lang = body.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = tr(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = tr(el.dataset.i18nTitle);
}

function tr(key, values = {}) {
  const text = words.strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
}

// The clock's and the plural rules' locale (id-ID, en-GB); the page's lang before the
// strings have arrived.
function locale() { return words.strings.locale || words.lang; }

function trCount(key, n, values = {}) {
  const forms = words.plurals[key] || {};
  const form = forms[new Intl.PluralRules(locale()).select(n)] ?? forms.other ?? key;
  return form.replace(/\{(\w+)\}/g, (m, name) => (name === "n" ? String(n)
    : name in values ? String(values[name]) : m));
}

// --- WHEP tile -------------------------------------------------------------------

class Tile {
  constructor(parent) {
    this.el = document.createElement("div");
    this.el.className = "tile";
    this.el.tabIndex = -1;
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.label = document.createElement("div");
    this.label.className = "label";
    this.stateEl = document.createElement("div");
    this.stateEl.className = "state";
    this.reasonEl = document.createElement("div");
    this.reasonEl.className = "reason";
    this.stateEl.append(this.reasonEl);
    this.el.append(this.video, this.stateEl, this.label);
    parent.append(this.el);
    this.camera = null;
    this.pc = null;
    this.location = null;
    this.frames = 0;
    this.lastFrame = 0;
    this.retryMs = 1000;
    this.retryTimer = null;
    this.generation = 0;
    this.setState("empty");
    this.watchFrames();
  }

  setState(state, reason = "") {
    this.el.dataset.state = state;
    this.reasonEl.textContent = reason;
  }

  watchFrames() {
    if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
    const onFrame = () => {
      this.frames += 1;
      this.lastFrame = performance.now();
      this.el.dataset.frames = String(this.frames);
      if (this.camera && this.el.dataset.state !== "playing") this.setState("playing");
      this.video.requestVideoFrameCallback(onFrame);
    };
    this.video.requestVideoFrameCallback(onFrame);
  }

  show(camera) {
    if (camera && this.camera && camera.id === this.camera.id) return;
    this.stop();
    this.camera = camera;
    this.label.textContent = "";
    if (!camera) {
      delete this.el.dataset.cameraId;
      this.setState("empty");
      return;
    }
    this.el.dataset.cameraId = String(camera.id);
    this.frames = 0;  // counts this camera's frames (tests and the stall check read it)
    this.el.dataset.frames = "0";
    const name = document.createElement("span");
    name.textContent = camera.name;
    const district = document.createElement("span");
    district.className = "district";
    district.textContent = camera.district || "";
    this.label.append(name, district);
    this.lastFrame = performance.now();
    this.setState("connecting");
    this.connect();
  }

  async connect() {
    const generation = ++this.generation;
    clearTimeout(this.retryTimer);
    const camera = this.camera;
    if (!camera || wall.stopped) return;
    // The STUN/TURN servers the server announces (PANTAU_ICE_SERVERS), none by default.
    const pc = new RTCPeerConnection({ iceServers: (wall.me && wall.me.ice_servers) || [] });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (e) => {
      this.video.srcObject = e.streams[0] || new MediaStream([e.track]);
      this.video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (generation !== this.generation) return;
      if (pc.connectionState === "connected") this.retryMs = 1000;
      if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        this.retry(tr("connection_lost"));
      } else if (pc.connectionState === "disconnected") {
        setTimeout(() => {
          if (generation === this.generation && pc.connectionState === "disconnected") {
            this.retry(tr("connection_lost"));
          }
        }, 4000);
      }
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc, 2000);
      const resp = await fetch(`/whep/cameras/${camera.id}`, {
        method: "POST", headers: { "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp, credentials: "same-origin",
      });
      if (generation !== this.generation) { pc.close(); return; }
      if (resp.status === 401) { checkCredential(); throw new Error(tr("not_authorised")); }
      if (resp.status !== 201) throw new Error(tr("server_said", { status: resp.status }));
      this.location = resp.headers.get("Location");
      await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
    } catch (err) {
      if (generation === this.generation) this.retry(String(err.message || err));
    }
  }

  retry(reason) {
    this.teardown();
    if (!this.camera || wall.stopped) return;
    this.setState("offline", reason);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }

  // Called every second: frames stopping means the camera (or its link) is down.
  check(now) {
    if (!this.camera) return;
    const state = this.el.dataset.state;
    if (state === "playing" && now - this.lastFrame > STALL_MS) {
      this.setState("offline", tr("no_picture"));
    } else if (state === "connecting" && now - this.lastFrame > 8000) {
      this.setState("offline", tr("waiting_camera"));
    }
  }

  cameraEvent(kind, payload) {
    if (kind === "camera.offline") {
      this.setState("offline", (payload && payload.error) || tr("camera_offline"));
    } else if (kind === "camera.online" && !this.pc) {
      this.connect();
    }
  }

  teardown() {
    this.generation++;
    if (this.location) {
      fetch(this.location, { method: "DELETE", credentials: "same-origin", keepalive: true })
        .catch(() => {});
      this.location = null;
    }
    if (this.pc) { this.pc.close(); this.pc = null; }
    this.video.srcObject = null;
  }

  stop() {
    clearTimeout(this.retryTimer);
    this.teardown();
  }

  remove() { this.stop(); this.el.remove(); }
}

function iceGathered(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
  });
}

// --- layout ------------------------------------------------------------------------

function tileCount() { return wall.monitor.rows * wall.monitor.cols; }

function pages() {
  const n = tileCount();
  const maxPos = wall.monitor.slots.reduce((m, s) => Math.max(m, s.position), -1);
  return wall.monitor.rotation_seconds > 0 ? Math.max(1, Math.ceil((maxPos + 1) / n)) : 1;
}

function applyMonitor() {
  const m = wall.monitor;
  const grid = $("grid");
  grid.style.gridTemplateColumns = `repeat(${m.cols}, 1fr)`;
  grid.style.gridTemplateRows = `repeat(${m.rows}, 1fr)`;
  $("monitor-name").textContent = m.name;
  const n = tileCount();
  while (wall.tiles.length > n) wall.tiles.pop().remove();
  while (wall.tiles.length < n) wall.tiles.push(new Tile(grid));
  if (wall.page >= pages()) wall.page = 0;
  const byPos = new Map(m.slots.map((s) => [s.position, s.camera]));
  wall.tiles.forEach((tile, i) => tile.show(byPos.get(wall.page * n + i) || null));
  clearInterval(wall.rotateTimer);
  if (pages() > 1) {
    wall.rotateTimer = setInterval(() => {
      wall.page = (wall.page + 1) % pages();
      applyMonitor();
    }, m.rotation_seconds * 1000);
  }
}

let reloadTimer = null;
function reloadMonitorSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadMonitor, 50);
}

async function loadMonitor() {
  const resp = await api(`/api/monitors/${encodeURIComponent(MONITOR)}`);
  if (!resp) return;
  wall.monitor = await resp.json();
  if (wall.monitor.language && wall.monitor.language !== words.lang) {
    // A supervisor changed the monitor's language: the whole page follows at once.
    try { await loadStrings(wall.monitor.language); } catch (err) { /* next update */ }
    tickClock();
    renderAlarms();
  }
  applyMonitor();
}

// The cameras this wall may watch: its monitor's, plus an active alarm's nearest
// ones while it lasts (the server decides; anything else answers 403).
async function loadCameras() {
  const resp = await api("/api/cameras");
  if (!resp) return;
  const cams = await resp.json();
  wall.cameras.clear();
  for (const c of cams) wall.cameras.set(c.id, c);
}

// --- strip: clock, counters, alarms --------------------------------------------------

function tickClock() {
  const now = new Date();
  const tz = { timeZone: "Asia/Jakarta" };
  $("clock-time").textContent = now.toLocaleTimeString(locale(), { ...tz, hour12: false });
  $("clock-date").textContent = now.toLocaleDateString(locale(),
    { ...tz, weekday: "short", day: "numeric", month: "short" }) + " WIB";
}

let summaryTimer = null;
function refreshSummarySoon() {
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(loadSummary, 700);  // a burst of ticket events, one fetch
}

async function loadSummary() {
  const resp = await api("/api/wall/summary");
  if (!resp) { markStale(); return; }
  await applySummary(await resp.json());
}

async function applySummary(s) {
  for (const k of ["open", "new", "p1", "overdue"]) $(`c-${k}`).textContent = s.queue[k];
  renderStaffing(s.shift);
  if (wall.ws && wall.ws.readyState === WebSocket.OPEN) markFresh();
  const seen = new Set();
  for (const a of s.alarms) {
    seen.add(a.id);
    wall.alarms.set(a.id, { ...(wall.alarms.get(a.id) || {}), ...a });
  }
  for (const id of [...wall.alarms.keys()]) if (!seen.has(id)) wall.alarms.delete(id);
  if (s.alarms.some((a) => missingCameras(a))) await loadCameras();
  renderAlarms();
}

// An alarm's nearest cameras become watchable when it is raised: fetch the list again.
function missingCameras(alarm) {
  if (!wall.monitor || !wall.monitor.show_alarms) return false;
  const known = new Set([...wall.cameras.values()].map((c) => c.code));
  return (alarm.nearest_cameras || []).some((c) => !known.has(c.code));
}

// The shift below its minimums, as the console and wall-term say it.
function renderStaffing(shift) {
  const el = $("staffing");
  if (!shift || shift.status !== "open" || !shift.understaffed) {
    el.textContent = "";
    el.classList.add("hidden");
    return;
  }
  const short = Object.entries(shift.shortfall || {}).sort()
    .map(([role, n]) => `${tr("role." + role)} −${n}`).join(", ");
  el.textContent = tr("understaffed", { detail: short || "?" });
  el.classList.remove("hidden");
}

// While the event stream is down (or the counters could not be fetched) what the
// strip shows may be out of date: grey it and say since when, until fresh again.
function markStale() {
  if (wall.staleSince === null) wall.staleSince = new Date();
  const since = wall.staleSince.toLocaleTimeString(locale(),
    { timeZone: "Asia/Jakarta", hour: "2-digit", minute: "2-digit", hour12: false });
  $("strip").classList.add("stale");
  $("stale").textContent = tr("stale_since", { time: since });
  $("stale").classList.remove("hidden");
}

function markFresh() {
  wall.staleSince = null;
  $("strip").classList.remove("stale");
  $("stale").textContent = "";
  $("stale").classList.add("hidden");
}

function renderAlarms() {
  const list = [...wall.alarms.values()];
  $("alarms").textContent = list.length
    ? trCount("alarms", list.length) + " " + list.map((a) => a.address || a.device || `#${a.id}`).join(" · ")
    : "";
  const raised = list.filter((a) => a.status === "raised");
  const popup = $("alarm-popup");
  if (!wall.monitor || !wall.monitor.show_alarms || raised.length === 0) {
    popup.classList.add("hidden");
    wall.popupTiles.forEach((t) => t.remove());
    wall.popupTiles = [];
    wall.popupAlarm = null;
    return;
  }
  const alarm = raised[0];
  popup.classList.remove("hidden");
  $("alarm-count").textContent = raised.length > 1 ? `(${raised.length})` : "";
  $("alarm-where").textContent = [alarm.address, alarm.owner_name, alarm.device]
    .filter(Boolean).join(" — ") || `${alarm.lat}, ${alarm.lon}`;
  const cams = nearestCameras(alarm, 4);
  if (wall.popupAlarm === alarm.id && wall.popupTiles.length === cams.length) return;
  wall.popupAlarm = alarm.id;
  wall.popupTiles.forEach((t) => t.remove());
  wall.popupTiles = cams.map((cam) => {
    const t = new Tile($("alarm-cams"));
    t.show(cam);
    return t;
  });
}

function nearestCameras(alarm, n) {
  const byCode = new Map([...wall.cameras.values()].map((c) => [c.code, c]));
  if (Array.isArray(alarm.nearest_cameras) && alarm.nearest_cameras.length) {
    return alarm.nearest_cameras.map((c) => byCode.get(c.code)).filter(Boolean).slice(0, n);
  }
  const d = (c) => (c.lat - alarm.lat) ** 2 + ((c.lon - alarm.lon) * Math.cos(alarm.lat * Math.PI / 180)) ** 2;
  return [...wall.cameras.values()].filter((c) => c.enabled).sort((a, b) => d(a) - d(b)).slice(0, n);
}

// --- the event stream ---------------------------------------------------------------

let wsRetryMs = 1000;
function connectEvents() {
  if (wall.stopped) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const since = wall.lastEventId !== null ? `?since=${wall.lastEventId}` : "";
  const ws = new WebSocket(`${proto}//${location.host}/api/events${since}`);
  wall.ws = ws;
  ws.onopen = () => { wsRetryMs = 1000; $("link").classList.remove("down"); };
  ws.onmessage = (msg) => {
    const frame = JSON.parse(msg.data);
    if (frame.type === "hello") {
      const gap = wall.lastEventId === null;
      wall.lastEventId = frame.last_id;
      if (gap) return;
      loadSummary();  // after a reconnect: counters may have moved
      reviveTiles();  // the server may have restarted: don't wait out the backoff
    } else if (frame.type === "event") {
      wall.lastEventId = frame.id;
      onEvent(frame);
    } else if (frame.type === "resync") {
      wall.lastEventId = frame.last_id;
      if (!frame.snapshot) { ws.close(); return; }  // fell behind live: the gap is replayed
      // Too long away to replay: take the state as it is now, the stream goes on.
      if (frame.snapshot.summary) applySummary(frame.snapshot.summary);
      loadCameras();
      reloadMonitorSoon();
    }
  };
  ws.onclose = () => {
    $("link").classList.add("down");
    if (!wall.stopped) markStale();
    if (wall.ws !== ws || wall.stopped) return;
    setTimeout(async () => {
      if (await checkCredential()) connectEvents();
    }, wsRetryMs);
    wsRetryMs = Math.min(wsRetryMs * 2, RECONNECT_MAX_MS);
  };
}

function reviveTiles() {
  const now = performance.now();
  for (const t of [...wall.tiles, ...wall.popupTiles]) {
    const alive = t.pc && t.pc.connectionState === "connected" && now - t.lastFrame < STALL_MS;
    if (t.camera && !alive) { t.retryMs = 1000; t.stop(); t.connect(); }
  }
}

function onEvent(e) {
  const kind = e.kind;
  const p = e.payload || {};
  if (kind === "camera.online" || kind === "camera.offline") {
    const id = Number(e.subject.id);
    const cam = wall.cameras.get(id);
    if (cam) cam.health = { ...(cam.health || {}), online: kind === "camera.online" };
    for (const t of [...wall.tiles, ...wall.popupTiles]) {
      if (t.camera && t.camera.id === id) t.cameraEvent(kind, p);
    }
  } else if (kind === "monitor.updated" && p.monitor === MONITOR) {
    reloadMonitorSoon();
  } else if (kind === "monitor.wall_revoked" && p.monitor === MONITOR) {
    checkCredential();
  } else if (kind === "alarm.raised") {
    const a = p.alarm || {};
    wall.alarms.set(Number(e.subject.id), { ...a, id: Number(e.subject.id), status: "raised" });
    renderAlarms();
    if (missingCameras(a)) loadCameras().then(renderAlarms);
    refreshSummarySoon();
  } else if (kind.startsWith("alarm.")) {
    const id = Number(e.subject.id);
    const a = wall.alarms.get(id);
    if (a) {
      const status = { "alarm.acknowledged": "acknowledged", "alarm.dispatched": "dispatched" }[kind];
      if (status) a.status = status;
      if (kind === "alarm.resolved" || kind === "alarm.false_alarm") wall.alarms.delete(id);
      renderAlarms();
    }
    refreshSummarySoon();
  } else if (kind.startsWith("ticket.") || kind.startsWith("shift.")) {
    refreshSummarySoon();
  }
}

// --- credential: pairing, revocation -----------------------------------------------

async function api(path) {
  try {
    const resp = await fetch(path, { credentials: "same-origin" });
    if (resp.status === 401) { checkCredential(); return null; }
    return resp.ok ? resp : null;
  } catch (err) {
    return null;
  }
}

// True while the wall's credential is good; on 401 everything stops at once.
async function checkCredential() {
  let resp;
  try {
    resp = await fetch("/api/wall/me", { credentials: "same-origin" });
  } catch (err) {
    return true;  // the network, not the credential: keep retrying
  }
  if (resp.status === 401 || resp.status === 403) {
    const wasRunning = wall.me !== null;
    stopAll();
    if (wasRunning) showMessage(tr("revoked"));
    setTimeout(pair, wasRunning ? 3000 : 0);
    return false;
  }
  return resp.ok;
}

function stopAll() {
  wall.stopped = true;
  wall.me = null;
  clearInterval(wall.rotateTimer);
  if (wall.ws) { const ws = wall.ws; wall.ws = null; ws.close(); }
  [...wall.tiles, ...wall.popupTiles].forEach((t) => t.remove());
  wall.tiles = [];
  wall.popupTiles = [];
}

function showMessage(text) {
  $("message-text").textContent = text;
  $("message").classList.remove("hidden");
}

let pairing = false;
async function pair() {
  if (pairing) return;
  pairing = true;
  $("message").classList.add("hidden");
  $("pairing").classList.remove("hidden");
  $("pair-monitor").textContent = MONITOR;
  try {
    for (;;) {
      let resp;
      try {
        resp = await fetch("/api/wall/pairings", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ monitor: MONITOR }),
        });
      } catch (err) { await sleep(3000); continue; }
      if (resp.status !== 201) { await sleep(5000); continue; }
      const p = await resp.json();
      $("pair-code").textContent = p.code;
      $("pair-code-big").textContent = p.code;
      $("pair-hint").textContent = tr("code_valid");
      document.body.dataset.pairingCode = p.code;
      for (;;) {
        await sleep((p.poll_seconds || 2) * 1000);
        let r;
        try {
          r = await fetch("/api/wall/pairings/claim", {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ claim: p.claim }), credentials: "same-origin",
          });
        } catch (err) { continue; }
        if (r.status === 202) continue;
        if (r.status === 200) {
          $("pairing").classList.add("hidden");
          delete document.body.dataset.pairingCode;
          pairing = false;
          boot();
          return;
        }
        break;  // expired or used: ask for a new code
      }
    }
  } finally {
    pairing = false;
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// --- keyboard: select and fullscreen a tile ------------------------------------------

function select(i) {
  if (!wall.tiles.length) return;
  wall.selected = (i + wall.tiles.length) % wall.tiles.length;
  wall.tiles.forEach((t, j) => t.el.classList.toggle("selected", j === wall.selected));
}

function zoom(i) {
  wall.tiles.forEach((t) => t.el.classList.remove("zoomed"));
  wall.zoomed = i;
  if (i !== null && wall.tiles[i]) wall.tiles[i].el.classList.add("zoomed");
}

document.addEventListener("keydown", (e) => {
  if (!wall.monitor) return;
  const cols = wall.monitor.cols;
  if (/^[1-9]$/.test(e.key)) { select(Number(e.key) - 1); zoom(wall.selected); }
  else if (e.key === "Enter" || e.key === "f") zoom(wall.zoomed === null ? wall.selected : null);
  else if (e.key === "Escape") zoom(null);
  else if (e.key === "ArrowRight") select(wall.selected + 1);
  else if (e.key === "ArrowLeft") select(wall.selected - 1);
  else if (e.key === "ArrowDown") select(wall.selected + cols);
  else if (e.key === "ArrowUp") select(wall.selected - cols);
  else return;
  e.preventDefault();
});

// --- start -------------------------------------------------------------------------

async function boot() {
  let resp;
  try {
    if (!Object.keys(words.strings).length) await loadStrings(words.lang);
    resp = await fetch("/api/wall/me", { credentials: "same-origin" });
  } catch (err) {
    setTimeout(boot, 2000);
    return;
  }
  if (resp.status === 401) { pair(); return; }
  if (!resp.ok) { setTimeout(boot, 2000); return; }
  wall.me = await resp.json();
  if (wall.me.monitor !== MONITOR) {
    location.replace(`/wall/${encodeURIComponent(wall.me.monitor)}`);
    return;
  }
  wall.stopped = false;
  $("message").classList.add("hidden");
  await loadCameras();
  await loadMonitor();
  await loadSummary();
  connectEvents();
}

setInterval(() => {
  tickClock();
  const now = performance.now();
  for (const t of [...wall.tiles, ...wall.popupTiles]) t.check(now);
}, 1000);
// Connected, but the last fetch of the counters failed (the database away): retry.
setInterval(() => {
  if (wall.staleSince && wall.ws && wall.ws.readyState === WebSocket.OPEN) loadSummary();
}, 10000);
tickClock();
boot();
