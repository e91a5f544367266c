// The live event page: follows GET /v1/coupons/:id/live (one snapshot a second) and writes every
// number as text, then draws the answers per second of the last minutes with uPlot.
/* global uPlot */
(function () {
  'use strict';
  var main = document.getElementById('event');
  var couponId = main.dataset.couponId;
  var start = new Date(main.dataset.start);
  var WINDOW_S = 300;
  var COLORS = { OK: '#1a7f37' };
  var PALETTE = ['#cf222e', '#bc4c00', '#8250df', '#0969da', '#6e7781', '#bf8700'];
  var codes = [];
  var xs = [];
  var series = {};
  var totals = {};
  var chart = null;

  function text(id, value) {
    document.getElementById(id).textContent = value === null || value === undefined ? '–' : String(value);
  }
  function pad(n, w) { return String(n).padStart(w, '0'); }
  function clock(d) {
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function countdown() {
    var ms = start.getTime() - Date.now();
    var el = document.getElementById('countdown');
    if (ms <= 0) { el.textContent = ''; return; }
    var s = Math.ceil(ms / 1000);
    el.textContent = 'Opens in ' + Math.floor(s / 3600) + 'h ' + pad(Math.floor(s / 60) % 60, 2) + 'm ' + pad(s % 60, 2) + 's';
  }
  setInterval(countdown, 250);
  countdown();

  function makeChart() {
    var el = document.getElementById('chart');
    var opts = {
      width: Math.max(280, el.clientWidth || 600), height: 240,
      scales: { x: { time: true } },
      series: [{}].concat(codes.map(seriesOf)),
      axes: [{}, { label: 'answers/s' }],
    };
    chart = new uPlot(opts, [xs].concat(codes.map(function (c) { return series[c]; })), el);
  }
  function seriesOf(code, i) {
    return { label: code, stroke: COLORS[code] || PALETTE[i % PALETTE.length], width: 2 };
  }
  window.addEventListener('resize', function () {
    if (chart) chart.setSize({ width: Math.max(280, document.getElementById('chart').clientWidth), height: 240 });
  });

  var lastSecond = -Infinity;
  function addPoint(second, answers) {
    // The history and the first snapshots can cover the same second: count each once.
    if (second <= lastSecond) return;
    lastSecond = second;
    renderAnswers(answers);
    var fresh = false;
    Object.keys(answers).forEach(function (code) {
      if (!series[code]) {
        series[code] = xs.map(function () { return 0; });
        codes.push(code);
        fresh = true;
      }
    });
    xs.push(second);
    codes.forEach(function (code) { series[code].push(answers[code] || 0); });
    while (xs.length > WINDOW_S) {
      xs.shift();
      codes.forEach(function (code) { series[code].shift(); });
    }
    if (typeof uPlot === 'undefined') return;
    if (!chart || fresh) {
      if (chart) chart.destroy();
      makeChart();
    } else {
      chart.setData([xs].concat(codes.map(function (c) { return series[c]; })));
    }
  }

  // The last second that had answers: a quiet second keeps the figures of the flood.
  function latency(p) {
    if (p.p50Ms === null) return;
    text('p50', p.p50Ms);
    text('p99', p.p99Ms);
  }

  function renderAnswers(answers) {
    Object.keys(answers).forEach(function (code) { totals[code] = (totals[code] || 0) + answers[code]; });
    var body = document.querySelector('#answers tbody');
    body.innerHTML = '';
    Object.keys(totals).sort().forEach(function (code) {
      var tr = document.createElement('tr');
      tr.dataset.code = code;
      [code, answers[code] || 0, totals[code]].forEach(function (v, i) {
        var td = document.createElement('td');
        td.textContent = String(v);
        if (i > 0) td.className = 'num';
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function render(s) {
    text('state', s.state);
    text('issued', s.issued);
    text('total', s.total === null ? '∞' : s.total);
    text('persisted', s.persisted);
    text('queued', s.queued === null ? 'n/a (sync)' : s.queued);
    text('pending', s.pending === null ? 'n/a (sync)' : s.pending);
    text('gap', s.gap);
    latency(s);
    var share = s.total ? Math.min(100, (100 * s.issued) / s.total) : 0;
    document.getElementById('bar-fill').style.width = share + '%';
    document.getElementById('sold-out').textContent = s.soldOutAt
      ? 'Sold out at ' + clock(new Date(s.soldOutAt)) + ' after ' + (s.soldOutAfterMs / 1000).toFixed(1) + ' s'
      : s.state === 'sold out' ? 'Sold out' : '';
    addPoint(Math.floor(Date.parse(s.at) / 1000) - 1, s.answers);
  }

  var source = new EventSource('/v1/coupons/' + couponId + '/live');
  source.onmessage = function (e) { render(JSON.parse(e.data)); };
  source.addEventListener('history', function (e) {
    JSON.parse(e.data).forEach(function (p) {
      addPoint(p.second, p.answers);
      latency(p);
    });
  });
})();
