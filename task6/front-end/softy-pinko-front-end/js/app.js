// Softy-Pinko: fetch the greeting from the back-end and show it in #dynamic-content.
const API_URL = '/api/hello';
const TIMEOUT_MS = 5000;

(function () {
  'use strict';

  const target = document.getElementById('dynamic-content');
  if (!target) {
    return;
  }

  const errorText = 'Could not reach the back-end (' + API_URL + '). Is it running?';

  function show(state, text) {
    target.textContent = text;
    target.setAttribute('data-state', state);
  }

  async function loadGreeting() {
    show('loading', 'Loading…');
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    try {
      const response = await fetch(API_URL, { signal: controller.signal });
      if (!response.ok) {
        show('error', errorText + ' (HTTP ' + response.status + ')');
        return;
      }
      const text = await response.text();
      show('ready', text.trim());
    } catch (err) {
      show('error', errorText);
    } finally {
      clearTimeout(timer);
    }
  }

  loadGreeting();
}());
