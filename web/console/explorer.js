// The GraphQL explorer of a tenant (`/console/t/<slug>/explorer`) or of the platform API
// (`/console/platform/explorer`): a query and its variables (JSON), run with the
// administrator's session (Ctrl+Enter or Cmd+Enter), the answer as it came, pretty-printed; the
// schema browser (schema.js); and the last 20 runs kept in this browser (localStorage), one
// list per API, a click puts a run back in the editor.

import { endpointOf, rawGraphql } from './api.js';
import { renderSchemaBrowser } from './schema.js';
import { clearFieldErrors, describeError, field, h, markField, replace, showStatus, time } from './ui.js';

const HISTORY_SIZE = 20;

const DEFAULT_QUERIES = {
  tenant: '{\n  administrators {\n    email\n    role\n  }\n}\n',
  platform: '{\n  tenants(first: 20) {\n    nodes { slug name status }\n  }\n}\n',
};

function historyKey(endpoint) {
  return `latchkey.console.history:${endpoint}`;
}

/** The runs kept for `endpoint`, newest first. */
export function loadHistory(endpoint) {
  try {
    const entries = JSON.parse(localStorage.getItem(historyKey(endpoint)) ?? '[]');
    return Array.isArray(entries) ? entries : [];
  } catch {
    return [];
  }
}

function saveHistory(endpoint, entries) {
  try {
    localStorage.setItem(historyKey(endpoint), JSON.stringify(entries.slice(0, HISTORY_SIZE)));
  } catch {
    // A full or unavailable storage loses the history, not the run.
  }
}

/** The name of an operation, or its first field, to label a run in the history. */
function summary(query) {
  const named = /\b(query|mutation|subscription)\s+([A-Za-z_]\w*)/.exec(query);
  if (named) return `${named[1]} ${named[2]}`;
  const kind = /^\s*(mutation|subscription)\b/.exec(query)?.[1] ?? 'query';
  const first = /\{\s*([A-Za-z_]\w*)/.exec(query)?.[1];
  return first ? `${kind} { ${first} }` : kind;
}

export async function renderExplorer(container, { slug, tenant, setTitle }) {
  const platform = !slug;
  const endpoint = endpointOf(slug);
  setTitle(platform ? 'Platform explorer' : 'Explorer');

  const history = loadHistory(endpoint);
  const queryField = field({
    label: 'Query',
    name: 'query',
    id: 'explorer-query',
    type: 'textarea',
    rows: 12,
    hint: 'Ctrl+Enter (⌘+Enter on a Mac) runs it.',
    value: history[0]?.query ?? DEFAULT_QUERIES[platform ? 'platform' : 'tenant'],
  });
  const variablesField = field({
    label: 'Variables (JSON)',
    name: 'variables',
    id: 'explorer-variables',
    type: 'textarea',
    rows: 4,
    optional: true,
    value: history[0]?.variables ?? '',
  });
  const runButton = h('button', { id: 'explorer-run', type: 'submit', className: 'button button-primary' }, 'Run');
  const form = h('form', { id: 'explorer-form', className: 'stack', novalidate: true }, queryField, variablesField, h('div', { className: 'actions' }, runButton));
  const resultMeta = h('p', { id: 'explorer-result-meta', className: 'muted', 'aria-live': 'polite' });
  const result = h('pre', { id: 'explorer-result', className: 'code result', tabindex: '0', 'aria-label': 'Result' }, 'Run a query to see its answer here.');
  const historyList = h('ol', { id: 'history-list', className: 'history-list' });
  const clearHistory = h('button', { id: 'history-clear', type: 'button', className: 'button button-small' }, 'Clear history');
  const schemaSection = h('section', { id: 'schema-browser', className: 'card schema', 'aria-labelledby': 'schema-heading' });

  const queryInput = form.elements.query;
  const variablesInput = form.elements.variables;

  function drawHistory() {
    const entries = loadHistory(endpoint);
    clearHistory.hidden = entries.length === 0;
    replace(
      historyList,
      entries.map((entry, index) => {
        const button = h(
          'button',
          { type: 'button', className: 'link-button history-entry', dataset: { index: String(index) } },
          summary(entry.query),
        );
        button.addEventListener('click', () => {
          queryInput.value = entry.query;
          variablesInput.value = entry.variables ?? '';
          clearFieldErrors(form);
          queryInput.focus();
          showStatus('The query from the history is back in the editor.', 'info');
        });
        return h('li', {}, button, ' ', h('span', { className: 'muted' }, time(entry.at), entry.ok ? '' : ' · errors'));
      }),
    );
    if (!entries.length) historyList.append(h('li', { className: 'muted' }, 'No run yet.'));
  }

  async function run() {
    clearFieldErrors(form);
    const query = queryInput.value;
    const variablesText = variablesInput.value;
    if (!query.trim()) {
      markField(form, { field: 'query', message: 'Write a query first.' });
      showStatus('Write a query first.', 'error');
      return;
    }
    let variables = {};
    if (variablesText.trim()) {
      try {
        variables = JSON.parse(variablesText);
      } catch (error) {
        const message = `The variables are not valid JSON: ${error.message}`;
        markField(form, { field: 'variables', message });
        showStatus(message, 'error');
        return;
      }
      if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) {
        const message = 'The variables must be a JSON object, such as {"id": "…"}.';
        markField(form, { field: 'variables', message });
        showStatus(message, 'error');
        return;
      }
    }
    runButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    const started = performance.now();
    try {
      const { status, body } = await rawGraphql(endpoint, query, variables);
      const elapsed = Math.round(performance.now() - started);
      result.textContent = body === null ? '(no JSON in the answer)' : JSON.stringify(body, null, 2);
      const errors = body?.errors ?? [];
      resultMeta.textContent = `HTTP ${status} · ${elapsed} ms${errors.length ? ` · ${errors.length === 1 ? '1 error' : `${errors.length} errors`}` : ''}`;
      if (errors.length) {
        showStatus(describeError({ message: errors[0].message, code: errors[0].extensions?.code }), 'error');
      } else {
        showStatus('');
      }
      const entries = loadHistory(endpoint).filter((entry) => entry.query !== query || (entry.variables ?? '') !== variablesText);
      entries.unshift({ query, variables: variablesText, at: new Date().toISOString(), ok: errors.length === 0 && status < 400 });
      saveHistory(endpoint, entries);
      drawHistory();
    } catch (error) {
      result.textContent = describeError(error);
      showStatus(describeError(error), 'error');
    } finally {
      runButton.disabled = false;
      form.setAttribute('aria-busy', 'false');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  clearHistory.addEventListener('click', () => {
    saveHistory(endpoint, []);
    drawHistory();
    showStatus('The history is cleared.', 'info');
  });

  container.append(
    h('h1', {}, platform ? 'Platform explorer' : `Explorer · ${tenant.name}`),
    h('p', { className: 'lede' }, 'Queries and mutations run against ', h('code', {}, endpoint), ' with your session and your role.'),
    h(
      'div',
      { className: 'explorer' },
      h(
        'div',
        { className: 'explorer-main' },
        h('section', { className: 'card', 'aria-labelledby': 'editor-heading' }, h('h2', { id: 'editor-heading' }, 'Operation'), form),
        h('section', { className: 'card', 'aria-labelledby': 'result-heading' }, h('h2', { id: 'result-heading' }, 'Result'), resultMeta, result),
        h(
          'section',
          { className: 'card', 'aria-labelledby': 'history-heading' },
          h('div', { className: 'section-header' }, h('h2', { id: 'history-heading' }, 'History'), clearHistory),
          historyList,
        ),
      ),
      schemaSection,
    ),
  );
  drawHistory();
  renderSchemaBrowser(schemaSection, endpoint);
}
