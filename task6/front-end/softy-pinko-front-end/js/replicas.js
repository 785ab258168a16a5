// Softy-Pinko: fire a burst of requests through the reverse proxy and chart
// which back-end replica (X-Served-By header) answered each one — live.
(function () {
  'use strict';

  const ENDPOINT = '/api/hello';
  const TOTAL = 60;
  const CONCURRENCY = 4;
  const UNKNOWN = 'unknown';

  const button = document.getElementById('burst-button');
  const status = document.getElementById('burst-status');
  const list = document.getElementById('replica-bars');
  if (!button || !status || !list) {
    return;
  }

  let counts = new Map();
  let items = new Map();
  let done = 0;
  let failed = 0;

  function renderStatus() {
    const n = counts.size;
    status.textContent = done + '/' + TOTAL + ' done · ' + n + ' replica' + (n === 1 ? '' : 's') +
      ' · ' + failed + ' failed';
  }

  function createItem(name) {
    const li = document.createElement('li');
    li.className = 'replica';
    li.setAttribute('data-replica', name);
    li.setAttribute('data-count', '0');

    const label = document.createElement('span');
    label.className = 'replica-name';
    label.textContent = name;
    label.title = name;

    const track = document.createElement('span');
    track.className = 'replica-track';
    track.setAttribute('aria-hidden', 'true');
    const bar = document.createElement('span');
    bar.className = 'replica-bar';
    track.appendChild(bar);

    const count = document.createElement('span');
    count.className = 'replica-count';
    count.textContent = '0';

    li.append(label, track, count);

    // Insert keeping the list sorted by replica name.
    const names = Array.from(items.keys()).concat(name).sort();
    const next = names[names.indexOf(name) + 1];
    list.insertBefore(li, next === undefined ? null : items.get(next).li);

    const entry = { li: li, bar: bar, count: count };
    items.set(name, entry);
    return entry;
  }

  function renderBars() {
    // Width proportional to the count, relative to the whole burst.
    items.forEach(function (entry, name) {
      const n = counts.get(name) || 0;
      entry.li.setAttribute('data-count', String(n));
      entry.count.textContent = String(n);
      entry.bar.style.width = (n / TOTAL * 100).toFixed(2) + '%';
    });
  }

  function record(name) {
    counts.set(name, (counts.get(name) || 0) + 1);
    if (!items.has(name)) {
      createItem(name);
    }
    renderBars();
  }

  async function one() {
    try {
      const response = await fetch(ENDPOINT, { cache: 'no-store' });
      if (!response.ok) {
        failed += 1;
      } else {
        const served = (response.headers.get('X-Served-By') || '').trim();
        record(served || UNKNOWN);
      }
      // Drain the body so the connection can be reused.
      await response.text().catch(function () {});
    } catch (err) {
      failed += 1;
    } finally {
      done += 1;
      renderStatus();
    }
  }

  async function burst() {
    button.disabled = true;
    status.setAttribute('data-done', 'false');
    counts = new Map();
    items = new Map();
    done = 0;
    failed = 0;
    list.replaceChildren();
    renderStatus();

    let next = 0;
    async function worker() {
      while (next < TOTAL) {
        next += 1;
        await one();
      }
    }
    const workers = [];
    for (let i = 0; i < CONCURRENCY; i += 1) {
      workers.push(worker());
    }
    try {
      await Promise.all(workers);
    } finally {
      renderStatus();
      status.setAttribute('data-done', 'true');
      button.disabled = false;
      button.focus();
    }
  }

  button.addEventListener('click', burst);
}());
