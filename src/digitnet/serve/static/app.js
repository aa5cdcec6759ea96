// digitnet serve: the drawing pad, the photo drop zone, and the view of what the network read.
// Every image goes to POST /api/read, the same read_digits path as the command line.
"use strict";

const READ_DELAY_MS = 120; // wait this long after a change before reading, to batch quick strokes
// The pad is sent at half size: the network sees 28x28 anyway, and a quarter of the pixels reads
// the same digits about four times faster.
const SEND_SCALE = 0.5;
const PAPER = "#ffffff";
const INK = "#111111";
// Heat-strip colours, from a silent unit (0) to the most active unit of its layer (1).
const HEAT_STOPS = [[0, [244, 245, 250]], [0.35, [255, 209, 102]], [0.7, [239, 108, 0]], [1, [120, 0, 24]]];

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const strokes = []; // each {width, points: [[x, y], ...]} in canvas pixels
let drawing = null; // the stroke under the pointer
let readTimer = null;
let readInFlight = false;
let drawingChanged = false;
let latestReply = 0; // sequence number of the reply shown, so that a late reply never hides a newer one
let requestCount = 0;

// ---- the drawing pad --------------------------------------------------------------------------

function sizePad() {
  if (window.matchMedia("(max-width: 640px)").matches) pad.height = 480; // taller on a phone
  redraw();
}

function paintStroke(stroke) {
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = stroke.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const [first, ...rest] = stroke.points;
  if (!rest.length) {
    ctx.beginPath();
    ctx.arc(first[0], first[1], stroke.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(first[0], first[1]);
  for (const [x, y] of rest) ctx.lineTo(x, y);
  ctx.stroke();
}

function redraw() {
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, pad.width, pad.height);
  strokes.forEach(paintStroke);
}

function sendCopy() {
  const copy = document.createElement("canvas");
  copy.width = Math.round(pad.width * SEND_SCALE);
  copy.height = Math.round(pad.height * SEND_SCALE);
  const copyContext = copy.getContext("2d");
  copyContext.imageSmoothingQuality = "high";
  copyContext.drawImage(pad, 0, 0, copy.width, copy.height);
  return copy;
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [(event.clientX - rect.left) * pad.width / rect.width, (event.clientY - rect.top) * pad.height / rect.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = { width: Number($("brush").value), points: [padPoint(event)] };
  strokes.push(drawing);
  paintStroke(drawing);
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) drawing.points.push(padPoint(e));
  redraw();
  drawingChanged = true;
  scheduleRead();
});

function endStroke() {
  if (!drawing) return;
  drawing = null;
  drawingChanged = true;
  scheduleRead();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  strokes.pop();
  redraw();
  drawingChanged = true;
  scheduleRead();
}

function clearPad() {
  strokes.length = 0;
  redraw();
  drawingChanged = true;
  scheduleRead();
}

$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearPad);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z") {
    event.preventDefault();
    undo();
  }
});

// ---- reading: the pad as it changes, a photo when dropped --------------------------------------

// Reads the pad READ_DELAY_MS after a change, one request at a time: changes made while a request
// is under way are read as soon as it returns, so the answer follows the pen as fast as it can.
function scheduleRead() {
  if (readTimer === null && !readInFlight) readTimer = setTimeout(readPad, READ_DELAY_MS);
}

async function readPad() {
  readTimer = null;
  if (!drawingChanged) return;
  drawingChanged = false;
  if (!strokes.length) {
    latestReply = ++requestCount;
    showReading(null, "Draw a digit to start.");
    return;
  }
  readInFlight = true;
  const sequence = ++requestCount; // taken now: a photo dropped while the PNG is being made wins
  try {
    const png = await new Promise((resolve) => sendCopy().toBlob(resolve, "image/png"));
    await readImage(sequence, png, { "Content-Type": "image/png" }, "", "your drawing");
  } finally {
    readInFlight = false;
    if (drawingChanged) scheduleRead();
  }
}

async function readPhoto(file) {
  if (!file) return;
  // The photo is now what the reading shows: a pad read still waiting to start is dropped.
  clearTimeout(readTimer);
  readTimer = null;
  drawingChanged = false;
  const form = new FormData();
  form.append("file", file);
  $("status").textContent = `Reading ${file.name}…`;
  const reply = await readImage(++requestCount, form, {}, "?annotate=true", file.name);
  if (!reply) return;
  $("annotated-image").src = reply.annotated_image;
  $("annotated-caption").textContent = `${file.name}: ${reply.digits.length} digit${reply.digits.length === 1 ? "" : "s"} read`;
  $("annotated").hidden = false;
}

// POSTs an image to /api/read and shows the reply unless a later request was already shown;
// returns the reply, or null after showing the error. ``sequence`` orders the requests.
async function readImage(sequence, body, headers, query, source) {
  let reply;
  try {
    const response = await fetch(`/api/read${query}`, { method: "POST", body, headers });
    reply = await response.json();
    if (!response.ok) throw new Error(reply.detail || `the server answered ${response.status}`);
  } catch (error) {
    if (sequence > latestReply) {
      latestReply = sequence;
      showReading(null, `Could not read ${source}: ${error.message}`);
    }
    return null;
  }
  if (sequence < latestReply) return reply;
  latestReply = sequence;
  const count = reply.digits.length;
  showReading(reply, count ? `${count} digit${count === 1 ? "" : "s"} in ${source}.` : `No digit found in ${source}.`);
  return reply;
}

$("file").addEventListener("change", (event) => readPhoto(event.target.files[0]));
const drop = $("drop");
["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (event) => {
  event.preventDefault();
  drop.classList.add("over");
}));
["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  readPhoto(event.dataTransfer.files[0]);
});

// ---- showing what the network read --------------------------------------------------------------

function showReading(reply, status) {
  $("status").textContent = status;
  $("text").textContent = reply ? reply.text : "";
  const cards = (reply ? reply.digits : []).map(digitCard);
  $("digits").replaceChildren(...cards);
}

function digitCard(digit) {
  const card = $("digit-card").content.firstElementChild.cloneNode(true);
  card.dataset.digit = digit.digit;
  card.querySelector(".digit").textContent = digit.digit;
  card.querySelector(".confidence").textContent = `${(100 * digit.confidence).toFixed(1)}% sure`;
  paintInput(card.querySelector(".input-image"), digit.network_input);
  fillProbabilities(card.querySelector(".probabilities"), digit.probabilities, digit.digit);
  const layers = card.querySelector(".hidden-layers");
  digit.hidden_activations.forEach((units, i) => layers.append(heatStrip(units, i + 1)));
  return card;
}

// The 28x28 crop as the network saw it: ink 1.0 is white on black, as in MNIST.
function paintInput(canvas, rows) {
  const image = canvas.getContext("2d").createImageData(28, 28);
  rows.flat().forEach((value, i) => {
    const level = Math.round(255 * value);
    image.data.set([level, level, level, 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(image, 0, 0);
}

// A reader model's 11th output (index 10) is "not a digit": its column is labelled "×".
const className = (d) => (d < 10 ? String(d) : "not a digit");

function fillProbabilities(chart, probabilities, best) {
  chart.setAttribute("aria-label", probabilities.map((p, d) => `${className(d)}: ${(100 * p).toFixed(1)}%`).join(", "));
  probabilities.forEach((p, d) => {
    const column = document.createElement("div");
    column.className = d === best ? "prob best" : "prob";
    column.dataset.digit = d;
    column.dataset.probability = p.toFixed(4);
    column.title = `${className(d)}: ${(100 * p).toFixed(1)}%`;
    const bar = document.createElement("div");
    bar.className = "prob-bar";
    bar.style.height = `${Math.max(1, 100 * p)}%`;
    const track = document.createElement("div");
    track.className = "prob-track";
    track.append(bar);
    const label = document.createElement("span");
    label.className = "prob-label";
    label.textContent = d < 10 ? d : "×";
    column.append(track, label);
    chart.append(column);
  });
}

function heatColour(t) {
  for (let i = 1; i < HEAT_STOPS.length; i++) {
    const [t1, c1] = HEAT_STOPS[i];
    if (t <= t1) {
      const [t0, c0] = HEAT_STOPS[i - 1];
      const f = (t - t0) / (t1 - t0);
      return c0.map((v, k) => Math.round(v + f * (c1[k] - v)));
    }
  }
  return HEAT_STOPS[HEAT_STOPS.length - 1][1];
}

// One hidden layer as a strip with a cell per unit, coloured by its ReLU output relative to the
// layer's most active unit for this digit.
function heatStrip(units, layerNumber) {
  const figure = document.createElement("figure");
  figure.className = "heat";
  const canvas = document.createElement("canvas");
  canvas.className = "heat-strip";
  canvas.width = units.length;
  canvas.height = 1;
  const image = canvas.getContext("2d").createImageData(units.length, 1);
  const peak = Math.max(...units) || 1;
  units.forEach((value, i) => image.data.set([...heatColour(value / peak), 255], 4 * i));
  canvas.getContext("2d").putImageData(image, 0, 0);
  const active = units.filter((value) => value > 0).length;
  const caption = document.createElement("figcaption");
  caption.className = "muted";
  caption.textContent = `hidden layer ${layerNumber}: ${active} of ${units.length} units active`;
  figure.append(canvas, caption);
  return figure;
}

// ---- the model --------------------------------------------------------------------------------

async function showModel() {
  try {
    const model = await (await fetch("/api/model")).json();
    const metrics = model.metadata.metrics || {};
    const accuracies = Object.entries(metrics).filter(([key, value]) => key.includes("accuracy") && typeof value === "number");
    const accuracy = accuracies.find(([key]) => key === "test_accuracy") || accuracies[0];
    $("model-info").textContent = [
      `network ${model.layer_sizes.join("-")}`,
      `${model.parameters.toLocaleString("en")} parameters`,
      accuracy ? `${accuracy[0].replaceAll("_", " ")} ${(100 * accuracy[1]).toFixed(2)}%` : null,
    ].filter(Boolean).join(" · ");
  } catch (error) {
    $("model-info").textContent = "";
  }
}

sizePad();
showModel();
