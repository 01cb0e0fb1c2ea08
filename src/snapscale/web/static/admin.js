// The admin dashboard, kept live: every few seconds it asks /admin/stats.json for the
// figures, puts the server's own wording of each one in place, and draws the last 30
// minutes as line charts. Without this script the page still shows every figure as of
// its loading, and a table of the minutes.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  // The charts' drawing area inside their 320 x 140 viewBox.
  const BOX = { left: 40, right: 312, top: 10, bottom: 118 };

  // Each chart's values, one per minute (null where there is nothing to plot).
  const SERIES = {
    requests: (point) => point.requests,
    error_rate: (point) => (point.error_rate === null ? null : point.error_rate * 100),
    p99: (point) => point.p99_ms,
    uploads: (point) => point.uploads,
  };

  function start(root) {
    const url = root.dataset.statsUrl;
    const every = (Number(root.dataset.refreshSeconds) || 5) * 1000;
    const status = document.querySelector("[data-live-status]");
    let timer = null;
    let inFlight = false;

    root.classList.add("live");

    async function refresh() {
      if (inFlight) return;
      inFlight = true;
      try {
        const response = await fetch(url, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!response.ok) {
          const problem = await response.json().catch(() => ({}));
          throw new Error(problem.error || `the server answered ${response.status}`);
        }
        show(await response.json());
        setStatus(status, "");
      } catch (error) {
        setStatus(status, ` · could not refresh (${error.message}); retrying`);
      } finally {
        inFlight = false;
      }
    }

    function schedule() {
      clearInterval(timer);
      timer = document.hidden ? null : setInterval(refresh, every);
    }

    // A hidden tab stops asking; coming back refreshes at once.
    document.addEventListener("visibilitychange", () => {
      schedule();
      if (!document.hidden) refresh();
    });
    schedule();
    refresh();
  }

  function show(stats) {
    for (const element of document.querySelectorAll("[data-figure]")) {
      const text = stats.display[element.dataset.figure];
      if (typeof text === "string" && element.textContent !== text) element.textContent = text;
    }
    for (const chart of document.querySelectorAll("[data-chart]")) {
      const pick = SERIES[chart.dataset.chart];
      if (pick) draw(chart, stats.series.map(pick), chart.dataset.unit || "");
    }
  }

  function setStatus(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  // A round top for the scale: 1, 2 or 5 times a power of ten, at least the largest value.
  function niceTop(largest) {
    if (!(largest > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(largest));
    for (const step of [1, 2, 5, 10]) {
      if (step * power >= largest) return step * power;
    }
    return 10 * power;
  }

  function label(value, unit) {
    const rounded = value >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
    return `${rounded.toLocaleString("en")}${unit}`;
  }

  function element(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function draw(chart, values, unit) {
    const svg = chart.querySelector("svg");
    const present = values.filter((value) => value !== null);
    const top = niceTop(Math.max(0, ...present));
    const width = BOX.right - BOX.left;
    const height = BOX.bottom - BOX.top;
    const x = (index) => BOX.left + (values.length > 1 ? (index * width) / (values.length - 1) : 0);
    const y = (value) => BOX.bottom - (value / top) * height;

    // One path per unbroken run of values: a minute with nothing to plot leaves a gap.
    let line = "";
    let area = "";
    let run = [];
    const close = () => {
      if (run.length) {
        const points = run.map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
        line += `M${points.join("L")}`;
        area += `M${x(run[0][0]).toFixed(1)},${BOX.bottom}L${points.join("L")}` +
          `L${x(run[run.length - 1][0]).toFixed(1)},${BOX.bottom}Z`;
      }
      run = [];
    };
    values.forEach((value, index) => (value === null ? close() : run.push([index, value])));
    close();

    const nodes = [
      element("line", { class: "chart-grid", x1: BOX.left, x2: BOX.right, y1: BOX.top, y2: BOX.top }),
      element("line", { class: "chart-grid", x1: BOX.left, x2: BOX.right, y1: y(top / 2), y2: y(top / 2) }),
      element("line", { class: "chart-axis", x1: BOX.left, x2: BOX.right, y1: BOX.bottom, y2: BOX.bottom }),
      element("text", { class: "chart-label", x: BOX.left - 6, y: BOX.top + 4, "text-anchor": "end" }, label(top, unit)),
      element("text", { class: "chart-label", x: BOX.left - 6, y: y(top / 2) + 4, "text-anchor": "end" }, label(top / 2, unit)),
      element("text", { class: "chart-label", x: BOX.left - 6, y: BOX.bottom + 4, "text-anchor": "end" }, `0${unit}`),
      element("text", { class: "chart-label", x: BOX.left, y: BOX.bottom + 16 }, `${values.length} min ago`),
      element("text", { class: "chart-label", x: BOX.right, y: BOX.bottom + 16, "text-anchor": "end" }, "now"),
      element("path", { class: "chart-area", d: area || "M0,0" }),
      element("path", { class: "chart-line", d: line || "M0,0" }),
    ];
    if (!present.length) {
      const middle = { x: (BOX.left + BOX.right) / 2, y: (BOX.top + BOX.bottom) / 2 };
      nodes.push(element("text", { class: "chart-empty", ...middle, "text-anchor": "middle" }, "Nothing to show yet"));
    }
    const last = values[values.length - 1];
    if (last !== null && last !== undefined) {
      nodes.push(element("circle", { class: "chart-dot", cx: x(values.length - 1), cy: y(last), r: 3 }));
    }
    svg.replaceChildren(...nodes);

    // Screen readers get the gist the picture gives.
    const title = chart.querySelector("figcaption strong").textContent;
    const latest = last === null || last === undefined ? "nothing yet" : label(last, unit);
    const highest = present.length ? label(Math.max(...present), unit) : "nothing";
    svg.setAttribute("aria-label", `${title}, last 30 minutes: now ${latest}, highest ${highest}`);
    chart.dataset.points = String(present.length);
    chart.dataset.latest = last === null || last === undefined ? "" : String(last);
  }

  const root = document.querySelector(".admin-dashboard[data-stats-url]");
  if (root && window.fetch) start(root);
})();
