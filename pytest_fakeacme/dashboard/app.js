// The dashboard: reads and steers the fake through its management API (the page adds no
// second code path). Polls a cheap version number and redraws only when it changes.
"use strict";
(function () {
  const base = location.pathname.replace(/\/ui\/?$/, "");
  const pageSize = 25;
  let offset = 0;
  let lastVersion = null;
  const openDiagrams = new Set();  // orders whose conversation is unfolded, kept across redraws

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value; else node.setAttribute(key, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    };
    const answer = await fetch(base + path, options);
    const kind = answer.headers.get("Content-Type") || "";
    const data = kind.startsWith("application/json") ? await answer.json() : await answer.text();
    if (!answer.ok) throw new Error((data && data.error) || answer.statusText);
    return data;
  }

  function say(text, bad) {
    const node = $("message");
    node.textContent = text;
    node.style.color = bad ? "var(--bad)" : "var(--ok)";
  }

  function status(value) { return el("span", {"class": "status " + value}, value); }

  function timeline(history) {
    const node = el("span", {"class": "timeline", "aria-label": "history: " + history.join(" to ")});
    history.forEach((step, index) => {
      if (index) node.append(el("span", {"class": "arrow", "aria-hidden": "true"}, "→"));
      node.append(status(step));
    });
    return node;
  }

  function describe(outcome) {
    const params = Object.entries(outcome.params || {}).map(([k, v]) => k + "=" + JSON.stringify(v));
    let text = outcome.kind + "(" + params.join(", ") + ")";
    const after = outcome.after;
    if (after) {
      const held = [];
      if (after.polls) held.push("polls=" + after.polls);
      if (after.seconds) held.push("seconds=" + after.seconds);
      text += ".after(" + held.join(", ") + ")";
    }
    return text;
  }

  // "2026-12-02T03:09:12.647920+00:00" as "2026-12-02 03:09:12 UTC": what a person reads.
  function human(iso) {
    const when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    return when.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  async function drawDiagram(orderId, holder) {
    try {
      const svg = await api("/diagram?order=" + encodeURIComponent(orderId));
      holder.innerHTML = svg;  // an SVG document our own server drew, its text escaped there
    } catch (error) {
      holder.textContent = "No diagram: " + error.message;
    }
  }

  function conversation(orderId) {
    const holder = el("div", {"class": "diagram", "role": "group",
                              "aria-label": "Sequence diagram of order " + orderId});
    const details = el("details", {"class": "conversation", "data-order": orderId},
                       el("summary", {}, "Conversation"), holder);
    if (openDiagrams.has(orderId)) {
      details.open = true;
      drawDiagram(orderId, holder);
    }
    details.addEventListener("toggle", () => {
      if (details.open) { openDiagrams.add(orderId); drawDiagram(orderId, holder); }
      else openDiagrams.delete(orderId);
    });
    return details;
  }

  function drawOrders(data) {
    const list = $("orders");
    list.replaceChildren();
    $("order-count").textContent = "(" + data.total + ")";
    const last = Math.min(data.offset + data.limit, data.total);
    $("page").textContent = data.total ? (data.offset + 1) + "–" + last + " of " + data.total : "none yet";
    $("newer").disabled = data.offset === 0;
    $("older").disabled = last >= data.total;
    for (const order of data.orders) {
      const item = el("li", {"data-order": order.id, "data-status": order.status});
      item.append(el("div", {"class": "order-head"},
        el("strong", {}, order.identifiers.join(", ")), timeline(order.history),
        el("small", {}, "order " + order.id)));
      for (const authz of order.authorizations) {
        const row = el("div", {"class": "authz"}, "authorization " + authz.identifier + " ",
                       timeline(authz.history));
        item.append(row);
        for (const chall of authz.challenges) {
          if (chall.status === "pending" && authz.challenges.length > 1) continue;
          item.append(el("div", {"class": "authz"}, chall.type + " ", timeline(chall.history)));
          if (chall.error) {
            item.append(el("div", {"class": "problem", "data-problem": chall.error.type},
              el("strong", {}, chall.error.type.replace("urn:ietf:params:acme:error:", "") +
                 " (" + chall.error.status + "): "), chall.error.detail));
          }
        }
      }
      if (order.certificate) {
        const cert = order.certificate;
        item.append(el("div", {"class": "cert"},
          "certificate " + cert.serial + " for " + cert.names.join(", ") + ", valid " +
          human(cert.not_before) + " to " + human(cert.not_after) +
          (cert.revoked ? " (revoked) " : " "),
          el("a", {href: base + "/certificate?id=" + encodeURIComponent(cert.id)}, "PEM")));
      }
      item.append(conversation(order.id));
      list.append(item);
    }
  }

  // Buckets that are not full, and who is paused for what, each with an Unpause button.
  function drawLimits(limits) {
    if (!limits.on) {
      $("limits").replaceChildren(el("li", {}, "off (the setting rate_limits)"));
      return;
    }
    const items = limits.buckets.map((b) => el("li", {"data-limit": b.limit},
      b.limit + " " + b.key + ": " + b.remaining + " of " + limits.limits[b.limit].burst +
      " left, full at " + human(b.full_at)));
    for (const pause of limits.paused) {
      const button = el("button", {type: "button", "data-account": pause.account,
                                   "data-identifier": pause.identifier}, "Unpause");
      button.addEventListener("click", () => steer(async () => {
        await api("/limits/unpause", {account: pause.account, identifier: pause.identifier});
        say("Unpaused " + pause.identifier);
      }));
      items.push(el("li", {"class": "paused"}, "paused: account " + pause.account + " for " +
                    pause.identifier + " ", button));
    }
    $("limits").replaceChildren(...(items.length ? items : [el("li", {}, "on, every bucket full")]));
  }

  async function refresh(force) {
    try {
      const [now, clock] = await Promise.all([api("/version"), api("/clock")]);
      $("clock").textContent = human(clock.now) + (clock.frozen ? " (frozen)" : "");
      if (!force && now.version === lastVersion) return;
      lastVersion = now.version;
      const [index, orders, va, faults, state, transcript, limits] = await Promise.all([
        api("/"), api("/orders?offset=" + offset + "&limit=" + pageSize), api("/va"),
        api("/faults"), api("/accounts"), api("/transcript?last=300"), api("/limits"),
      ]);
      drawLimits(limits);
      $("where").textContent = "directory " + index.directory + " · http-01 port " +
        index.http01_port + " · flavor " + index.flavor;
      drawOrders(orders);
      $("default-outcome").textContent = describe(va.default);
      const scripts = Object.entries(va.scripted);
      $("scripts").replaceChildren(...(scripts.length ? scripts.map(([name, queue]) =>
        el("li", {}, name + ": " + queue.map(describe).join(", "))) : [el("li", {}, "none")]));
      $("faults").replaceChildren(...(faults.faults.length ? faults.faults.map((f) =>
        el("li", {}, (f.spec || f.kind + (f.problem ? " " + f.problem.type.split(":").pop() : "")) +
           (f.endpoint ? "" : " on every endpoint") +
           (f.times ? " (" + f.fired + "/" + f.times + ")" : ""))) : [el("li", {}, "none")]));
      $("accounts").replaceChildren(...(state.accounts.length ? state.accounts.map((a) =>
        el("li", {}, a.id + " ", status(a.status), " " + (a.contact.join(", ") || "no contact")))
        : [el("li", {}, "none")]));
      const pre = $("transcript");
      pre.textContent = transcript;
      pre.scrollTop = pre.scrollHeight;  // the end: what just happened
    } catch (error) {
      $("where").textContent = "Not connected: " + error.message;
    }
  }

  async function steer(action) {
    try { await action(); await refresh(true); } catch (error) { say(error.message, true); }
  }

  $("script-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    let params = {};
    const text = form.params.value.trim();
    if (text) {
      try { params = JSON.parse(text); } catch (error) { say("Parameters are not JSON", true); return; }
    }
    const outcome = {kind: form.kind.value, params: params};
    const polls = Number(form.polls.value || 0);
    if (polls > 0) outcome.after = {polls: polls};
    steer(async () => {
      await api("/va/script", {identifier: form.identifier.value, outcomes: [outcome]});
      say("Scripted " + describe(outcome) + " for " + form.identifier.value);
    });
  });
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    steer(async () => { await api("/faults", {spec: event.target.spec.value});
                        say("Fault injected"); });
  });
  $("clock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    steer(async () => { await api("/clock/advance", {[form.unit.value]: Number(form.amount.value)});
                        say("Clock advanced"); });
  });
  $("reset").addEventListener("click", () => steer(async () => {
    await api("/reset", {}); offset = 0; say("Reset");
  }));
  $("newer").addEventListener("click", () => { offset = Math.max(0, offset - pageSize); refresh(true); });
  $("older").addEventListener("click", () => { offset += pageSize; refresh(true); });

  api("/outcomes").then((data) => {
    $("script-kind").replaceChildren(...Object.entries(data.outcomes).map(([name, info]) =>
      el("option", {value: name, title: info.doc}, name)));
    $("script-kind").value = "http_status";
  });
  api("/fault-kinds").then((data) => {
    $("fault-names").replaceChildren(...Object.entries(data.faults).map(([name, info]) =>
      el("option", {value: name, label: name + " (" + info.params.join(", ") + "): " + info.doc})));
  });
  refresh(true);
  setInterval(refresh, 1000);
})();
