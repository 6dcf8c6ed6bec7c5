/// The page `house-price serve` shows at `/`: a form generated from the model's own schema
/// (`GET /v1/model`): numeric fields with the training median as placeholder, categorical fields
/// as selects of the known categories, dates as date fields; the predicted price; and a CSV upload
/// that returns the priced CSV as a download. Self-contained, so it works offline.
enum HousePricePage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Backprop · house prices</title>
    <link rel="icon" href="data:,">
    <style>
      :root { --ink: #1d2330; --muted: #667085; --accent: #2f6fde; --line: #d0d5dd; }
      * { box-sizing: border-box; }
      body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
      main { max-width: 880px; margin: 0 auto; padding: 24px 16px 40px; }
      h1 { font-size: 1.35rem; margin: 0 0 4px; }
      h2 { font-size: 1.05rem; margin: 0 0 12px; }
      p.lead { margin: 0 0 20px; color: var(--muted); }
      .card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 16px; margin-bottom: 20px; }
      form.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 12px 16px; }
      label { display: flex; flex-direction: column; font-size: .88rem; color: var(--muted); gap: 4px; }
      input, select { font: inherit; color: var(--ink); padding: 6px 8px; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
      input:focus, select:focus { outline: 2px solid var(--accent); border-color: transparent; }
      .actions { display: flex; gap: 12px; align-items: center; margin-top: 16px; flex-wrap: wrap; }
      button { font: inherit; padding: 8px 16px; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
      button.secondary { background: #fff; color: var(--ink); border-color: var(--line); }
      #price { font-size: 2.2rem; font-weight: 700; }
      #warnings { color: #b54708; font-size: .9rem; }
      #error, #upload-error { color: #b42318; min-height: 1.2em; }
      .hint { color: var(--muted); font-size: .88rem; }
    </style>
    </head>
    <body>
    <main>
      <h1>Price a house</h1>
      <p class="lead" id="lead">Loading the model's schema…</p>
      <div class="card">
        <form class="fields" id="fields" autocomplete="off"></form>
        <div class="actions">
          <button id="predict" type="button">Predict the price</button>
          <span id="price" aria-live="polite"></span>
        </div>
        <div id="warnings"></div>
        <div id="error" role="alert"></div>
      </div>
      <div class="card">
        <h2>Price a CSV file</h2>
        <p class="hint">Rows with the columns above; the file comes back with a <span id="prediction-column">predicted</span> column.</p>
        <div class="actions">
          <input id="csv" type="file" accept=".csv,text/csv">
          <button id="upload" class="secondary" type="button">Price the file</button>
          <a id="download" hidden>Download the priced CSV</a>
        </div>
        <div id="upload-error" role="alert"></div>
      </div>
    </main>
    <script>
    "use strict";
    let schema = null;
    const money = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
    function field(column) {
      const label = document.createElement("label");
      label.textContent = column.name;
      let input;
      if (column.kind === "categorical") {
        input = document.createElement("select");
        for (const value of ["", ...column.categories]) {
          const option = document.createElement("option");
          option.value = value; option.textContent = value === "" ? "(unknown)" : value;
          input.appendChild(option);
        }
        if (column.categories.length) input.value = column.categories[0];
      } else if (column.kind === "date") {
        input = document.createElement("input"); input.type = "date";
        const day = new Date(Math.round(column.median_day) * 86400000);
        input.value = day.toISOString().slice(0, 10);
      } else {
        input = document.createElement("input"); input.type = "text"; input.inputMode = "decimal";
        input.placeholder = String(Number(column.median.toPrecision(6)));
      }
      input.name = column.name; input.id = "field-" + column.name;
      label.appendChild(input);
      return label;
    }
    async function load() {
      try {
        const response = await fetch("/v1/model");
        const model = await response.json();
        schema = model.schema;
        document.getElementById("lead").textContent = "Predicts " + schema.target + " from " + schema.columns.length
          + " columns. Empty fields count as missing (numbers take the training median).";
        document.getElementById("prediction-column").textContent = schema.prediction_column;
        const form = document.getElementById("fields");
        schema.columns.forEach(column => form.appendChild(field(column)));
      } catch (error) {
        document.getElementById("lead").textContent = "The model's schema could not be loaded: " + error.message;
      }
    }
    async function predict() {
      const row = {};
      for (const column of schema.columns) {
        const value = document.getElementById("field-" + column.name).value.trim();
        row[column.name] = value === "" ? null : value;
      }
      document.getElementById("error").textContent = "";
      try {
        const response = await fetch("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify([row]) });
        const answer = await response.json();
        if (!response.ok) { document.getElementById("error").textContent = answer.error; return; }
        const price = answer.predictions[0];
        const output = document.getElementById("price");
        output.textContent = "$" + money.format(price);
        output.dataset.price = String(price);
        document.getElementById("warnings").textContent = answer.warnings.join("; ");
      } catch (error) {
        document.getElementById("error").textContent = "the server did not answer (" + error.message + ")";
      }
    }
    async function upload() {
      const file = document.getElementById("csv").files[0];
      const errorLine = document.getElementById("upload-error"), link = document.getElementById("download");
      errorLine.textContent = ""; link.hidden = true;
      if (!file) { errorLine.textContent = "Choose a CSV file first."; return; }
      try {
        const response = await fetch("/v1/predict", { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
        if (!response.ok) { errorLine.textContent = (await response.json()).error; return; }
        const blob = await response.blob();
        link.href = URL.createObjectURL(blob);
        link.download = file.name.replace(/\.csv$/i, "") + "-priced.csv";
        link.hidden = false;
        link.click();
      } catch (error) {
        errorLine.textContent = "the upload failed (" + error.message + ")";
      }
    }
    document.getElementById("predict").addEventListener("click", predict);
    document.getElementById("fields").addEventListener("submit", event => { event.preventDefault(); predict(); });
    document.getElementById("upload").addEventListener("click", upload);
    load();
    </script>
    </body>
    </html>
    """#
}
