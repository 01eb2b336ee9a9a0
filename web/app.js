// vidpipe's recorder and console: records the screen and the camera, uploads both through the HTTP API's presigned
// URLs (one PUT, or a multipart plan for large files, resumed through GET /uploads/{id}/parts), follows the stream
// until its composite is ready, and lists the caller's recordings and streams. The API is called over plain HTTP
// with CORS and a bearer token, as a deployed page calls API Gateway; its base URL is the one setting. The call
// composer (previews, the Composition State, exports) is composer.js, which calls the API through `api` here.

import { startComposer } from "./composer.js";

const DEFAULT_API = "http://127.0.0.1:9000/lambda-url/vidpipe-presign";
const PUT_ATTEMPTS = 3;
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);

// --- Session: the API's base URL and the token -------------------------------------------------------------------

const session = {
  api: new URLSearchParams(location.search).get("api") || localStorage.getItem("vidpipe.api") || DEFAULT_API,
  token: sessionStorage.getItem("vidpipe.token") || "",
};

/** Raised for an API answer that is not 2xx; `code` is the API's error code. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; JSON in and out, `extraHeaders` added (a composition token, `If-Match`). A 401 signs the user
 * out with a message instead of leaving a broken page. */
async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders, Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(session.api.replace(/\/$/, "") + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "unreachable", `The API at ${session.api} is unreachable (${e.message}).`);
  }
  const answer = await response.json().catch(() => ({}));
  if (response.ok) return answer;
  const error = answer.error || {};
  if (response.status === 401) {
    signOut("Your sign-in has expired or the token was refused. Sign in again with a fresh token.");
  }
  throw new ApiError(response.status, error.code || "http_" + response.status, error.message || response.statusText);
}

function signOut(message) {
  session.token = "";
  sessionStorage.removeItem("vidpipe.token");
  $("sign-in-message").textContent = message;
  $("console").hidden = true;
  $("sign-in").hidden = false;
  $("token").value = "";
  $("token").focus();
}

async function signIn(token, apiBase) {
  session.token = token.trim();
  session.api = apiBase.trim();
  sessionStorage.setItem("vidpipe.token", session.token);
  localStorage.setItem("vidpipe.api", session.api);
  $("sign-in-message").textContent = "";
  try {
    await refreshLibrary();
  } catch (e) {
    // A refused token has already brought the sign-in form back with its message.
    if (e.status !== 401) signOut(`Could not sign in: ${e.message}`);
    return;
  }
  $("api-shown").textContent = session.api;
  $("sign-in").hidden = true;
  $("console").hidden = false;
}

// --- Uploads -----------------------------------------------------------------------------------------------------

/** PUTs `body` to a presigned URL, reporting bytes sent; resolves with the response's ETag. */
function put(url, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers || {})) {
      // The browser sets these itself and refuses to be told.
      if (!["content-length", "host"].includes(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      // 412: the object exists, so an earlier attempt whose answer was lost did land (the URL signs If-None-Match).
      if ((xhr.status >= 200 && xhr.status < 300) || xhr.status === 412) {
        onProgress(body.size);
        resolve(xhr.getResponseHeader("ETag") || "");
      } else reject(new Error(`storage answered ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body);
  });
}

/** `put`, tried again after a short pause when it fails. */
async function putWithRetries(url, headers, body, onProgress, onRetry) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await put(url, headers, body, onProgress);
    } catch (e) {
      if (attempt >= PUT_ATTEMPTS) throw e;
      onRetry(attempt, e);
      onProgress(0);
      await new Promise((r) => setTimeout(r, 400 * attempt));
    }
  }
}

/** One file's upload with its row in the uploads list: progress, state, and a Retry button once it fails. */
class Upload {
  constructor(label, blob, request) {
    this.label = label;
    this.blob = blob;
    this.request = { ...request, size: blob.size };
    this.sent = new Map(); // part number (1 for a single PUT) -> bytes sent
    this.etags = new Map();
    this.retries = 0;
    this.row = document.createElement("li");
    this.row.dataset.label = label;
    this.row.innerHTML = `<span class="name"></span><progress max="100" value="0"></progress>
      <span class="percent">0 %</span><span class="state" role="status"></span>
      <button type="button" hidden>Retry</button>`;
    this.row.querySelector(".name").textContent = label;
    this.row.querySelector("progress").setAttribute("aria-label", `${label} upload progress`);
    this.row.querySelector("button").addEventListener("click", () => this.run());
    $("uploads").append(this.row);
    this.done = new Promise((resolve) => (this.finished = resolve));
  }

  show(state, isError = false) {
    const el = this.row.querySelector(".state");
    el.textContent = state;
    el.classList.toggle("error", isError);
  }

  progress(part, bytes) {
    this.sent.set(part, bytes);
    let total = 0;
    for (const n of this.sent.values()) total += n;
    const percent = this.blob.size ? Math.floor((100 * total) / this.blob.size) : 100;
    this.row.querySelector("progress").value = percent;
    this.row.querySelector(".percent").textContent = `${percent} %`;
    this.row.dataset.percent = String(percent);
  }

  retried(attempt, error) {
    this.retries++;
    this.row.dataset.retries = String(this.retries);
    this.show(`retrying after ${error.message} (attempt ${attempt + 1} of ${PUT_ATTEMPTS})`);
  }

  /** Starts, or resumes after a failure, until the object is in the bucket. */
  async run() {
    this.row.querySelector("button").hidden = true;
    this.row.dataset.state = "uploading";
    try {
      if (!this.created) {
        this.show("signing");
        this.created = await api("POST", "/uploads", this.request);
        this.plan = this.created.upload;
      } else if (this.plan.method === "MULTIPART" && Date.now() > Date.parse(this.plan.expires_at) - 60000) {
        // The parts' URLs are (nearly) out of date: the API signs the missing ones again.
        await this.resumePlan();
      }
      this.show("uploading");
      if (this.plan.method === "MULTIPART") await this.sendParts();
      else await putWithRetries(this.plan.url, this.plan.headers, this.blob,
        (b) => this.progress(1, b), (a, e) => this.retried(a, e));
      this.show("uploaded");
      this.row.dataset.state = "uploaded";
      this.finished(this.created);
    } catch (e) {
      this.show(`failed: ${e.message}`, true);
      this.row.dataset.state = "failed";
      if (e.status !== 401) this.row.querySelector("button").hidden = false;
    }
  }

  /** A multipart upload's parts still missing, with fresh URLs; the ones S3 holds keep their ETags. */
  async resumePlan() {
    const id = this.created.recording_id;
    const open = await api("GET", `/uploads/${encodeURIComponent(id)}/parts`);
    for (const p of open.uploaded) {
      this.etags.set(p.number, p.etag);
      this.progress(p.number, p.size);
    }
    this.plan = { ...this.plan, parts: open.parts };
  }

  async sendParts() {
    for (const part of this.plan.parts) {
      if (this.etags.has(part.number)) continue;
      const start = (part.number - 1) * this.plan.part_size;
      const slice = this.blob.slice(start, start + part.size);
      const etag = await putWithRetries(part.url, {}, slice,
        (b) => this.progress(part.number, b), (a, e) => this.retried(a, e));
      this.etags.set(part.number, etag);
    }
    const parts = [...this.etags].map(([number, etag]) => ({ number, etag }));
    await api("POST", `/uploads/${encodeURIComponent(this.created.recording_id)}/complete`, { parts });
  }
}

function upload(label, blob, request) {
  const u = new Upload(label, blob, request);
  u.run();
  return u.done;
}

// --- Recording ---------------------------------------------------------------------------------------------------

/** The screen must be MP4 (the stream's `{stream}.mp4`), the camera WebM (`{stream}_camera.webm`). */
function recorderFor(stream, mimeTypes) {
  const mimeType = mimeTypes.find((t) => MediaRecorder.isTypeSupported(t));
  if (!mimeType) throw new Error(`this browser cannot record ${mimeTypes[0]}`);
  const recorder = new MediaRecorder(stream, { mimeType });
  const chunks = [];
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  const started = new Promise((r) => recorder.addEventListener("start", () => r(Date.now()), { once: true }));
  const stopped = new Promise((r) => recorder.addEventListener("stop", () => r(), { once: true }));
  recorder.result = Promise.all([started, stopped]).then(([startedAt]) => ({
    blob: new Blob(chunks, { type: mimeType }),
    startedAt,
    mimeType,
  }));
  return recorder;
}

const recording = { recorders: [], tracks: [], timer: 0 };

async function startRecording() {
  const status = $("recorder-status");
  status.classList.remove("error");
  $("record").disabled = true;
  try {
    const camera = await navigator.mediaDevices.getUserMedia({ video: true });
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    // The screen recording carries the microphone: the composite's sound comes from it.
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    const screenWithMic = new MediaStream([...screen.getVideoTracks(), ...mic.getAudioTracks()]);
    recording.tracks = [...camera.getTracks(), ...screen.getTracks(), ...mic.getTracks()];
    recording.stream = `web-${crypto.randomUUID().slice(0, 12)}`;
    recording.recorders = [
      ["screen", recorderFor(screenWithMic, ["video/mp4;codecs=avc1,opus", "video/mp4"])],
      ["camera", recorderFor(camera, ["video/webm;codecs=vp8", "video/webm"])],
    ];
    $("preview").srcObject = camera;
    $("preview").classList.add("live");
    $("preview").play().catch(() => {});
    for (const [, r] of recording.recorders) r.start(1000);
    const began = Date.now();
    const tick = () => {
      const s = Math.floor((Date.now() - began) / 1000);
      $("timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    };
    tick();
    recording.timer = setInterval(tick, 250);
    // Sharing can also end from the browser's own "Stop sharing" control.
    screen.getVideoTracks()[0].addEventListener("ended", stopRecording, { once: true });
    $("stop").disabled = false;
    status.textContent = `Recording stream ${recording.stream}.`;
  } catch (e) {
    for (const t of recording.tracks) t.stop();
    status.textContent = `Could not record: ${e.message}`;
    status.classList.add("error");
    $("record").disabled = false;
  }
}

async function stopRecording() {
  if ($("stop").disabled) return;
  $("stop").disabled = true;
  clearInterval(recording.timer);
  for (const [, r] of recording.recorders) if (r.state !== "inactive") r.stop();
  const stream = recording.stream;
  const results = await Promise.all(recording.recorders.map(([kind, r]) => r.result.then((res) => [kind, res])));
  for (const t of recording.tracks) t.stop();
  $("preview").srcObject = null;
  $("preview").classList.remove("live");
  $("record").disabled = false;
  $("recorder-status").textContent = `Recorded stream ${stream}; uploading.`;
  const uploads = results.map(([kind, res]) => upload(`${kind} (${stream})`, res.blob, {
    kind,
    content_type: res.mimeType,
    stream_name: stream,
    started_at: res.startedAt,
  }));
  await Promise.all(uploads);
  followStream(stream);
}

// --- The stream's status and the player --------------------------------------------------------------------------

let following = 0;

/** Polls GET /streams/{stream} until the composite is ready (then plays it) or failed (then says why); the bar
 * shows its progress, which never goes back (a job in chunks reports each chunk as it is rendered). */
async function followStream(stream) {
  const mine = ++following;
  const status = $("stream-status");
  const bar = $("stream-progress");
  status.classList.remove("error");
  bar.value = 0;
  while (mine === following) {
    let s;
    try {
      s = await api("GET", `/streams/${encodeURIComponent(stream)}`);
    } catch (e) {
      status.textContent = `Stream ${stream}: ${e.message}`;
      status.classList.add("error");
      return;
    }
    status.dataset.status = s.status;
    bar.value = Math.max(bar.value, s.status === "ready" ? 100 : s.progress ?? 0);
    if (s.status === "ready") {
      status.textContent = `Stream ${stream} is ready.`;
      play(s.output_url);
      refreshLibrary().catch(showLibraryError);
      return;
    }
    if (s.status === "failed") {
      const error = s.error || {};
      status.textContent = `Stream ${stream} failed: ${error.message || "no reason given"} (${error.code || "?"})`;
      status.classList.add("error");
      refreshLibrary().catch(showLibraryError);
      return;
    }
    status.textContent = s.status === "processing"
      ? `Stream ${stream}: processing, ${s.progress ?? 0} %`
      : `Stream ${stream}: queued (waiting for both recordings)`;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Plays the output's MP4 (the page plays the progressive file; its HLS package, `playback.hls`, is for adaptive players). */
function play(url) {
  const player = $("player");
  player.src = url;
  player.play().catch(() => {});
}

// --- Library -----------------------------------------------------------------------------------------------------

let nextCursor = null;

function libraryRow(text, actionLabel, action) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = text;
  li.append(span);
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = actionLabel;
    button.addEventListener("click", action);
    li.append(button);
  }
  return li;
}

async function refreshLibrary(more = false) {
  const query = more && nextCursor ? `?cursor=${encodeURIComponent(nextCursor)}` : "";
  const page = await api("GET", `/recordings${query}`);
  nextCursor = page.next_cursor;
  $("more").hidden = !nextCursor;
  if (!more) $("recordings").replaceChildren();
  const streams = new Set();
  for (const r of page.recordings) {
    // An asset belongs to no stream or room; an image asset is not something to play.
    const where = r.stream_name ? `stream ${r.stream_name}` : r.room_id ? `room ${r.room_id}` : null;
    const size = `${(r.size / 1e6).toFixed(2)} MB`;
    const media = /^(video|audio)\//.test(r.content_type || "");
    const playable = media && r.download_url && r.status === "uploaded";
    const text = [r.kind, where, size, r.status, r.created_at].filter(Boolean).join(", ");
    $("recordings").append(libraryRow(text, "Play",
      playable ? () => play(r.download_url) : null));
    if (r.stream_name) streams.add(r.stream_name);
  }
  if (!more) $("streams").replaceChildren();
  if (!$("recordings").children.length) $("recordings").append(libraryRow("No recordings yet."));
  if (!more && !streams.size) $("streams").append(libraryRow("No streams yet."));
  for (const name of streams) {
    const s = await api("GET", `/streams/${encodeURIComponent(name)}`).catch((e) => ({ status: e.message }));
    const progress = s.status === "processing" ? ` ${s.progress ?? 0} %` : "";
    $("streams").append(libraryRow(`${name}: ${s.status}${progress}`, "Play composite",
      s.output_url ? () => play(s.output_url) : null));
  }
}

// --- Renders ------------------------------------------------------------------------------------------------------

/** A sample render request: two stills of 2 s at a small size; edit its sources to objects of yours. */
const SAMPLE_RENDER = {
  output: { width: 320, height: 180, fps: 24 },
  scenes: [
    { id: "intro", duration_s: 2, image: "s3://YOUR-BUCKET/assets/title.png" },
    { id: "outro", duration_s: 2, image: "s3://YOUR-BUCKET/assets/logo.png" },
  ],
  chunking: { max_chunk_s: 2, min_chunk_s: 1 },
};

let followingRender = 0;

/** Posts the form's render request, then follows it. */
async function postRender() {
  const status = $("render-status");
  status.classList.remove("error");
  let request;
  try {
    request = JSON.parse($("render-request").value);
  } catch (e) {
    status.textContent = `The request is not JSON: ${e.message}`;
    status.classList.add("error");
    return;
  }
  try {
    const render = await api("POST", "/renders", request);
    followRender(render.render_id);
  } catch (e) {
    status.textContent = `Render refused: ${e.message}`;
    status.classList.add("error");
  }
}

/** Polls GET /renders/{id}: the bar shows its progress (which never goes back) until it is ready or failed. */
async function followRender(id) {
  const mine = ++followingRender;
  const status = $("render-status");
  const bar = $("render-progress");
  const cancel = $("render-cancel");
  const output = $("render-output");
  output.hidden = true;
  bar.value = 0;
  cancel.hidden = false;
  cancel.onclick = () => api("DELETE", `/renders/${encodeURIComponent(id)}`).catch((e) => {
    status.textContent = `Could not cancel: ${e.message}`;
  });
  while (mine === followingRender) {
    let r;
    try {
      r = await api("GET", `/renders/${encodeURIComponent(id)}`);
    } catch (e) {
      status.textContent = `Render ${id}: ${e.message}`;
      status.classList.add("error");
      cancel.hidden = true;
      return;
    }
    status.dataset.status = r.status;
    bar.value = Math.max(bar.value, r.progress ?? 0);
    if (r.status === "ready") {
      status.textContent = `Render ${id} is ready (${r.frames} frames, ${r.duration_ms} ms).`;
      output.href = r.output_url;
      output.hidden = false;
      cancel.hidden = true;
      return;
    }
    if (r.status === "failed") {
      const error = r.error || {};
      status.textContent = `Render ${id} failed: ${error.message || "no reason given"} (${error.code || "?"})`;
      status.classList.add("error");
      cancel.hidden = true;
      return;
    }
    const chunks = r.chunks_total ? `, ${r.chunks_done} of ${r.chunks_total} chunks` : "";
    status.textContent = r.status === "queued"
      ? `Render ${id}: queued`
      : `Render ${id}: ${r.phase || "processing"}, ${r.progress} %${chunks}`;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// --- Wiring ------------------------------------------------------------------------------------------------------

function start() {
  $("api").value = session.api;
  // A token in the fragment (never sent to a server) signs in at once: scripts/dev.sh prints such a link.
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromFragment) {
    history.replaceState(null, "", location.pathname + location.search);
    session.token = fromFragment;
  }
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("token").value, $("api").value);
  });
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  $("record").addEventListener("click", startRecording);
  $("stop").addEventListener("click", stopRecording);
  $("refresh").addEventListener("click", () => refreshLibrary().catch(showLibraryError));
  $("more").addEventListener("click", () => refreshLibrary(true).catch(showLibraryError));
  $("file-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("file").files[0];
    upload(file.name, file, {
      kind: "recording",
      content_type: file.type || "application/octet-stream",
      room_id: $("room").value,
      filename: file.name,
    }).then(() => refreshLibrary().catch(showLibraryError));
  });
  $("render-request").value = JSON.stringify(SAMPLE_RENDER, null, 2);
  $("render-form").addEventListener("submit", (e) => {
    e.preventDefault();
    postRender();
  });
  startComposer({ api, apiUrl: (path) => session.api.replace(/\/$/, "") + path });
  if (session.token) signIn(session.token, session.api);
  else signOut("Sign in with a development token to record.");
}

function showLibraryError(e) {
  $("recordings").replaceChildren(libraryRow(`Could not list: ${e.message}`));
}

start();
