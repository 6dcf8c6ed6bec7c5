/// The page `digits serve` shows at `/`: draw a digit (mouse, touch or pen), or drop or pick a PNG,
/// and see the model's answer update as you draw, with bars for all ten classes and the 28×28
/// image the network saw. Self-contained: no external script, style or font, so it works offline.
enum DigitsPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Backprop · digits</title>
    <link rel="icon" href="data:,">
    <style>
      :root { --ink: #1d2330; --muted: #667085; --accent: #2f6fde; --line: #d0d5dd; }
      * { box-sizing: border-box; }
      body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
      main { max-width: 860px; margin: 0 auto; padding: 24px 16px 40px; }
      h1 { font-size: 1.35rem; margin: 0 0 4px; }
      p.lead { margin: 0 0 20px; color: var(--muted); }
      .panes { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
      .card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 16px; }
      #pad { width: 300px; height: 300px; border: 2px dashed var(--line); border-radius: 8px; background: #fff;
             touch-action: none; cursor: crosshair; display: block; }
      #pad.dragging { border-color: var(--accent); background: #eef4ff; }
      .buttons { display: flex; gap: 8px; margin-top: 12px; align-items: center; }
      button, label.file { font: inherit; padding: 6px 14px; border-radius: 8px; border: 1px solid var(--line);
                            background: #fff; cursor: pointer; }
      button:hover, label.file:hover { border-color: var(--accent); }
      label.file input { display: none; }
      .answer { min-width: 300px; flex: 1; }
      #label { font-size: 4rem; font-weight: 700; line-height: 1; display: inline-block; min-width: 1ch; }
      #confidence { color: var(--muted); margin-left: 8px; }
      #doubts { color: #b54708; min-height: 1.4em; margin: 6px 0 10px; font-size: .92rem; }
      .bars { display: grid; grid-template-columns: 1.5ch 1fr 4.5ch; gap: 4px 8px; align-items: center; font-variant-numeric: tabular-nums; }
      .bar { height: 14px; background: #eaecf0; border-radius: 7px; overflow: hidden; }
      .bar span { display: block; height: 100%; width: 0; background: var(--accent); transition: width .15s; }
      .bars .top span { background: #12b76a; }
      .seen { display: flex; gap: 12px; align-items: center; margin-top: 16px; color: var(--muted); font-size: .9rem; }
      #seen { width: 112px; height: 112px; image-rendering: pixelated; border-radius: 4px; background: #000; }
      #error { color: #b42318; min-height: 1.4em; }
    </style>
    </head>
    <body>
    <main>
      <h1>Draw a digit</h1>
      <p class="lead">Draw anywhere in the box, any size, or drop a PNG onto it. The answer updates as you draw.</p>
      <div class="panes">
        <div class="card">
          <canvas id="pad" width="300" height="300" aria-label="drawing area"></canvas>
          <div class="buttons">
            <button id="clear" type="button">Clear</button>
            <label class="file">Pick a PNG… <input id="file" type="file" accept="image/png"></label>
          </div>
        </div>
        <div class="card answer" aria-live="polite">
          <div><output id="label">–</output><span id="confidence"></span></div>
          <div id="doubts"></div>
          <div class="bars" id="bars"></div>
          <div class="seen"><canvas id="seen" width="28" height="28" aria-label="what the network saw"></canvas>
            <span>The 28×28 image the network saw, after MNIST-style normalisation.</span></div>
          <div id="error" role="alert"></div>
        </div>
      </div>
    </main>
    <script>
    "use strict";
    const pad = document.getElementById("pad"), context = pad.getContext("2d");
    const bars = document.getElementById("bars");
    const rows = [];
    for (let k = 0; k < 10; k++) {
      const name = document.createElement("span"); name.textContent = k;
      const bar = document.createElement("div"); bar.className = "bar"; bar.appendChild(document.createElement("span"));
      const value = document.createElement("span"); value.textContent = "";
      bars.append(name, bar, value); rows.push({ bar, value });
    }
    function clearPad() {
      context.fillStyle = "#fff"; context.fillRect(0, 0, pad.width, pad.height);
      document.getElementById("label").textContent = "–";
      document.getElementById("confidence").textContent = "";
      document.getElementById("doubts").textContent = "";
      document.getElementById("error").textContent = "";
      rows.forEach(r => { r.bar.firstChild.style.width = "0"; r.value.textContent = ""; });
      document.getElementById("seen").getContext("2d").clearRect(0, 0, 28, 28);
      drawn = false;
    }
    let drawing = false, drawn = false, last = null, pending = null, inFlight = false, again = false;
    function point(event) {
      const box = pad.getBoundingClientRect();
      return { x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height };
    }
    pad.addEventListener("pointerdown", event => {
      event.preventDefault(); pad.setPointerCapture(event.pointerId);
      drawing = true; last = point(event);
      context.fillStyle = "#111"; context.beginPath(); context.arc(last.x, last.y, 6, 0, 2 * Math.PI); context.fill();
      drawn = true; schedule();
    });
    pad.addEventListener("pointermove", event => {
      if (!drawing) return;
      event.preventDefault();
      const here = point(event);
      context.strokeStyle = "#111"; context.lineWidth = 12; context.lineCap = "round"; context.lineJoin = "round";
      context.beginPath(); context.moveTo(last.x, last.y); context.lineTo(here.x, here.y); context.stroke();
      last = here; schedule();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(kind => pad.addEventListener(kind, () => {
      if (drawing) { drawing = false; schedule(0); }
    }));
    function schedule(delay = 120) {
      clearTimeout(pending);
      pending = setTimeout(() => { if (drawn) pad.toBlob(blob => send(blob), "image/png"); }, delay);
    }
    async function send(blob) {
      if (inFlight) { again = true; return; }
      inFlight = true;
      try {
        const response = await fetch("/v1/classify?top=10&input=1", { method: "POST", headers: { "Content-Type": "image/png" }, body: blob });
        const answer = await response.json();
        if (!response.ok) { show(null, answer.error || response.statusText); } else { show(answer, ""); }
      } catch (error) {
        show(null, "the server did not answer (" + error.message + ")");
      } finally {
        inFlight = false;
        if (again) { again = false; if (drawn) pad.toBlob(b => send(b), "image/png"); }
      }
    }
    function show(answer, error) {
      document.getElementById("error").textContent = error;
      if (!answer) return;
      document.getElementById("label").textContent = answer.label;
      document.getElementById("label").dataset.label = answer.label;
      document.getElementById("confidence").textContent = (answer.confidence * 100).toFixed(1) + " %" + (answer.uncertain ? " · uncertain" : "");
      document.getElementById("doubts").textContent = (answer.doubts || []).join("; ");
      const p = new Array(10).fill(0);
      answer.top.forEach(t => { p[Number(t.label)] = t.p; });
      rows.forEach((r, k) => {
        r.bar.firstChild.style.width = (100 * p[k]).toFixed(1) + "%";
        r.value.textContent = (100 * p[k]).toFixed(0) + "%";
        r.bar.classList.toggle("top", String(k) === answer.label);
      });
      if (answer.input) {
        const seen = document.getElementById("seen").getContext("2d"), image = seen.createImageData(28, 28);
        answer.input.forEach((v, i) => { const g = Math.round(255 * v); image.data.set([g, g, g, 255], 4 * i); });
        seen.putImageData(image, 0, 0);
      }
    }
    function sendFile(file) {
      if (!file) return;
      clearPad();
      const reader = new FileReader();
      reader.onload = () => {
        const image = new Image();
        image.onload = () => {
          const scale = Math.min(pad.width / image.width, pad.height / image.height);
          context.drawImage(image, (pad.width - image.width * scale) / 2, (pad.height - image.height * scale) / 2,
                            image.width * scale, image.height * scale);
        };
        image.src = reader.result;
      };
      reader.readAsDataURL(file);
      send(file);
    }
    document.getElementById("clear").addEventListener("click", clearPad);
    document.getElementById("file").addEventListener("change", event => sendFile(event.target.files[0]));
    pad.addEventListener("dragover", event => { event.preventDefault(); pad.classList.add("dragging"); });
    pad.addEventListener("dragleave", () => pad.classList.remove("dragging"));
    pad.addEventListener("drop", event => {
      event.preventDefault(); pad.classList.remove("dragging");
      sendFile(event.dataTransfer.files[0]);
    });
    clearPad();
    </script>
    </body>
    </html>
    """#
}
