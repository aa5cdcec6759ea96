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
// The signed 28x28 maps (saliency, weights, the "why not" change) are drawn on this light paper,
// the digit's own ink under them in grey, each sign in its colour, stronger the larger the value
// against the largest of its map.
const MAP_PAPER = [247, 247, 247];
const MAP_INK = [150, 150, 150];
// Sensitivity (saliency, weights): ink on this pixel pushes the quantity up, or down.
const PUSHES = { positive: [214, 39, 40], negative: [31, 119, 180] };
// A change of the input: ink to add, ink to take away.
const CHANGE = { positive: [0, 150, 70], negative: [190, 30, 150] };
const QUIET_UNIT = 0.25; // the colour strength of a shown unit with no activation, against 1 for the most active

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
    await readImage(sequence, png, { "Content-Type": "image/png" }, "?explain=true", "your drawing");
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
  const reply = await readImage(++requestCount, form, {}, "?annotate=true&explain=true", file.name);
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
  if (digit.explanation) showExplanation(card, digit);
  else card.querySelectorAll(".why, .units-title, .units").forEach((element) => element.remove());
  return card;
}

// Why the network answered (digitnet.explain): which pixels raised the answer's probability, the
// change that would make the runner-up the answer, and the first-layer units that fired most.
function showExplanation(card, digit) {
  const { saliency, runner_up: runnerUp, units } = digit.explanation;
  const ink = digit.network_input.flat();
  paintSigned(card.querySelector(".saliency"), saliency.flat(), PUSHES, ink);
  card.querySelector(".saliency-caption").textContent = `what raised p(${digit.digit})`;
  paintSigned(card.querySelector(".nudge"), runnerUp.change.flat(), CHANGE, ink);
  const change = runnerUp.reached ? `the change that makes it a ${runnerUp.digit}` : `a change toward ${runnerUp.digit}`;
  card.querySelector(".nudge-caption").textContent =
    `why not ${runnerUp.digit}? ${change}: p ${percent(runnerUp.probability)} → ${percent(runnerUp.probability_after)}`;
  card.dataset.runnerUp = runnerUp.digit;
  card.dataset.units = units.map((unit) => unit.unit).join(" ");
  const peak = Math.max(...units.map((unit) => unit.activation)) || 1;
  card.querySelector(".units").replaceChildren(...units.map((unit) => unitTile(unit, peak)));
}

function percent(p) {
  return `${(100 * p).toFixed(p < 0.001 ? 3 : 1)}%`;
}

function unitTile(unit, peak) {
  const figure = document.createElement("figure");
  figure.className = "unit";
  figure.title = `hidden unit ${unit.unit}: output ${unit.activation.toFixed(2)}`;
  const canvas = document.createElement("canvas");
  canvas.className = "unit-weights";
  canvas.width = canvas.height = 28;
  paintSigned(canvas, unit.weights.flat(), PUSHES, null, QUIET_UNIT + (1 - QUIET_UNIT) * unit.activation / peak);
  const caption = document.createElement("figcaption");
  caption.className = "muted";
  caption.textContent = `#${unit.unit} · ${unit.activation.toFixed(1)}`;
  figure.append(canvas, caption);
  return figure;
}

function mix(from, to, t) {
  return from.map((v, k) => Math.round(v + t * (to[k] - v)));
}

// A signed 28x28 map (784 values, rows flattened) in ``colours``, over the digit's ink (784 values in
// [0, 1], or null); ``strength`` in [0, 1] scales every colour (a less active unit is paler).
function paintSigned(canvas, values, colours, ink, strength = 1) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  const peak = Math.max(...values.map(Math.abs)) || 1;
  values.forEach((value, i) => {
    const paper = ink ? mix(MAP_PAPER, MAP_INK, ink[i]) : MAP_PAPER;
    const colour = value >= 0 ? colours.positive : colours.negative;
    image.data.set([...mix(paper, colour, strength * Math.abs(value) / peak), 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
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
      return mix(c0, c1, (t - t0) / (t1 - t0));
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
      `network ${model.architecture}`,
      `${model.parameters.toLocaleString("en")} parameters`,
      accuracy ? `${accuracy[0].replaceAll("_", " ")} ${(100 * accuracy[1]).toFixed(2)}%` : null,
    ].filter(Boolean).join(" · ");
  } catch (error) {
    $("model-info").textContent = "";
  }
}

// ---- the legend: every colour on the page, drawn from the same constants ------------------------

const rgb = (colour) => `rgb(${colour.join(",")})`;

function legendEntry(term, swatches, text) {
  const row = document.createElement("div");
  const name = document.createElement("dt");
  name.textContent = term;
  const meaning = document.createElement("dd");
  for (const [background, label] of swatches) {
    const swatch = document.createElement("span");
    swatch.className = background.includes("gradient") ? "swatch scale" : "swatch";
    swatch.style.background = background;
    meaning.append(swatch, ` ${label} `);
  }
  const description = document.createElement("span");
  description.className = "legend-text";
  description.textContent = text;
  meaning.append(description);
  row.append(name, meaning);
  return row;
}

function showLegend() {
  const page = getComputedStyle(document.documentElement);
  const heatScale = `linear-gradient(90deg, ${HEAT_STOPS.map(([t, c]) => `${rgb(c)} ${100 * t}%`).join(", ")})`;
  $("legend-entries").replaceChildren(
    legendEntry("28×28 input", [["#000", "paper"], ["#fff", "ink"]], "The crop the network read, as in MNIST."),
    legendEntry("probabilities", [[page.getPropertyValue("--accent"), "the answer"],
      [page.getPropertyValue("--accent-soft"), "the other digits"]], "A bar's height is the probability."),
    legendEntry("hidden layers", [[heatScale, "silent → the layer's most active unit"]], "One cell per unit, its output after ReLU."),
    legendEntry("what raised p", [[rgb(PUSHES.positive), "more ink here raises the probability"],
      [rgb(PUSHES.negative), "more ink here lowers it"], [rgb(MAP_INK), "your ink"]],
      "The gradient of the answer's probability with respect to each pixel, from the network's backward pass."),
    legendEntry("why not", [[rgb(CHANGE.positive), "ink to add"], [rgb(CHANGE.negative), "ink to take away"],
      [rgb(MAP_INK), "your ink"]], "A change of the input that makes the runner-up the answer."),
    legendEntry("units", [[rgb(PUSHES.positive), "ink here excites the unit"],
      [rgb(PUSHES.negative), "ink here inhibits it"]],
      "The weights from each pixel into a first-layer unit; paler tiles are less active units; #unit · its output."),
  );
}

sizePad();
showLegend();
showModel();
