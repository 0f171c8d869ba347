// The page of `digits serve`: record from the microphone (or take a file), send the audio to /api/predict and
// /api/view, and show what the model heard. The recording is encoded here as 16-bit PCM WAV.
const $ = (id) => document.getElementById(id);
const RATE = 16000; // the recording's sample rate: plenty for speech, small to send
let limits = { max_seconds: 10, sequence_seconds: 60 };
let recording = null;

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function wav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + 2 * samples.length));
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * samples.length, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, 2 * samples.length, true);
  samples.forEach((x, i) => view.setInt16(44 + 2 * i, Math.round(32767 * Math.max(-1, Math.min(1, x))), true));
  return new Blob([view], { type: "audio/wav" });
}

async function startRecording() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const context = new AudioContext({ sampleRate: RATE });
  await context.audioWorklet.addModule("/static/capture.js");
  const node = new AudioWorkletNode(context, "capture");
  const silent = context.createGain();
  silent.gain.value = 0;
  const blocks = [];
  node.port.onmessage = (event) => blocks.push(event.data);
  context.createMediaStreamSource(stream).connect(node).connect(silent).connect(context.destination);
  const longest = $("sequence").checked ? limits.sequence_seconds : limits.max_seconds;
  recording = { stream, context, blocks, timer: setTimeout(stopRecording, 1000 * longest) };
  $("record").setAttribute("aria-pressed", "true");
  $("record").textContent = "Stop";
  setStatus(`recording… (at most ${longest} s) press Space or Stop when done`);
}

async function stopRecording() {
  if (!recording) return;
  const { stream, context, blocks, timer } = recording;
  recording = null;
  clearTimeout(timer);
  stream.getTracks().forEach((track) => track.stop());
  await context.close();
  $("record").setAttribute("aria-pressed", "false");
  $("record").textContent = "Record";
  const samples = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
  blocks.reduce((at, b) => (samples.set(b, at), at + b.length), 0);
  await send(wav(samples, context.sampleRate), "recording.wav");
}

async function toggle() {
  try {
    await (recording ? stopRecording() : startRecording());
  } catch (err) {
    recording = null;
    setStatus(`cannot record: ${err.message}`, true);
  }
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } });
  const answer = await response.json().catch(() => ({ detail: response.statusText }));
  return { ok: response.ok, answer };
}

async function send(blob, name) {
  const sequence = $("sequence").checked;
  const query = `sequence=${sequence}&name=${encodeURIComponent(name)}`;
  $("result").dataset.state = "waiting";
  setStatus(`sending ${name} (${(blob.size / 1024).toFixed(0)} KiB)…`);
  const [predicted, pictured] = await Promise.all([post(`/api/predict?${query}`, blob), post(`/api/view?${query}`, blob)]);
  show(predicted, pictured.ok ? pictured.answer : null, name);
}

function show({ ok, answer }, picture, name) {
  const digit = $("digit"), refused = $("refused"), parts = $("parts");
  refused.hidden = true;
  parts.hidden = true;
  parts.replaceChildren();
  $("bars").replaceChildren();
  $("confidence").textContent = "";
  let segments = [];
  if (!ok) {
    digit.textContent = "–";
    refused.textContent = `not used: ${answer.detail}`;
    refused.hidden = false;
    setStatus(`${name}: ${answer.detail}`, true);
  } else if (answer.no_digit) {
    digit.textContent = "–";
    refused.textContent = `no digit heard: ${answer.no_digit}`;
    refused.hidden = false;
    setStatus(`${name}: no digit heard`);
  } else if (answer.segments) {
    segments = answer.segments;
    digit.textContent = segments.filter((s) => "digit" in s).map((s) => s.digit).join(" ");
    for (const s of segments) {
      const item = document.createElement("li");
      const said = "digit" in s ? `${s.digit} (confidence ${s.confidence.toFixed(3)})` : `no digit: ${s.no_digit}`;
      item.textContent = `${s.start.toFixed(2)}–${s.end.toFixed(2)} s: ${said}`;
      parts.append(item);
    }
    parts.hidden = false;
    setStatus(`${name}: ${segments.length} parts`);
  } else {
    digit.textContent = answer.digit;
    $("confidence").textContent = `confidence ${answer.confidence.toFixed(3)}`;
    bars(answer.probabilities);
    setStatus(`${name}: heard ${answer.digit}`);
  }
  if (picture) draw(picture, segments);
  $("result").dataset.state = ok ? "done" : "refused";
}

function bars(probabilities) {
  const top = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, d) => {
    const bar = document.createElement("div");
    bar.className = d === top ? "bar top" : "bar";
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    const label = document.createElement("span");
    label.textContent = d;
    const value = document.createElement("span");
    value.textContent = p.toFixed(3);
    const track = document.createElement("div");
    track.append(bar);
    $("bars").append(label, track, value);
  });
}

function shade(ctx, picture, spans, width, height) {
  ctx.fillStyle = "rgba(74, 144, 226, 0.18)";
  for (const [start, end] of spans) {
    const x = (start / picture.seconds) * width;
    ctx.fillRect(x, 0, Math.max(1, ((end - start) / picture.seconds) * width), height);
  }
}

function colour(v) {
  const stops = [[13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33]]; // plasma
  const t = (v / 255) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(t)), f = t - i;
  return stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
}

function draw(picture, segments) {
  const spans = segments.length ? segments.map((s) => [s.start, s.end]) : [picture.kept];
  const wave = $("wave").getContext("2d"), W = wave.canvas.width, H = wave.canvas.height;
  wave.clearRect(0, 0, W, H);
  shade(wave, picture, spans, W, H);
  wave.fillStyle = "#1d2330";
  const columns = picture.waveform.length;
  const peak = Math.max(1e-6, ...picture.waveform.flat().map(Math.abs)); // drawn to the full height
  picture.waveform.forEach(([low, high], i) => {
    const x = (i / columns) * W, y0 = H / 2 - (high / peak) * 0.48 * H, y1 = H / 2 - (low / peak) * 0.48 * H;
    wave.fillRect(x, y0, Math.max(1, W / columns), Math.max(1, y1 - y0));
  });
  const mel = $("mel").getContext("2d"), bands = picture.mel.length, frames = picture.mel[0].length;
  const image = mel.createImageData(frames, bands);
  picture.mel.forEach((row, band) => row.forEach((v, t) => {
    const at = 4 * ((bands - 1 - band) * frames + t);
    image.data.set([...colour(v), 255], at);
  }));
  const off = new OffscreenCanvas(frames, bands);
  off.getContext("2d").putImageData(image, 0, 0);
  mel.imageSmoothingEnabled = false;
  mel.drawImage(off, 0, 0, mel.canvas.width, mel.canvas.height);
  mel.strokeStyle = "#fff";
  mel.lineWidth = 2;
  for (const [start, end] of spans) {
    const x = (start / picture.seconds) * mel.canvas.width, w = ((end - start) / picture.seconds) * mel.canvas.width;
    mel.strokeRect(x, 1, w, mel.canvas.height - 2);
  }
  $("caption").textContent = `${picture.seconds.toFixed(2)} s at ${picture.sample_rate} Hz; marked: ` +
    (segments.length ? "the parts heard as digits" : `what the front end kept (${picture.kept[0].toFixed(2)}–${picture.kept[1].toFixed(2)} s)`);
}

function takeFile(file) {
  if (file) send(file, file.name);
}

async function describeModel() {
  const response = await fetch("/api/model");
  const about = await response.json();
  limits = about.limits;
  const loso = about.leave_one_speaker_out.mean_accuracy;
  $("model").textContent = `model: ${about.frontend} (${about.model}, reads ${about.input})` +
    (loso ? `; leave-one-speaker-out accuracy ${loso.toFixed(3)}` : "") +
    (about.test_accuracy ? `; test split ${about.test_accuracy.toFixed(3)}` : "");
}

$("record").addEventListener("click", toggle);
document.addEventListener("keydown", (event) => {
  const inControl = event.target.closest("button, input, label");
  if (event.code === "Space" && !inControl && !event.repeat) {
    event.preventDefault();
    toggle();
  }
});
$("file").addEventListener("change", (event) => takeFile(event.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  takeFile(event.dataTransfer.files[0]);
});
describeModel().catch((err) => setStatus(`cannot reach the server: ${err.message}`, true));
