// The call composer: opens a call recording (`GET /recordings/{id}`), starts its per-peer previews and plays them
// side by side under one transport, edits its Composition State (the layout at time zero, timeline events at the
// transport's time, muted peers, the export's size) and saves it, and exports it. Every composition request carries
// a single-use token minted just before it, with the one scope it needs (docs/calls.md).
//
// Why one transport can drive every preview: each preview starts at the call's time zero (black and silence before
// the peer joined), so the same `currentTime` is the same moment of the call in every player. hls.js plays them
// (`vendor/hls.min.mjs`, a link to node_modules), loaded only when previews are shown.

const POLL_MS = 1000;
// A player further than this from the transport's time is moved to it.
const DRIFT_S = 0.1;
const TICK_MS = 100;
const LAYOUTS = ["grid", "speaker", "pin"];

const $ = (id) => document.getElementById(id);

/** The page's API client and how it makes a URL of a path (composer.js is started by app.js). */
let client = null;

/** The open call: its id, the last `GET`, the composition version the editor loaded (null: none saved). */
const call = { id: null, view: null, version: null, dirty: false, following: 0 };

/** The editor's state: what `PUT .../composition` sends. */
const editor = { layout: "grid", timeline: [], muted: new Set() };

/** The transport: its position in call seconds, and while playing the clock it runs on. */
const transport = { players: [], playing: false, position: 0, anchorPosition: 0, anchorAt: 0, duration: 0,
  timer: 0, dragging: false };

let hlsModule = null;

const path = (suffix = "") => `/recordings/${encodeURIComponent(call.id)}${suffix}`;
const seconds = (s) => `${s.toFixed(1)} s`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function say(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("error", isError);
}

/** A single-use composition token of `scope`, as the header that presents it. */
async function token(scope) {
  const minted = await client.api("POST", path("/composition/token"), { scope: [scope] });
  return { "X-Composition-Token": minted.token };
}

// --- The call ----------------------------------------------------------------------------------------------------

async function openCall(id) {
  const mine = ++call.following;
  closePlayers();
  say("call-status", `Opening ${id}…`);
  let view;
  try {
    view = await client.api("GET", `/recordings/${encodeURIComponent(id)}`);
  } catch (e) {
    say("call-status", `Could not open ${id}: ${e.message}`, true);
    $("call-view").hidden = true;
    return;
  }
  if (view.kind !== "call") {
    say("call-status", `${id} is an upload of yours, not a call recording.`, true);
    $("call-view").hidden = true;
    return;
  }
  call.id = id;
  call.view = view;
  say("call-status", `Call ${id} in room ${view.room_id} (${view.access}): ${view.peers.length} peers.`);
  showTracks(view);
  loadComposition(view.composition);
  say("preview-status", view.preview_status ? `Previews: ${view.preview_status}.` : "No previews yet.");
  say("export-status", "");
  delete $("preview-status").dataset.status;
  delete $("export-status").dataset.status;
  $("export-video").removeAttribute("src");
  $("thumbnails").replaceChildren();
  if (view.export_status) showExport(view, mine).catch((e) => say("export-status", `Export: ${e.message}`, true));
  $("call-view").hidden = false;
}

function showTracks(view) {
  const rows = [...view.tracks].sort((a, b) => a.offset_ms - b.offset_ms).map((t) => {
    const tr = document.createElement("tr");
    for (const text of [t.peer_id, t.role, seconds(t.offset_ms / 1000), t.status || "?"]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("call-tracks").tBodies[0].replaceChildren(...rows);
}

// --- Previews ----------------------------------------------------------------------------------------------------

/** Starts the previews (or finds them made), follows `preview_status` to ready, then shows the players. */
async function startPreviews() {
  const mine = call.following;
  $("previews").disabled = true;
  try {
    say("preview-status", "Asking for previews…");
    await client.api("POST", path("/preview"), {}, await token("preview:read"));
    for (;;) {
      const view = await client.api("GET", path());
      if (mine !== call.following) return;
      const status = view.preview_status;
      const jobs = (view.preview_jobs || []).map((j) => `${j.peer_id} ${j.role} ${j.status}`).join(", ");
      $("preview-status").dataset.status = status;
      if (status === "ready") {
        say("preview-status", `Previews ready: ${jobs}.`);
        await showPlayers(view.preview);
        return;
      }
      if (status === "failed") {
        const why = (view.preview_jobs || []).filter((j) => j.error)
          .map((j) => `${j.peer_id} ${j.role}: ${j.error.message || j.error} (${j.error.code || "?"})`);
        say("preview-status", `Previews failed: ${why.join("; ") || jobs}`, true);
        return;
      }
      say("preview-status", `Previews ${status}: ${jobs}.`);
      await sleep(POLL_MS);
    }
  } catch (e) {
    say("preview-status", `Previews: ${e.message}`, true);
  } finally {
    $("previews").disabled = false;
  }
}

/** hls.js, loaded once. */
function loadHls() {
  hlsModule ||= import("./vendor/hls.min.mjs").then((m) => m.default).catch((e) => {
    hlsModule = null;
    throw new Error(`hls.js did not load (web/vendor/hls.min.mjs links node_modules: run npm ci): ${e.message}`);
  });
  return hlsModule;
}

/** A signed preview URL as the API gave it: absolute, or a path under the API's base URL. */
const absolute = (url) => (url.startsWith("/") ? client.apiUrl(url) : url);

/** One player per peer's camera preview and per screenshare, side by side, under the transport. */
async function showPlayers(preview) {
  closePlayers();
  const Hls = await loadHls();
  const sources = [
    ...Object.entries(preview.peers).map(([peer, urls]) => ({ peer, role: "av", url: urls.av })),
    ...Object.entries(preview.screenshare).map(([peer, urls]) => ({ peer, role: "screenshare", url: urls.video })),
  ].sort((a, b) => a.peer.localeCompare(b.peer) || a.role.localeCompare(b.role));
  for (const { peer, role, url } of sources) {
    const figure = document.createElement("figure");
    figure.className = "player";
    const video = document.createElement("video");
    video.playsInline = true;
    video.preload = "auto";
    video.dataset.peer = peer;
    video.dataset.role = role;
    video.setAttribute("aria-label", `${peer} ${role === "av" ? "camera" : "screen"} preview`);
    video.muted = editor.muted.has(peer);
    const caption = document.createElement("figcaption");
    caption.textContent = `${peer}${role === "screenshare" ? " (screen)" : ""}`;
    figure.append(video, caption);
    $("players").append(figure);
    const player = { peer, role, video, hls: null };
    if (Hls.isSupported()) {
      player.hls = new Hls();
      player.hls.on(Hls.Events.ERROR, (_, data) => {
        if (!data.fatal) return;
        caption.textContent = `${peer}: ${data.type} ${data.details}`;
        caption.classList.add("error");
      });
      player.hls.loadSource(absolute(url));
      player.hls.attachMedia(video);
    } else {
      // Safari plays HLS itself.
      video.src = absolute(url);
    }
    video.addEventListener("durationchange", measureDuration);
    transport.players.push(player);
  }
  $("transport").hidden = false;
  transport.timer = setInterval(tick, TICK_MS);
  seek(0);
}

function closePlayers() {
  clearInterval(transport.timer);
  for (const p of transport.players) {
    p.hls?.destroy();
    p.video.removeAttribute("src");
  }
  Object.assign(transport, { players: [], playing: false, position: 0, duration: 0 });
  $("players").replaceChildren();
  $("transport").hidden = true;
  $("transport-play").textContent = "Play";
}

// --- The transport -----------------------------------------------------------------------------------------------

/** The call's length: the longest preview (each lasts from time zero to its peer's last frame). */
function measureDuration() {
  const known = transport.players.map((p) => p.video.duration).filter((d) => d > 0 && d < Infinity);
  transport.duration = Math.max(0, ...known);
  $("transport-seek").max = String(transport.duration);
  showTime();
}

function clock() {
  if (!transport.playing) return transport.position;
  return transport.anchorPosition + (performance.now() - transport.anchorAt) / 1000;
}

function anchor(position) {
  transport.position = position;
  transport.anchorPosition = position;
  transport.anchorAt = performance.now();
}

/** True while `video` holds a picture at `position` that it cannot yet play on from. */
function waiting(video, position) {
  if (!(video.duration > 0)) return true;
  return position < video.duration && (video.seeking || video.readyState < HTMLMediaElement.HAVE_FUTURE_DATA);
}

/** Keeps every player at the transport's time: while one waits for data the clock holds and the others pause. */
function tick() {
  let position = clock();
  if (transport.playing) {
    if (transport.duration && position >= transport.duration) {
      pause(transport.duration);
      return;
    }
    const held = transport.players.some((p) => waiting(p.video, position));
    if (held) anchor(position);
    transport.position = position;
    for (const p of transport.players) align(p.video, position, !held);
  } else {
    for (const p of transport.players) align(p.video, position, false);
  }
  showTime();
}

/** Moves `video` to `position` if it drifted further than DRIFT_S, and plays or pauses it. */
function align(video, position, run) {
  if (!(video.duration > 0)) return;
  const target = Math.min(position, video.duration);
  if (!video.seeking && Math.abs(video.currentTime - target) > DRIFT_S) video.currentTime = target;
  const shouldPlay = run && position < video.duration;
  if (shouldPlay && video.paused) video.play().catch(() => {});
  if (!shouldPlay && !video.paused) video.pause();
}

function play() {
  if (transport.duration && transport.position >= transport.duration - 0.05) seek(0);
  anchor(transport.position);
  transport.playing = true;
  $("transport-play").textContent = "Pause";
  tick();
}

function pause(at = clock()) {
  transport.playing = false;
  anchor(at);
  for (const p of transport.players) {
    p.video.pause();
    if (p.video.duration > 0) p.video.currentTime = Math.min(at, p.video.duration);
  }
  $("transport-play").textContent = "Play";
  showTime();
}

/** Every player to `position` at once: segment N of every preview is the same 2 s of the call. */
function seek(position) {
  anchor(position);
  for (const p of transport.players) {
    if (p.video.duration > 0) p.video.currentTime = Math.min(position, p.video.duration);
  }
  showTime();
}

function showTime() {
  const position = clock();
  if (!transport.dragging) $("transport-seek").value = String(position);
  $("transport-time").textContent = `${seconds(position)} of ${seconds(transport.duration)}`;
  $("transport").dataset.position = position.toFixed(3);
}

// --- The Composition State ---------------------------------------------------------------------------------------

function loadComposition(composition) {
  const state = composition?.state;
  call.version = composition ? composition.version : null;
  call.dirty = false;
  editor.layout = state?.layout || "grid";
  editor.timeline = state ? [...state.timeline] : [];
  editor.muted = new Set((state?.tracks || []).filter((t) => t.muted).map((t) => t.peer_id));
  $("layout-start").value = editor.layout;
  $("export-resolution").value = state?.export.resolution || "1280x720";
  $("export-fps").value = String(state?.export.fps || 30);
  $("composition-form").dataset.version = call.version ?? "";
  for (const p of transport.players) p.video.muted = editor.muted.has(p.peer);
  showPeers();
  showTimeline();
}

function edited() {
  call.dirty = true;
  say("composition-status", "Changed; not saved yet.");
}

function showPeers() {
  const rows = call.view.peers.map((peer) => {
    const li = document.createElement("li");
    li.dataset.peer = peer;
    const name = document.createElement("span");
    name.textContent = peer;
    const pin = document.createElement("button");
    pin.type = "button";
    pin.className = "pin";
    pin.textContent = "Pin now";
    pin.setAttribute("aria-label", `Pin ${peer} from the transport's time`);
    pin.addEventListener("click", () => addEvent({ type: "pin", peer_id: peer }));
    const label = document.createElement("label");
    const muted = document.createElement("input");
    muted.type = "checkbox";
    muted.className = "muted";
    muted.checked = editor.muted.has(peer);
    muted.addEventListener("change", () => {
      if (muted.checked) editor.muted.add(peer);
      else editor.muted.delete(peer);
      for (const p of transport.players) if (p.peer === peer) p.video.muted = muted.checked;
      edited();
    });
    label.append(muted, " Muted");
    li.append(name, pin, label);
    return li;
  });
  $("composition-peers").replaceChildren(...rows);
}

/** Adds `event` at the transport's time, after any event already at that time (the API wants them sorted). */
function addEvent(event) {
  const t = Math.round(clock() * 1000);
  const at = editor.timeline.findIndex((e) => e.t > t);
  editor.timeline.splice(at < 0 ? editor.timeline.length : at, 0, { t, ...event });
  showTimeline();
  edited();
}

function showTimeline() {
  const rows = editor.timeline.map((event, i) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    const what = event.type === "pin" ? `pin ${event.peer_id}` : `layout ${event.layout}`;
    text.textContent = `${seconds(event.t / 1000)}: ${what}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => {
      editor.timeline.splice(i, 1);
      showTimeline();
      edited();
    });
    li.append(text, remove);
    return li;
  });
  if (!rows.length) rows.push(Object.assign(document.createElement("li"), { textContent: "No changes over time." }));
  $("timeline").replaceChildren(...rows);
}

function composition() {
  return {
    layout: editor.layout,
    timeline: editor.timeline,
    tracks: [...editor.muted].sort().map((peer_id) => ({ peer_id, muted: true })),
    export: { resolution: $("export-resolution").value.trim(), fps: Number($("export-fps").value) },
  };
}

/** `PUT .../composition` over the version the editor loaded; a 412 says so and loads the saved one. */
async function save() {
  say("composition-status", "Saving…");
  try {
    const headers = await token("composition:write");
    // Over the version loaded; with none loaded, only if none was saved since (another editor's first save wins).
    if (call.version !== null) headers["If-Match"] = `"${call.version}"`;
    else headers["If-None-Match"] = "*";
    const saved = await client.api("PUT", path("/composition"), composition(), headers);
    call.version = saved.version;
    call.dirty = false;
    $("composition-form").dataset.version = String(saved.version);
    say("composition-status", `Saved as version ${saved.version} (${saved.updated_at}).`);
  } catch (e) {
    if (e.status !== 412) {
      say("composition-status", `Not saved: ${e.message}`, true);
      return;
    }
    const mine = call.following;
    const view = await client.api("GET", path()).catch(() => null);
    if (view && mine === call.following) {
      call.view = view;
      showTracks(view);
      loadComposition(view.composition);
    }
    say("composition-status", `Not saved: this call's composition was saved by someone else since you loaded it ` +
      `(${e.message}). The saved version ${call.version} is loaded now; make your changes again.`, true);
  }
}

// --- Export ------------------------------------------------------------------------------------------------------

/** `POST .../export` of the saved version, then follows `export_status` until the video or the reason. */
async function startExport() {
  if (call.dirty) {
    say("export-status", "The composition has changes that are not saved: save it first (the export follows the " +
      "saved one).", true);
    return;
  }
  const mine = call.following;
  $("export").disabled = true;
  try {
    say("export-status", "Asking for the export…");
    const body = call.version === null ? {} : { composition_id: String(call.version) };
    await client.api("POST", path("/export"), body, await token("export:create"));
    await showExport(await client.api("GET", path()), mine);
  } catch (e) {
    say("export-status", `Export: ${e.message}`, true);
  } finally {
    $("export").disabled = false;
    $("export-progress").hidden = true;
  }
}

/** Shows the call's export, polling while it runs: the statuses it went through, its progress and the time, then the
 * video. */
async function showExport(view, mine) {
  const began = performance.now();
  const seen = [];
  for (;;) {
    const status = view.export_status;
    const exp = view.export;
    if (seen.at(-1) !== status) seen.push(status);
    const line = `Export ${exp.export_id.slice(0, 8)} of version ${exp.composition_version}: ${seen.join(" → ")}`;
    $("export-status").dataset.status = status;
    if (status === "ready") {
      const length = exp.duration_ms == null ? "" : ` (${seconds(exp.duration_ms / 1000)} long)`;
      say("export-status", `${line}${length}.`);
      $("export-progress").hidden = true;
      $("export-video").src = exp.url;
      $("thumbnails").replaceChildren(...exp.thumbnails.map((url, i) =>
        Object.assign(document.createElement("img"), { src: url, alt: `Thumbnail ${i + 1}`, width: 160 })));
      return;
    }
    if (status === "failed") {
      const error = exp.error || {};
      say("export-status", `${line}: ${error.message || "no reason given"} (${error.code || "?"})`, true);
      $("export-progress").hidden = true;
      return;
    }
    say("export-status", `${line}, ${exp.progress}%, ${seconds((performance.now() - began) / 1000)}`);
    // The render's progress (0 to 100, never backwards): chunks done and running, then the join.
    Object.assign($("export-progress"), { max: 100, value: exp.progress, hidden: false });
    await sleep(POLL_MS);
    if (mine !== call.following) return;
    view = await client.api("GET", path());
  }
}

// --- Wiring ------------------------------------------------------------------------------------------------------

/** Wires the Call panel; `api` is the page's API client, `apiUrl(path)` the URL of an API path. */
export function startComposer({ api, apiUrl }) {
  client = { api, apiUrl };
  $("call-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openCall($("call-id").value.trim());
  });
  $("previews").addEventListener("click", startPreviews);
  $("transport-play").addEventListener("click", () => (transport.playing ? pause() : play()));
  const slider = $("transport-seek");
  slider.addEventListener("pointerdown", () => (transport.dragging = true));
  // A drag ends with `change` even when the pointer is released off the slider.
  slider.addEventListener("change", () => (transport.dragging = false));
  slider.addEventListener("input", () => seek(Number(slider.value)));
  $("layout-start").addEventListener("change", () => {
    editor.layout = $("layout-start").value;
    edited();
  });
  $("layout-now").addEventListener("change", () => {
    const layout = $("layout-now").value;
    $("layout-now").value = "";
    if (LAYOUTS.includes(layout)) addEvent({ type: "layout", layout });
  });
  for (const id of ["export-resolution", "export-fps"]) $(id).addEventListener("input", edited);
  $("composition-form").addEventListener("submit", (e) => {
    e.preventDefault();
    save();
  });
  $("export").addEventListener("click", startExport);
}
