/* The dashboard's behaviour on top of htmx: JSON bodies for the documented operations it calls, a
 * refresh of the page's data after each action, PDFs loaded with the API key, and the request
 * journal drawn from GET /_mock/requests. Everything shown is set as text, never as markup. */
(function () {
  "use strict";

  function apiKey() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-API-KEY"] || "";
    } catch (e) {
      return "";
    }
  }

  function toast(text, isError) {
    var box = document.getElementById("toast");
    if (!box) return;
    var msg = document.createElement("div");
    msg.className = "msg" + (isError ? " error" : "");
    msg.textContent = text;
    box.replaceChildren(msg);
    window.setTimeout(function () { if (msg.parentNode) msg.remove(); }, 6000);
  }

  // The body of an element's request: its data-json object, then the typed fields of its form
  // (numbers as numbers, checkboxes as booleans, empty fields left out).
  function jsonBody(elt) {
    var body = elt.dataset.json ? JSON.parse(elt.dataset.json) : {};
    var form = elt.tagName === "FORM" ? elt : elt.closest("form");
    if (form && elt.dataset.json === undefined) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.disabled || field.dataset.path !== undefined) return;
        if (field.type === "checkbox") { body[field.name] = field.checked; return; }
        if (field.value === "") return;
        body[field.name] = field.type === "number" ? Number(field.value) : field.value;
      });
    }
    return body;
  }

  htmx.defineExtension("json-body", {
    onEvent: function (name, evt) {
      if (name === "htmx:configRequest") evt.detail.headers["Content-Type"] = "application/json";
      return true;
    },
    encodeParameters: function (xhr, parameters, elt) {
      xhr.overrideMimeType("text/json");
      return JSON.stringify(jsonBody(elt));
    }
  });

  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    // A path with a part typed in a field of the form: data-path-template="/_mock/snapshots/{name}".
    var template = elt.dataset.pathTemplate;
    if (template) {
      var form = elt.closest("form");
      evt.detail.path = template.replace(/\{(\w+)\}/g, function (_, name) {
        var field = form && form.elements[name];
        return encodeURIComponent(field ? field.value.trim() : "");
      });
    }
    // Filters left empty are not sent.
    if (elt.hasAttribute("data-journal")) {
      var data = evt.detail.formData;
      if (data) {
        Array.from(data.keys()).forEach(function (name) {
          if (data.get(name) === "") { data.delete(name); }
        });
      }
    }
  });

  function problemText(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      return body.detail || body.message || body.title || ("HTTP " + xhr.status);
    } catch (e) {
      return "HTTP " + xhr.status + (xhr.responseText ? " : " + xhr.responseText.slice(0, 200) : "");
    }
  }

  function refreshMain() {
    htmx.ajax("GET", window.location.pathname + window.location.search,
              {target: "#main", select: "#main", swap: "outerHTML"});
  }

  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt, xhr = evt.detail.xhr;
    if (elt.hasAttribute("data-journal")) { drawJournal(elt, xhr); return; }
    if (!elt.hasAttribute("data-action")) return;
    if (evt.detail.successful) {
      toast(elt.dataset.action || "Fait.");
      refreshMain();
    } else if (xhr) {
      toast("Refusé : " + problemText(xhr), true);
    }
  });

  // --- PDFs: the Download operations need the key, which an <iframe src> cannot send ---------------
  function loadPdf(frame) {
    if (frame.dataset.loaded) return;
    frame.dataset.loaded = "1";
    fetch(frame.dataset.pdfSrc, {headers: {"X-API-KEY": apiKey()}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.blob();
      })
      .then(function (blob) { frame.src = URL.createObjectURL(blob); })
      .catch(function (err) { toast("PDF non disponible (" + err.message + ")", true); });
  }

  function loadPdfs(root) {
    root.querySelectorAll("iframe[data-pdf-src]").forEach(function (frame) {
      var closed = frame.closest("details:not([open])");
      if (!closed) loadPdf(frame);
    });
  }

  document.addEventListener("toggle", function (evt) {
    if (evt.target.tagName === "DETAILS" && evt.target.open) loadPdfs(evt.target);
  }, true);

  // --- the request journal ------------------------------------------------------------------------
  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function flag(td, text, kind) {
    var span = document.createElement("span");
    span.className = "flag " + kind;
    span.textContent = text;
    td.appendChild(span);
  }

  function pretty(value) {
    if (value === null || value === undefined || value === "") return "";
    if (typeof value === "string") {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
    }
    return JSON.stringify(value, null, 2);
  }

  function time(value) {
    var moment = new Date(value);
    if (isNaN(moment)) return value || "";
    return moment.toLocaleString("fr-FR", {timeZone: "Europe/Paris", day: "2-digit", month: "2-digit",
                                           year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  function drawJournal(elt, xhr) {
    var table = document.getElementById(elt.dataset.journal);
    var state = document.getElementById(elt.dataset.journal + "-state");
    if (!table || !xhr) return;
    if (xhr.status !== 200) {
      if (state) state.textContent = "Journal indisponible : " + problemText(xhr);
      return;
    }
    var answer;
    try { answer = JSON.parse(xhr.responseText); } catch (e) { return; }
    var tbody = table.tBodies[0];
    var open = {};
    tbody.querySelectorAll("details[open]").forEach(function (d) { open[d.dataset.id] = true; });
    var rows = [];
    (answer.items || []).forEach(function (item) {
      var refused = !!item.refusal || item.status >= 400;
      var warned = (item.warnings || []).length > 0;
      var tr = document.createElement("tr");
      tr.className = refused ? "refused" : (warned ? "warned" : "");
      cell(tr, time(item.time));
      cell(tr, item.method);
      var path = cell(tr, item.path + (item.query ? "?" + (typeof item.query === "string" ? item.query : new URLSearchParams(item.query).toString()) : ""), "path");
      cell(tr, item.operationId || "—", "muted");
      cell(tr, item.status, "num status-" + String(item.status).charAt(0));
      cell(tr, item.durationMs === undefined ? "" : String(item.durationMs).replace(".", ",") + " ms", "num");
      var flags = cell(tr, "");
      if (item.refusal) flag(flags, "refusée", "refused");
      (item.warnings || []).forEach(function () { flag(flags, "avertissement", "warned"); });
      if (item.fault) flag(flags, "panne", "fault");
      var details = document.createElement("details");
      details.dataset.id = item.id;
      if (open[item.id]) details.open = true;
      var summary = document.createElement("summary");
      summary.textContent = "détails";
      details.appendChild(summary);
      [["Refus", item.refusal], ["Avertissements", item.warnings && item.warnings.length ? item.warnings : null],
       ["Panne", item.fault], ["Requête", item.requestBody], ["Réponse", item.responseBody],
       ["En-têtes de la réponse", item.responseHeaders]].forEach(function (part) {
        var text = pretty(part[1]);
        if (!text) return;
        var label = document.createElement("div");
        label.className = "muted";
        label.textContent = part[0];
        var pre = document.createElement("pre");
        pre.textContent = text;
        details.appendChild(label);
        details.appendChild(pre);
      });
      path.appendChild(details);
      rows.push(tr);
    });
    tbody.replaceChildren.apply(tbody, rows);
    if (state) {
      state.textContent = rows.length ? (answer.total + " requête(s), mise à jour toutes les 2 s")
                                      : "Aucune requête enregistrée pour ces filtres.";
    }
  }

  document.addEventListener("DOMContentLoaded", function () { loadPdfs(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { loadPdfs(evt.detail.elt || document); });
})();
