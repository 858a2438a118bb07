// The itube demo page: plain JavaScript against the public API, no build step.
// Uploads go straight to S3 in parts through presigned URLs; what is needed to resume an
// interrupted upload (its id and the file's name, size and date) is kept in localStorage.
// Opened as /demo#shared=TOKEN it plays the video of a share link, with no account: the
// token stays in the fragment, which no request carries to a server's log.
"use strict";

const AUTH = "/api/v1/auth";
const VIDEOS = "/api/v1/upload/videos";
const MULTIPART = `${VIDEOS}/multipart`;
const SHARED = "/api/v1/shared";
const SHARE_SECONDS = 3600;
const PENDING_UPLOAD = "itube-demo:upload";
const WATCHED_VIDEO = "itube-demo:video";
// Set on sign-in, so a fresh page asks who is signed in only when someone may be: the
// cookies are HttpOnly and a 401 on every first visit would only add noise.
const SIGNED_IN = "itube-demo:signed-in";
const POLL_MILLISECONDS = 1000;
// Headers a browser sets itself and refuses from a script.
const BROWSER_HEADERS = new Set(["content-length", "host", "connection"]);

const $ = (id) => document.getElementById(id);

// The signed-in user, the upload in progress, the video followed, the timer of its status
// poll, and its player.
let currentUser = null;
let activeUpload = null;
let watchedVideo = null;
let watching = null;
let playback = null;

class ApiError extends Error {
  constructor(status, problem) {
    super(describeProblem(status, problem));
    this.status = status;
  }
}

class UploadCancelled extends Error {}

function describeProblem(status, problem) {
  if (!problem || typeof problem !== "object") return `The server answered ${status}.`;
  const fields = (problem.errors || []).map((e) => `${e.field}: ${e.message}`);
  const text = problem.detail || problem.title || `The server answered ${status}`;
  return fields.length ? `${text} (${fields.join("; ")})` : text;
}

// -- the API --------------------------------------------------------------------------

async function api(method, path, body, { retried = false } = {}) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Error(`The API does not answer (${error.message}).`);
  }
  // An access cookie lasts an hour; a long upload may outlive it.
  if (response.status === 401 && !retried && !path.startsWith(AUTH) && await refreshSession()) {
    return api(method, path, body, { retried: true });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function refreshSession() {
  const response = await fetch(`${AUTH}/refresh`, { method: "POST", credentials: "same-origin" });
  return response.ok;
}

// -- messages -------------------------------------------------------------------------

function showError(error) {
  const box = $("error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function note(text) {
  const item = document.createElement("li");
  item.textContent = text;
  $("log").append(item);
  item.scrollIntoView({ block: "nearest" });
}

// Runs a button's action; any failure is shown in the page, never thrown at the console.
// The button stays disabled while it runs, and afterwards while `isIdle` says so.
function action(button, run, isIdle = () => false) {
  $(button).addEventListener("click", async () => {
    clearError();
    $(button).disabled = true;
    try {
      await run();
    } catch (error) {
      if (!(error instanceof UploadCancelled)) showError(error);
    } finally {
      $(button).disabled = isIdle();
    }
  });
}

// -- the account ----------------------------------------------------------------------

function credentials() {
  return { email: $("email").value.trim(), password: $("password").value };
}

async function signUp() {
  const user = await api("POST", `${AUTH}/register`,
    { name: $("name").value.trim(), ...credentials() });
  note(user.confirmed === false
    ? `Account created for ${user.email}: confirm it with the code sent by e-mail, then sign in.`
    : `Account created for ${user.email}: you can sign in.`);
}

async function signIn() {
  const answer = await api("POST", `${AUTH}/login`, credentials());
  localStorage.setItem(SIGNED_IN, "1");
  $("password").value = "";
  showUser(answer.user);
  note(`Signed in as ${answer.user.email}.`);
  showPending();
}

async function signOut() {
  await api("POST", `${AUTH}/logout`);
  clearTimeout(watching);
  localStorage.removeItem(SIGNED_IN);
  localStorage.removeItem(WATCHED_VIDEO);
  playback.stop();
  showShare(false);
  showUser(null);
  showPending();
  note("Signed out.");
}

function showUser(user) {
  currentUser = user;
  $("who").textContent = user ? `Signed in as ${user.name} (${user.email}).` : "Not signed in.";
  $("who").dataset.userId = user ? user.id : "";
  $("credentials").hidden = Boolean(user);
  $("sign-out").hidden = !user;
}

async function restoreSession() {
  if (!localStorage.getItem(SIGNED_IN)) return;
  try {
    showUser(await api("GET", `${AUTH}/me`));
  } catch (error) {
    if (error.status !== 401) throw error;
    if (await refreshSession()) {
      showUser(await api("GET", `${AUTH}/me`));
      return;
    }
    localStorage.removeItem(SIGNED_IN);
    note("Your session has ended: sign in again.");
  }
}

// -- resumable uploads ----------------------------------------------------------------

function pendingUpload() {
  try {
    return JSON.parse(localStorage.getItem(PENDING_UPLOAD));
  } catch {
    return null;
  }
}

function isSameFile(pending, file) {
  return pending && pending.name === file.name && pending.size === file.size
    && pending.lastModified === file.lastModified;
}

function showPending() {
  const pending = pendingUpload();
  const shown = Boolean(pending && currentUser && pending.user === currentUser.id);
  $("pending").hidden = !shown;
  if (shown) {
    $("pending").textContent = `An upload of ${pending.name} (${formatBytes(pending.size)}) was `
      + "interrupted: pick the same file again and press Upload to resume it.";
  }
}

function formatBytes(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${bytes} bytes`;
}

async function digestBase64(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

// One multipart upload of one file: created or resumed, its parts sent in order.
class PartUpload {
  constructor(file, upload) {
    this.file = file;
    this.upload = upload;
    this.urls = new Map((upload.parts || []).map((part) => [part.number, part]));
    this.sent = new Map((upload.uploaded || []).map((part) => [part.number, part.size_bytes]));
    this.etags = new Map((upload.uploaded || []).map((part) => [part.number, part.etag]));
    this.checksums = new Map();
    this.request = null;
    this.cancelled = false;
  }

  get id() {
    return this.upload.upload_id;
  }

  partBlob(number) {
    const start = (number - 1) * this.upload.part_size;
    return this.file.slice(start, Math.min(start + this.upload.part_size, this.file.size));
  }

  async sendMissingParts(onProgress) {
    const count = this.upload.part_count;
    for (let number = 1; number <= count; number += 1) {
      if (this.sent.has(number)) continue;
      const blob = this.partBlob(number);
      const target = await this.partUrl(number);
      if (this.cancelled) throw new UploadCancelled();
      const etag = await this.put(target, blob, (loaded) => onProgress(this.sentBytes() + loaded));
      this.sent.set(number, blob.size);
      if (etag) this.etags.set(number, etag);
      onProgress(this.sentBytes());
      note(`Part ${number} of ${count} uploaded.`);
    }
  }

  sentBytes() {
    let total = 0;
    for (const size of this.sent.values()) total += size;
    return total;
  }

  get checksummed() {
    return this.upload.checksum_algorithm === "SHA256";
  }

  async checksum(number) {
    if (!this.checksums.has(number)) {
      this.checksums.set(number, await digestBase64(this.partBlob(number)));
    }
    return this.checksums.get(number);
  }

  async partUrl(number) {
    if (this.checksummed) {
      // The part's checksum is signed into its URL: S3 refuses other bytes.
      const answer = await api("POST", `${MULTIPART}/${this.id}/parts`,
        { parts: [{ number, checksum: await this.checksum(number) }] });
      return answer.parts[0];
    }
    if (!this.urls.has(number)) {
      const more = await api("GET", `${MULTIPART}/${this.id}?from=${number}`);
      for (const part of more.parts || []) this.urls.set(part.number, part);
    }
    const target = this.urls.get(number);
    if (!target) throw new Error(`The API gave no URL for part ${number}.`);
    return target;
  }

  put(target, blob, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      this.request = request;
      request.open(target.method || "PUT", target.url);
      for (const [name, value] of Object.entries(target.headers || {})) {
        if (!BROWSER_HEADERS.has(name.toLowerCase())) request.setRequestHeader(name, value);
      }
      request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => (request.status >= 200 && request.status < 300
        ? resolve(request.getResponseHeader("ETag"))
        : reject(new Error(`S3 refused a part (${request.status}): ${s3Message(request)}`)));
      request.onerror = () => reject(new Error("S3 does not answer, or its CORS rules do not "
        + `allow this page's origin (${window.location.origin}): see [http] cors_origins.`));
      request.onabort = () => reject(new UploadCancelled());
      request.send(blob);
    });
  }

  // What completes the upload: every part with its ETag (and checksum) when the page
  // knows them all, since a store may not list part checksums; otherwise nothing, and
  // the API takes the parts S3 lists.
  async completion() {
    const numbers = Array.from({ length: this.upload.part_count }, (_, index) => index + 1);
    if (!numbers.every((number) => this.etags.get(number))) return {};
    const parts = [];
    for (const number of numbers) {
      const part = { number, etag: this.etags.get(number) };
      if (this.checksummed) part.checksum = await this.checksum(number);
      parts.push(part);
    }
    return { parts };
  }

  // S3's checksum of the whole object, as this page computes it from the file: the
  // SHA-256 of the parts' SHA-256 digests, then "-<part count>".
  async compositeChecksum() {
    const count = this.upload.part_count;
    const digests = new Uint8Array(count * 32);
    for (let number = 1; number <= count; number += 1) {
      const digest = Uint8Array.from(atob(await this.checksum(number)), (c) => c.charCodeAt(0));
      digests.set(digest, (number - 1) * 32);
    }
    return `${await digestBase64(new Blob([digests]))}-${count}`;
  }

  cancel() {
    this.cancelled = true;
    if (this.request) this.request.abort();
  }
}

function s3Message(request) {
  const found = /<Message>([^<]*)<\/Message>/.exec(request.responseText || "");
  return found ? found[1] : request.statusText;
}

async function describeCompleted(partUpload, done) {
  if (!done.checksum || !partUpload.checksummed) return "Upload complete.";
  const computed = await partUpload.compositeChecksum();
  if (done.checksum.value !== computed) {
    throw new Error(`S3 holds other bytes: its checksum is ${done.checksum.value}, the file's `
      + `is ${computed}.`);
  }
  return `Upload complete: S3's SHA-256 of the parts, ${computed}, matches the file.`;
}

async function createUpload(file) {
  const body = { content_type: file.type || "video/mp4", size_bytes: file.size };
  if (window.isSecureContext && crypto.subtle) body.checksum_algorithm = "SHA256";
  const upload = await api("POST", MULTIPART, body);
  localStorage.setItem(PENDING_UPLOAD, JSON.stringify({
    id: upload.upload_id, user: currentUser.id,
    name: file.name, size: file.size, lastModified: file.lastModified,
  }));
  note(`Upload started: ${upload.part_count} parts of up to ${formatBytes(upload.part_size)}`
    + (upload.checksum_algorithm ? `, each checked by S3 (${upload.checksum_algorithm}).` : "."));
  return upload;
}

// The interrupted upload of this same file, as S3 has it now; null when there is none.
async function resumedUpload(file) {
  const pending = pendingUpload();
  if (!isSameFile(pending, file) || pending.user !== currentUser.id) return null;
  let upload;
  try {
    upload = await api("GET", `${MULTIPART}/${pending.id}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    upload = null;
  }
  if (!upload || !["ACTIVE", "COMPLETED"].includes(upload.state)) {
    localStorage.removeItem(PENDING_UPLOAD);
    note("The interrupted upload is gone: starting again.");
    return null;
  }
  note(upload.state === "COMPLETED"
    ? "The upload is complete already: saving its details."
    : `Resuming the upload: ${(upload.uploaded || []).length} of ${upload.part_count} parts `
      + "already uploaded.");
  return upload;
}

async function uploadVideo() {
  if (!currentUser) throw new Error("Sign in first.");
  const file = $("file").files[0];
  if (!file) throw new Error("Pick a video file first.");
  const title = $("title").value.trim();
  if (!title) throw new Error("Give the video a title.");

  const upload = await resumedUpload(file) || await createUpload(file);
  activeUpload = new PartUpload(file, upload);
  $("cancel").disabled = false;
  const progress = $("progress");
  progress.max = file.size;
  const showProgress = (bytes) => {
    progress.value = bytes;
    $("progress-text").textContent = `${formatBytes(bytes)} of ${formatBytes(file.size)}`;
  };
  showProgress(activeUpload.sentBytes());
  try {
    let key = upload.s3_key;
    if (upload.state !== "COMPLETED") {
      await activeUpload.sendMissingParts(showProgress);
      const completion = await activeUpload.completion();
      const done = await api("POST", `${MULTIPART}/${upload.upload_id}/complete`, completion);
      key = done.s3_key;
      note(await describeCompleted(activeUpload, done));
    }
    $("cancel").disabled = true;
    // Kept until the metadata is saved: if that fails, Upload again goes straight to it.
    const video = await api("POST", `${VIDEOS}/metadata`, {
      video_s3_key: key, title, description: $("description").value,
      visibility: $("visibility").value,
    });
    localStorage.removeItem(PENDING_UPLOAD);
    $("pending").hidden = true;
    note(`Saved: video ${video.id}.`);
    watchVideo(video.id);
  } finally {
    activeUpload = null;
    $("cancel").disabled = true;
  }
}

async function cancelUpload() {
  const upload = activeUpload;
  if (!upload) return;
  upload.cancel();
  await api("DELETE", `${MULTIPART}/${upload.id}`);
  localStorage.removeItem(PENDING_UPLOAD);
  $("progress").value = 0;
  $("progress-text").textContent = "";
  note("Upload cancelled.");
}

// -- the video's status ---------------------------------------------------------------

function watchVideo(videoId) {
  localStorage.setItem(WATCHED_VIDEO, videoId);
  watchedVideo = videoId;
  $("video-id").textContent = `(video ${videoId})`;
  clearTimeout(watching);
  playback.stop();
  showShare(false);
  const poll = async () => {
    let video;
    try {
      video = await api("GET", `${VIDEOS}/${videoId}`);
    } catch (error) {
      showError(error);
      if (error.status === 404 || error.status === 401) return;
      watching = setTimeout(poll, POLL_MILLISECONDS);
      return;
    }
    $("status").textContent = video.processing_status;
    if (video.processing_status === "COMPLETED" && video.playback_url) {
      play(video);
      // Anyone may open a public video already: the API refuses to share one.
      showShare(video.visibility !== "PUBLIC");
    } else if (video.processing_status === "FAILED") {
      showError(`Processing failed: ${video.failure_reason || "no reason given"}`);
    } else {
      watching = setTimeout(poll, POLL_MILLISECONDS);
    }
  };
  poll();
}

function play(video) {
  const how = playback.play(video);
  if (how) note(`Ready to play: ${video.title} (${how}).`);
  $("player").scrollIntoView({ block: "nearest" });
}

// -- share links ----------------------------------------------------------------------

function showShare(shown) {
  $("share").hidden = !shown;
  if (!shown) $("shared-link").hidden = true;
}

async function shareVideo() {
  const created = await api("POST", `${VIDEOS}/${watchedVideo}/shares`,
    { expires_in: SHARE_SECONDS });
  const link = $("share-link");
  link.href = `${window.location.origin}${window.location.pathname}`
    + `#shared=${encodeURIComponent(created.token)}`;
  link.textContent = link.href;
  link.dataset.shareId = created.id;
  $("share-expires").dateTime = created.expires_at;
  $("share-expires").textContent = new Date(created.expires_at).toLocaleString();
  $("shared-link").hidden = false;
  note("Share link made: anyone holding it may watch the video for an hour.");
}

function sharedToken() {
  return new URLSearchParams(window.location.hash.slice(1)).get("shared");
}

// The page as someone holding a share link sees it: the video, nothing else.
async function openShared(token) {
  $("account").hidden = true;
  $("upload").hidden = true;
  $("intro").textContent = "A video shared with you through a link: no account needed.";
  $("video-heading").textContent = "Shared video";
  let video;
  try {
    video = await api("GET", `${SHARED}/${encodeURIComponent(token)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    throw new Error("This share link opens nothing: it has expired, been revoked or used "
      + "up, or it is mistyped.");
  }
  $("status").textContent = video.processing_status;
  $("video-id").textContent = `(${video.title})`;
  if (video.processing_status !== "COMPLETED" || !video.playback_url) {
    throw new Error("The shared video is not ready to play yet: open the link again later.");
  }
  play(video);
}

// -- start ----------------------------------------------------------------------------

async function start() {
  playback = new Playback($("player"), { onNote: note, onError: showError });
  // The mode is read once, at load: a changed fragment starts the page again.
  window.addEventListener("hashchange", () => window.location.reload());
  const token = sharedToken();
  if (token) {
    try {
      await openShared(token);
    } catch (error) {
      showError(error);
    }
    document.body.dataset.ready = "true";
    return;
  }
  action("sign-up", signUp);
  action("sign-in", signIn);
  action("sign-out", signOut);
  action("start", uploadVideo);
  action("cancel", cancelUpload, () => !activeUpload);
  action("share", shareVideo);
  $("file").addEventListener("change", clearError);
  // The buttons act; the form exists for the browser's password handling, never posts.
  $("credentials").addEventListener("submit", (event) => event.preventDefault());
  try {
    await restoreSession();
    showPending();
    const watched = localStorage.getItem(WATCHED_VIDEO);
    if (currentUser && watched) watchVideo(watched);
  } catch (error) {
    showError(error);
  }
  document.body.dataset.ready = "true";
}

start();
