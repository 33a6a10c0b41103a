// The playground page: it holds the files as text, asks the WebAssembly
// module (ngxlintCheck) to check them, and shows the findings with their
// positions marked in the source and each confirmation's trace. Every
// string from the report goes into the page as text, never as HTML: the
// report quotes what was pasted.
"use strict";

const $ = (id) => document.getElementById(id);
let lastFiles = {};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function addFile(name, text) {
  const box = el("div", { class: "file" },
    el("input", { value: name, title: "path of the file, as the configuration names it", "aria-label": "file name" }),
    el("textarea", { value: text || "", spellcheck: false, "aria-label": "contents of " + name }));
  if ($("files").children.length > 0) {
    const rm = el("button", { type: "button", textContent: "remove" });
    rm.addEventListener("click", () => box.remove());
    box.append(rm);
  }
  $("files").append(box);
  return box;
}

function currentFiles() {
  const files = {};
  let main = "";
  for (const box of $("files").children) {
    const name = box.querySelector("input").value.trim();
    if (!name) continue;
    if (!main) main = name;
    files[name] = box.querySelector("textarea").value;
  }
  return { files, main };
}

function versionsSpec() {
  const or = $("openresty").value;
  if (or) return "openresty=" + or;
  const parts = [];
  if ($("nginx").value.trim()) parts.push("nginx=" + $("nginx").value.trim());
  if ($("lnm").value) parts.push("lua_nginx_module=" + $("lnm").value);
  return parts.join(",");
}

function fillVersions() {
  const c = JSON.parse(globalThis.ngxlintVersions());
  for (const b of c.openresty || []) {
    $("openresty").append(el("option", { value: b.version, textContent: `${b.version} (nginx ${b.nginx}, lua-nginx-module ${b.lnm})` }));
  }
  for (const v of c.lnm || []) $("lnm").append(el("option", { value: v, textContent: v }));
  $("openresty").addEventListener("change", () => {
    const on = $("openresty").value !== "";
    $("nginx").disabled = on;
    $("lnm").disabled = on;
  });
}

const sevRank = { info: 1, warning: 2, error: 3 };

function showSource(file, findings, flashLine) {
  const code = $("code");
  code.replaceChildren();
  code.dataset.file = file;
  const marks = {};
  for (const f of findings) {
    if (f.file !== file) continue;
    if (!marks[f.line] || sevRank[f.severity] > sevRank[marks[f.line]]) marks[f.line] = f.severity;
  }
  const lines = (lastFiles[file] || "").split("\n");
  lines.forEach((text, i) => {
    const n = i + 1;
    const span = el("span", { class: "line", "data-line": String(n), textContent: text || " " });
    if (marks[n]) span.classList.add("hl-" + marks[n]);
    code.append(span);
  });
  for (const b of $("source-tabs").children) b.setAttribute("aria-pressed", String(b.textContent === file));
  if (flashLine) {
    const target = code.querySelector(`.line[data-line="${flashLine}"]`);
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.classList.add("flash");
      setTimeout(() => target.classList.remove("flash"), 1500);
    }
  }
}

function render(resp) {
  const list = $("findings");
  list.replaceChildren();
  $("summary").replaceChildren();
  if (resp.error) {
    $("summary").append(el("div", { class: "error-box", textContent: resp.error }));
    return;
  }
  const rep = resp.report;
  const findings = rep.findings || [];
  const errors = rep.errors || [];
  const counts = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  $("summary").append(el("p", {
    textContent: `${findings.length} finding(s): ${counts.error} error, ${counts.warning} warning, ${counts.info} info; ` +
      `${errors.length} configuration error(s). Checked as: nginx ${rep.profile.nginx}, lua-nginx-module ${rep.profile.lua_nginx_module}` +
      (rep.profile.openresty ? `, OpenResty ${rep.profile.openresty}` : "") + "."
  }));
  for (const e of errors) {
    list.append(el("li", { class: "finding load-error", "data-file": e.file, "data-line": String(e.line) },
      el("span", { class: "pos", textContent: `${e.file}:${e.line}:${e.column} ` }),
      el("span", { class: "sev-error", textContent: "configuration error" }), ": " + e.message));
  }
  findings.forEach((f, i) => {
    const li = el("li", { class: "finding", "data-rule": f.rule, "data-file": f.file, "data-line": String(f.line), "data-status": f.confirmation.status },
      el("span", { class: "pos", textContent: `${f.file}:${f.line}:${f.column} ` }),
      el("span", { class: "sev-" + f.severity, textContent: f.severity }),
      `: ${f.message} [${f.rule} ${f.slug}]`);
    if (f.details) {
      li.append(el("details", { class: "why" }, el("summary", { textContent: "why" }), el("p", { textContent: f.details })));
    }
    for (const r of f.related || []) {
      li.append(el("span", { class: "related", textContent: `${r.file}:${r.line}:${r.column}: ${r.message}` }));
    }
    const c = f.confirmation;
    if (c.status && c.status !== "not-run") {
      li.append(el("span", { class: "conf conf-" + c.status, textContent: `${c.status}: ${c.summary || c.reason || ""}` + (c.profile ? ` (${c.profile})` : "") }));
    }
    const trace = (resp.traces || [])[i];
    if (trace) {
      li.append(el("details", {}, el("summary", { textContent: "emulator trace" }), el("pre", { textContent: trace })));
    }
    li.addEventListener("click", (ev) => {
      if (ev.target.closest("details")) return; // opening the why or the trace
      showSource(f.file, findings, f.line);
    });
    list.append(li);
  });
  const tabs = $("source-tabs");
  tabs.replaceChildren();
  for (const name of Object.keys(lastFiles)) {
    const b = el("button", { type: "button", textContent: name });
    b.addEventListener("click", () => showSource(name, findings));
    tabs.append(b);
  }
  showSource(Object.keys(lastFiles)[0], findings);
}

async function runCheck() {
  const { files, main } = currentFiles();
  if (!main) {
    $("status").textContent = "add a file first";
    return;
  }
  lastFiles = files;
  $("run").disabled = true;
  $("status").textContent = $("confirm").checked ? "checking and confirming…" : "checking…";
  const t0 = performance.now();
  try {
    const out = await globalThis.ngxlintCheck(JSON.stringify({ files, main, versions: versionsSpec(), confirm: $("confirm").checked }));
    render(JSON.parse(out));
    $("status").textContent = `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  } catch (e) {
    $("status").textContent = "failed: " + e;
  } finally {
    $("run").disabled = false;
  }
}

async function start() {
  addFile("nginx.conf", "");
  $("add-file").addEventListener("click", () => addFile("lua/new.lua", ""));
  $("load-seed").addEventListener("click", async () => {
    const text = await (await fetch("example.conf")).text();
    $("files").firstElementChild.querySelector("textarea").value = text;
  });
  $("run").addEventListener("click", runCheck);
  const go = new Go();
  const ready = new Promise((resolve) => document.addEventListener("ngxlint-ready", resolve, { once: true }));
  const { instance } = await WebAssembly.instantiateStreaming(fetch("ngxlint.wasm"), go.importObject);
  go.run(instance);
  await ready;
  fillVersions();
  $("run").disabled = false;
  $("status").textContent = "ready";
  document.body.dataset.ready = "true";
}

start().catch((e) => { $("status").textContent = "could not start ngxlint: " + e; });
