// The rag-cite chat page: plain JavaScript, no build step, nothing loaded from elsewhere.
// It speaks the same API as any client: /v1/chat/completions (streamed), /v1/documents.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "rag-cite-api-key";
const history = [];          // [{role, content}] sent with each question, for follow-ups
const texts = new Map();     // source id -> stored text (for highlighting)

function headers(extra = {}) {
  const key = localStorage.getItem(KEY);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function askKey() {
  return new Promise((resolve) => {
    const dialog = $("key-dialog");
    $("key-input").value = localStorage.getItem(KEY) || "";
    dialog.onclose = () => {
      if (dialog.returnValue === "save") {
        const value = $("key-input").value.trim();
        if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY);
        resolve(true);
      } else resolve(false);
    };
    dialog.showModal();
  });
}

// fetch with the key; on 401, ask for a key once and try again.
async function api(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
    if (response.status === 401 && attempt === 0 && (await askKey())) continue;
    return response;
  }
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.error ? body.error.message : JSON.stringify(body);
  } catch (e) {
    return `${response.status} ${response.statusText}`;
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function addMessage(kind, text) {
  const node = el("div", { class: `msg ${kind}` }, el("div", { class: "text" }, text));
  $("messages").append(node);
  node.scrollIntoView({ block: "end" });
  return node;
}

// -- sources --------------------------------------------------------------------------------

async function showCitation(citation, button) {
  document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
  if (button) button.classList.add("active");
  const viewer = $("viewer");
  let text = texts.get(citation.source_id);
  if (text === undefined) {
    const response = await api(`/v1/documents/${encodeURIComponent(citation.source_id)}/text`);
    if (!response.ok) {
      viewer.textContent = await errorMessage(response);
      return;
    }
    text = (await response.json()).text;
    texts.set(citation.source_id, text);
  }
  $("viewer-name").textContent = `${citation.source.split(/[\\/]/).pop()} : ${citation.start}–${citation.end}`;
  viewer.classList.remove("muted");
  const mark = el("mark", { "data-marker": String(citation.marker) }, text.slice(citation.start, citation.end));
  viewer.replaceChildren(text.slice(0, citation.start), mark, text.slice(citation.end));
  mark.scrollIntoView({ block: "center" });
}

// The answer with its [n] markers as buttons, flagged sentences marked, and the numbered sources.
function renderAnswer(node, rag) {
  const byMarker = new Map(rag.citations.map((c) => [c.marker, c]));
  const flagged = new Set((rag.sentences || []).filter((s) => !s.supported).map((s) => s.text));
  const body = el("div", { class: "text" });
  const cite = (marker) => {
    const citation = byMarker.get(marker);
    if (!citation) return `[${marker}]`;
    const button = el("button", { class: "cite", type: "button", title: citation.text }, `[${citation.marker}]`);
    button.addEventListener("click", () => showCitation(citation, button));
    return button;
  };
  if (rag.sentences && rag.sentences.length && !rag.abstained) {
    // a language model's answer: sentence by sentence, with the checker's verdict on each
    const joiner = rag.language === "zh" ? "" : " ";
    rag.sentences.forEach((s, i) => {
      if (i) body.append(joiner);
      const span = el("span", s.supported ? {} : { class: "flagged", title: `not supported by the cited passages: ${s.reason}` }, s.text);
      body.append(span, ...s.citations.map(cite));
    });
  } else {
    for (const part of rag.answer.split(/(\[\d+\])/)) {
      const m = /^\[(\d+)\]$/.exec(part);
      if (m) body.append(cite(Number(m[1])));
      else if (part) body.append(part);
    }
  }
  if (flagged.size) body.classList.add("has-flagged");
  node.replaceChildren(body);
  node.classList.toggle("abstained", rag.abstained);
  if (rag.citations.length) {
    const list = el("ol", { class: "sources" });
    for (const c of rag.citations) {
      const link = el("a", { title: "show in the document" }, `${c.source.split(/[\\/]/).pop()}:${c.start}-${c.end}`);
      link.addEventListener("click", () => showCitation(c, null));
      list.append(el("li", { value: String(c.marker) }, link, ` “${c.text.length > 90 ? c.text.slice(0, 89) + "…" : c.text}”`));
    }
    node.append(list);
  }
  const meta = [`answered by ${rag.generator}`];
  if (rag.standalone_question) meta.push(`searched for: ${rag.standalone_question}`);
  if (flagged.size) meta.push(`${flagged.size} sentence(s) not supported by the sources`);
  if (rag.abstained && rag.reason) meta.push(rag.reason);
  for (const note of rag.notes || []) meta.push(note);
  node.append(el("div", { class: "meta" }, meta.join(" · ")));
}

// -- asking ---------------------------------------------------------------------------------

async function ask(question) {
  addMessage("user", question);
  const node = addMessage("assistant", "…");
  const textNode = node.querySelector(".text");
  $("ask").disabled = true;
  try {
    const response = await api("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "rag-cite", stream: true, messages: [...history, { role: "user", content: question }] }),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", shown = "", rag = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut).trim();
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data:")) continue;
        const data = event.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.rag) rag = chunk.rag;
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && delta.content) {
          shown += delta.content;
          textNode.textContent = shown;
          node.scrollIntoView({ block: "end" });
        }
      }
    }
    if (!rag) throw new Error("the answer ended without its citations");
    renderAnswer(node, rag);
    history.push({ role: "user", content: question }, { role: "assistant", content: rag.answer });
  } catch (error) {
    node.classList.add("error");
    textNode.textContent = String(error.message || error);
  } finally {
    $("ask").disabled = false;
    node.scrollIntoView({ block: "end" });
  }
}

// -- documents ------------------------------------------------------------------------------

async function refreshDocuments() {
  const response = await api("/v1/documents");
  if (!response.ok) {
    $("status").textContent = await errorMessage(response);
    return;
  }
  const body = await response.json();
  const list = $("documents");
  list.replaceChildren();
  for (const doc of body.documents) {
    const remove = el("button", { class: "link", type: "button", title: "remove from the index" }, "remove");
    remove.addEventListener("click", async () => {
      if (!confirm(`Remove ${doc.name} from the index?`)) return;
      const r = await api(`/v1/documents/${encodeURIComponent(doc.id)}`, { method: "DELETE" });
      $("upload-status").textContent = r.ok ? `removed ${doc.name}` : await errorMessage(r);
      texts.delete(doc.id);
      refreshDocuments();
    });
    list.append(el("li", {}, el("span", { title: doc.source }, `${doc.name} (${doc.chunks} chunks)`), remove));
  }
  $("status").textContent = body.documents.length ? `${body.documents.length} document(s) · index ${body.index_version}` : "no documents yet: upload some";
}

async function upload(event) {
  event.preventDefault();
  const files = $("files").files;
  if (!files.length) return;
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  $("upload").disabled = true;
  $("upload-status").textContent = `ingesting ${files.length} file(s)…`;
  try {
    const response = await api("/v1/documents", { method: "POST", body: form });
    if (!response.ok) {
      $("upload-status").textContent = await errorMessage(response);
      return;
    }
    const body = await response.json();
    const done = body.documents.map((d) => `${d.name}: ${d.status}, ${d.chunks} chunks`);
    const skipped = body.skipped.map((s) => `${s.name}: ${s.reason}`);
    $("upload-status").textContent = [...done, ...skipped].join("; ");
    for (const d of body.documents) texts.delete(d.id);
    $("files").value = "";
    refreshDocuments();
  } finally {
    $("upload").disabled = false;
  }
}

$("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("question").value = "";
  ask(question);
});
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("ask-form").requestSubmit();
  }
});
$("new-chat").addEventListener("click", () => {
  history.length = 0;
  $("messages").replaceChildren();
});
$("upload-form").addEventListener("submit", upload);
$("key-button").addEventListener("click", async () => { if (await askKey()) refreshDocuments(); });
refreshDocuments();
