// Orbit dashboard: polls the node API and drives the playground.
// Plain JavaScript, no dependencies, no build step.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  // The API key is never kept by the page nor taken from the URL (URLs
  // land in histories and logs): the key box sends it once to
  // /api/v1/session, which sets an HttpOnly, SameSite=Strict cookie that
  // authorizes the dashboard's later requests.
  const state = { last: null, running: null };
  localStorage.removeItem("orbit-api-key"); // kept there by older dashboards
  const POLL_MS = 2000;

  function headers(extra) {
    return Object.assign({}, extra || {});
  }

  async function getJSON(path) {
    const r = await fetch(path, { headers: headers(), cache: "no-store" });
    if (r.status === 401) { $("key-box").hidden = false; throw new Error("API key required"); }
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }

  function fmtUptime(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + "d " : "") + (h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  }
  const spanText = (s) => "[" + s.start + "," + s.end + ")";

  // Peer IDs (52 characters) show as their first and last 6; the full ID
  // is the title and what the copy button copies.
  const shortID = (id) => (id && id.length > 14 ? id.slice(0, 6) + "…" + id.slice(-6) : id || "");
  async function copyText(text, btn) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
      } else {
        const ta = el("textarea", { class: "offscreen", readonly: "" });
        ta.value = text;
        document.body.append(ta);
        ta.select();
        document.execCommand("copy");
        ta.remove();
      }
      btn.textContent = "copied";
    } catch (e) {
      btn.textContent = "copy failed";
    }
    setTimeout(() => { btn.textContent = "copy"; }, 1500);
  }
  function peerLabel(id) {
    const btn = el("button", { type: "button", class: "copy", title: "copy the peer ID", "data-copy": id, text: "copy" });
    btn.addEventListener("click", (ev) => { ev.preventDefault(); copyText(id, btn); });
    return el("span", { class: "pid" }, el("span", { class: "pid-text", title: id, "data-full": id, text: shortID(id) }), " ", btn);
  }

  // Bytes as the orbit CLI prints them: 1.5 MiB.
  function fmtBytes(n) {
    if (n < 1024) return Math.round(n) + " B";
    let div = 1024, exp = 0;
    for (let m = n / 1024; m >= 1024 && exp < 4; m /= 1024) { div *= 1024; exp++; }
    return (n / div).toFixed(1) + " " + "KMGTP"[exp] + "iB";
  }
  function fmtDuration(s) {
    s = Math.round(s);
    if (s < 60) return s + "s";
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + "h" : "") + m + "m" + (s % 60) + "s";
  }

  // Imports and fetches of weights, each with a progress bar.
  function renderTransfers(transfers) {
    const box = $("transfers");
    $("transfers-box").hidden = transfers.length === 0;
    box.replaceChildren(...transfers.map((t) => {
      const running = t.phase === "importing" || t.phase === "fetching";
      let what = t.kind === "import" ? "import " + t.file + (t.model ? " → " + t.model : "")
        : "fetch " + t.model + " blocks " + spanText(t) + (t.embed ? " + embedding" : "") + (t.head ? " + head" : "");
      const frac = t.total_bytes > 0 ? Math.min(1, t.done_bytes / t.total_bytes) : (t.phase === "done" ? 1 : 0);
      let text;
      if (running) {
        text = (frac * 100).toFixed(1) + "% · " + fmtBytes(t.done_bytes) + " / " + (t.total_bytes > 0 ? fmtBytes(t.total_bytes) : "?") +
          " · " + fmtBytes(t.bytes_per_second) + "/s · ETA " + (t.eta_seconds > 0 ? fmtDuration(t.eta_seconds) : "--");
      } else if (t.phase === "done") {
        text = "done · " + fmtBytes(t.total_bytes) + " in " + fmtDuration(t.elapsed_seconds) + (t.bytes_per_second ? " · " + fmtBytes(t.bytes_per_second) + "/s" : "");
      } else {
        text = "failed after " + fmtBytes(t.done_bytes) + ": " + (t.error || "unknown error");
      }
      const bar = el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": (frac * 100).toFixed(1) },
        el("div", { class: "fill", style: "width:" + (frac * 100).toFixed(1) + "%" }));
      return el("div", { class: "transfer " + t.phase, "data-kind": t.kind, "data-phase": t.phase },
        el("div", { class: "what", text: what }), bar, el("div", { class: "progress-text", text: text }));
    }));
  }

  // Checks by recomputation: counters, banned peers, latest disputes.
  function renderVerify(v) {
    $("verify-box").hidden = !v;
    if (!v) return;
    const short = (id) => id && id.length > 16 ? id.slice(0, 8) + "…" + id.slice(-6) : (id || "–");
    const reports = Object.entries(v.reports || {}).map(([k, n]) => n + " " + k).join(", ");
    const kids = [el("div", { class: "verify-counts", text: v.checks + " checks · " + v.mismatches + " mismatches" + (reports ? " · reports: " + reports : "") })];
    for (const b of v.banned || []) {
      kids.push(el("div", { class: "banned", "data-peer": b.peer,
        text: "banned " + short(b.peer) + " [" + b.start + "," + b.end + ") · " + (b.source === "report" ? "reported by " + short(b.reporter) : "caught by this node") }));
    }
    for (const d of (v.disputes || []).slice(-5).reverse()) {
      kids.push(el("div", { class: "dispute",
        text: "[" + d.start + "," + d.end + ") from position " + d.pos + ": " + short(d.accused) + " vs " + short(d.verifier) +
          (d.judge ? ", judge " + short(d.judge) : "") + " → " + (d.liar ? "liar " + short(d.liar) : "undecided") + (d.published ? " · report published" : "") }));
    }
    $("verify").replaceChildren(...kids);
  }

  // One table per model: coverage row, this node's row, one row per peer.
  function renderModels(status, peers, models) {
    const box = $("models");
    box.replaceChildren();
    const rows = [{ id: status.peer_id, spans: status.spans || [], self: true, throughput: null, rtt: null }]
      .concat(peers.map((p) => ({ id: p.id, spans: p.spans || [], self: false, throughput: p.throughput, rtt: p.rtt_ms, addrs: p.addrs || [] })));
    for (const m of models) {
      const table = el("table", { class: "spans", "data-model": m.id });
      const head = el("tr", { class: "coverage" }, el("th", { text: "coverage" }));
      for (let b = 0; b < m.blocks; b++) {
        const c = (m.coverage || [])[b] || 0;
        head.append(el("td", { class: "blk cov" + Math.min(c, 2), title: "block " + b + ": " + c + " peer(s)", text: String(c) }));
      }
      head.append(el("td", { class: "meta", text: m.blocks + " blocks, context " + m.context_length }));
      table.append(head);
      if (m.throughput && m.throughput.length === m.blocks) {
        // The swarm's capacity per block; the weakest block bounds it.
        const weakest = Math.min(...m.throughput);
        const tp = el("tr", { class: "throughput" }, el("th", { text: "tok/s per block",
          title: "the swarm's capacity at each block: the summed throughput of the peers serving it, in tokens/s" }));
        for (let b = 0; b < m.blocks; b++) {
          const v = m.throughput[b];
          tp.append(el("td", { class: "blk tp" + (v === weakest ? " weakest" : ""), title: "block " + b + ": " + v.toFixed(1) + " tokens/s", text: v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k" : v >= 100 ? v.toFixed(0) : v.toFixed(1) }));
        }
        tp.append(el("td", { class: "meta", text: "bottleneck " + weakest.toFixed(1) + " tok/s per block" }));
        table.append(tp);
      }
      for (const r of rows) {
        const spans = r.spans.filter((s) => s.model === m.id);
        if (!r.self && spans.length === 0) continue;
        const tr = el("tr", { class: "peer" + (r.self ? " self" : ""), "data-peer": r.id });
        tr.append(el("th", {}, r.self ? "★ " : null, peerLabel(r.id)));
        for (let b = 0; b < m.blocks; b++) {
          const on = spans.some((s) => b >= s.start && b < s.end);
          tr.append(el("td", { class: "blk" + (on ? " on" : ""), title: "block " + b }));
        }
        let meta = spans.map(spanText).join(" ") || "no span";
        if (r.self) meta += " · this node";
        if (r.throughput) meta += " · " + r.throughput.toFixed(1) + " tok/s per peer";
        if (r.rtt) meta += " · rtt " + r.rtt.toFixed(1) + " ms";
        tr.append(el("td", { class: "meta span-text", text: meta,
          title: "tok/s per peer: tokens per second through the peer's whole span (its per-block rate over its blocks)" }));
        table.append(tr);
      }
      box.append(el("div", { class: "model" },
        el("h3", {}, m.name || m.id, " ", el("small", { title: m.id, text: m.name ? shortID(m.id) : "" })), table));
    }
  }

  function renderModelSelect(models) {
    const sel = $("model");
    const want = params.get("model") || sel.value;
    if (sel.options.length === models.length && [...sel.options].every((o, i) => o.value === models[i].id)) return;
    sel.replaceChildren(...models.map((m) => el("option", { value: m.id, title: m.id, text: m.name || m.id })));
    if (want && models.some((m) => m.id === want)) sel.value = want;
  }

  async function renderRoute(model) {
    if (!model) return;
    try {
      const r = await getJSON("/api/v1/route?model=" + encodeURIComponent(model));
      $("route").replaceChildren(...r.hops.map((h) => el("li", { "data-peer": h.peer },
        peerLabel(h.peer), " " + spanText(h) + (h.local ? " (this node)" : "") + (h.rtt_ms ? " · rtt " + h.rtt_ms.toFixed(1) + " ms" : ""))));
    } catch (e) {
      $("route").replaceChildren(el("li", { class: "error", text: String(e.message || e) }));
    }
  }

  // A sparkline of values (oldest first) as an SVG polyline, scaled to
  // the largest value; the last point is marked.
  function sparkline(svg, values) {
    const w = 240, h = 48, pad = 3;
    const top = Math.max(...values, 0) || 1;
    const xs = (i) => pad + (values.length > 1 ? i * (w - 2 * pad) / (values.length - 1) : 0);
    const ys = (v) => h - pad - (v / top) * (h - 2 * pad);
    const pts = values.map((v, i) => xs(i).toFixed(1) + "," + ys(v).toFixed(1)).join(" ");
    const line = document.createElementNS(svg.namespaceURI, "polyline");
    line.setAttribute("points", pts);
    line.setAttribute("class", "spark-line");
    const kids = [line];
    if (values.length) {
      const dot = document.createElementNS(svg.namespaceURI, "circle");
      dot.setAttribute("cx", xs(values.length - 1).toFixed(1));
      dot.setAttribute("cy", ys(values[values.length - 1]).toFixed(1));
      dot.setAttribute("r", "2.5");
      dot.setAttribute("class", "spark-dot");
      kids.push(dot);
    }
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("data-points", String(values.length));
    svg.setAttribute("data-max", top.toFixed(3));
    svg.replaceChildren(...kids);
  }

  // Tokens/s and latency over the last minutes (/api/v1/history).
  function renderHistory(hist) {
    const s = hist.samples || [];
    const tps = s.map((x) => x.tokens_per_s), lat = s.map((x) => x.latency_ms);
    sparkline($("spark-tokens"), tps);
    sparkline($("spark-latency"), lat);
    const mins = Math.round(s.length * hist.interval_s / 60);
    $("history-span").textContent = "last " + mins + " min, " + hist.interval_s + " s intervals";
    const lastTps = tps.length ? tps[tps.length - 1] : 0;
    const seen = lat.filter((v) => v > 0);
    $("hist-tokens").textContent = lastTps.toFixed(1) + " tok/s now · peak " + Math.max(0, ...tps).toFixed(1);
    $("hist-latency").textContent = seen.length ? seen[seen.length - 1].toFixed(1) + " ms/token last · peak " + Math.max(...seen).toFixed(1) : "no generations yet";
  }

  // KV-cache use per server (/api/v1/kv).
  function renderKV(kv) {
    const rows = kv.servers || [];
    $("kv-box").hidden = rows.length === 0;
    $("kv").replaceChildren(...rows.map((u) => {
      const known = u.budget_tokens > 0;
      const frac = known ? Math.min(1, u.used_tokens / u.budget_tokens) : 0;
      const bar = el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": (frac * 100).toFixed(1) },
        el("div", { class: "fill", style: "width:" + (frac * 100).toFixed(1) + "%" }));
      const text = known
        ? u.used_tokens + " / " + u.budget_tokens + " positions (" + (frac * 100).toFixed(1) + "%) · " + fmtBytes(u.used_bytes) + " / " + fmtBytes(u.budget_bytes)
        : "not reported";
      return el("tr", { class: "kv-row" + (u.self ? " self" : ""), "data-peer": u.peer, "data-model": u.model },
        el("th", {}, u.self ? "★ " : null, peerLabel(u.peer)),
        el("td", { class: "kv-span", text: spanText(u) }),
        el("td", { class: "kv-sessions", text: u.sessions >= 0 ? u.sessions + " session" + (u.sessions === 1 ? "" : "s") : "?" }),
        el("td", { class: "kv-bar" }, bar),
        el("td", { class: "kv-text", text: text }));
    }));
  }

  async function poll() {
    try {
      const [status, peers, models, hist, kv] = await Promise.all([
        getJSON("/api/v1/status"), getJSON("/api/v1/peers"), getJSON("/api/v1/models"),
        getJSON("/api/v1/history"), getJSON("/api/v1/kv")]);
      const now = performance.now();
      if (state.last) {
        const dt = (now - state.last.t) / 1000;
        if (dt > 0) {
          $("req-rate").textContent = ((status.requests - state.last.requests) / dt).toFixed(2);
          $("tok-rate").textContent = ((status.tokens_generated - state.last.tokens) / dt).toFixed(1);
        }
      }
      state.last = { t: now, requests: status.requests, tokens: status.tokens_generated };
      $("node-id").replaceChildren(peerLabel(status.peer_id));
      $("node-version").textContent = status.version || "dev";
      $("node-uptime").textContent = fmtUptime(status.uptime_seconds);
      const l = status.load || {};
      $("load").textContent = (l.active || 0) + " running, " + (l.queued || 0) + " queued";
      $("tokens-total").textContent = status.tokens_generated;
      const sp = status.speculation;
      $("speculation").textContent = sp ? (100 * sp.acceptance_rate).toFixed(0) + "% kept · " +
        sp.tokens_per_pass.toFixed(2) + " tok/pass · " + (sp.saved_ms / 1000).toFixed(1) + " s saved" : "off";
      $("peer-count").textContent = peers.peers.length;
      renderTransfers(status.transfers || []);
      renderVerify(status.verify);
      renderModels(status, peers.peers, models.models);
      renderModelSelect(models.models);
      renderHistory(hist);
      renderKV(kv);
      await renderRoute($("model").value);
      $("conn").textContent = "connected";
      $("conn").className = "conn ok";
      return models.models;
    } catch (e) {
      $("conn").textContent = "disconnected: " + (e.message || e);
      $("conn").className = "conn bad";
      return null;
    }
  }

  // Playground: a streamed /v1/completions request.
  async function run(ev) {
    if (ev) ev.preventDefault();
    if (state.running) return;
    const out = $("output"), st = $("pg-status");
    out.textContent = "";
    out.removeAttribute("data-done");
    st.textContent = "generating…";
    const ctrl = new AbortController();
    state.running = ctrl;
    $("run").disabled = true;
    $("stop").disabled = false;
    const body = {
      model: $("model").value || undefined,
      prompt: $("prompt").value,
      max_tokens: parseInt($("max-tokens").value, 10) || 64,
      temperature: parseFloat($("temperature").value),
      stream: true,
      stream_options: { include_usage: true },
    };
    const t0 = performance.now();
    let finish = "", usage = null;
    try {
      const r = await fetch("/v1/completions", {
        method: "POST", headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(body), signal: ctrl.signal,
      });
      if (!r.ok) {
        let msg = "HTTP " + r.status;
        try { msg = (await r.json()).error.message; } catch (_) { /* not JSON */ }
        throw new Error(msg);
      }
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "", done = false;
      while (!done) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
          if (!data) continue;
          if (data === "[DONE]") { done = true; break; }
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.usage) usage = chunk.usage;
          for (const c of chunk.choices || []) {
            out.textContent += c.text || "";
            if (c.finish_reason) finish = c.finish_reason;
          }
        }
      }
      const secs = (performance.now() - t0) / 1000;
      const n = usage ? usage.completion_tokens : 0;
      st.textContent = "finish: " + (finish || "?") + (usage ? " · " + n + " tokens · " + (n / secs).toFixed(1) + " tok/s" : "");
      out.setAttribute("data-done", "1");
    } catch (e) {
      st.textContent = ctrl.signal.aborted ? "stopped" : "error: " + (e.message || e);
      st.className = "pg-status" + (ctrl.signal.aborted ? "" : " error");
    } finally {
      state.running = null;
      $("run").disabled = false;
      $("stop").disabled = true;
    }
  }

  $("playground").addEventListener("submit", run);
  $("stop").addEventListener("click", () => state.running && state.running.abort());
  $("key-save").addEventListener("click", async () => {
    const key = $("api-key").value.trim();
    $("api-key").value = "";
    const r = await fetch("/api/v1/session", { method: "POST", headers: { "Authorization": "Bearer " + key }, cache: "no-store" });
    if (!r.ok) { $("key-box").hidden = false; return; }
    $("key-box").hidden = true;
    poll();
  });

  if (params.has("prompt")) $("prompt").value = params.get("prompt");
  if (params.has("max_tokens")) $("max-tokens").value = params.get("max_tokens");
  if (params.has("temperature")) $("temperature").value = params.get("temperature");

  poll().then((models) => {
    if (params.get("autorun") === "1" && models) run();
    setInterval(poll, POLL_MS);
  });
})();
