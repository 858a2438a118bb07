// Plays a video's playback URL in the page's <video> element: an HLS playlist through
// hls.js where the browser has Media Source Extensions, else through the browser's own HLS;
// any other URL as the element's source. Loaded before demo.js, which uses `Playback`.
"use strict";

const HLS_MEDIA_TYPE = "application/vnd.apple.mpegurl";
// hls.js would start its transmuxer as a worker made from a blob: URL, which the page's
// Content-Security-Policy does not allow; on the page's thread it costs little here.
const HLS_CONFIG = { enableWorker: false };

// Whether a completed video's playback URL is an HLS playlist: its `hls` rendition, or a
// URL naming a .m3u8 file.
function isHlsPlaylist(video) {
  const url = video.playback_url;
  if ((video.renditions || []).some((rendition) => rendition.kind === "hls"
      && rendition.url === url)) {
    return true;
  }
  return new URL(url, window.location.href).pathname.endsWith(".m3u8");
}

class Playback {
  // `onNote` receives what the page should log, `onError` what stops the playback.
  constructor(element, { onNote, onError }) {
    this.element = element;
    this.onNote = onNote;
    this.onError = onError;
    this.url = null;
    this.hls = null;
    this.reported = new Set();
    element.addEventListener("error", () => this.elementFailed());
  }

  // Starts playing `video` (muted, so the browser lets it start by itself) and says how;
  // null when that URL is playing already.
  play(video) {
    if (this.url === video.playback_url) return null;
    this.stop();
    this.url = video.playback_url;
    this.element.hidden = false;
    const how = this.attach(video);
    this.element.play().catch(() => {
      // Refused autoplay, or a newer source: the controls still play it.
    });
    return how;
  }

  attach(video) {
    if (!isHlsPlaylist(video)) {
      this.element.src = this.url;
      return "as a file";
    }
    if (window.Hls && window.Hls.isSupported()) {
      this.hls = new window.Hls(HLS_CONFIG);
      this.hls.on(window.Hls.Events.ERROR, (_, data) => this.hlsFailed(data));
      // Its requests are XHRs: to this origin they carry the session cookie, as the
      // owner's playlist route needs; to S3 they carry none.
      this.hls.loadSource(this.url);
      this.hls.attachMedia(this.element);
      return "HLS through hls.js";
    }
    if (this.element.canPlayType(HLS_MEDIA_TYPE)) {
      this.element.src = this.url;
      return "HLS played by the browser";
    }
    this.element.src = this.url;
    return "as a file: this browser plays no HLS";
  }

  stop() {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    this.url = null;
    this.reported.clear();
    this.element.removeAttribute("src");
    this.element.load();
    this.element.hidden = true;
  }

  // hls.js retries and recovers by itself unless it calls an error fatal.
  hlsFailed(data) {
    if (data.fatal) {
      this.stop();
      this.onError(new Error(`The video cannot be played: ${data.type} (${data.details}).`));
      return;
    }
    if (this.reported.has(data.details)) return;
    this.reported.add(data.details);
    this.onNote(`Playback: hls.js reports ${data.details} and carries on.`);
  }

  elementFailed() {
    if (this.hls || !this.url || !this.element.error) return;
    const { code, message } = this.element.error;
    this.stop();
    this.onError(new Error(`The browser cannot play the video: ${message || `error ${code}`}.`));
  }
}
