// The /dashboard page: log in, pick a notebook, and watch its analytics live. Everything goes
// through the public GraphQL API (POST /graphql and the graphql-transport-ws websocket).

import './style.css';
import { fillPushChoices, push, sendChat, showChat, wireExportLinks } from './actions';
import { ApiError, hasRefreshToken, logIn, logOut, onLoggedOut, refresh, request } from './auth';
import { cellAxis, destroyCharts, drawExecutions, drawProgress, drawTimes, setChartFontSize, type CellAxis } from './charts';
import { byId, h, setStatus } from './dom';
import { analyticsFilter, progressSince, readFilters, windowStart, writeFilters, type Filters } from './filters';
import { closeLive, subscribeAnalytics, subscribeSession } from './live';
import { renderChartTables, renderGroups, renderPending, renderStudents, renderSummary, renderToc } from './panels';
import { ME, NOTEBOOK, PENDING_UPDATES, type NotebookAnalytics, type NotebookInfo, type PendingUpdateStats } from './queries';

const filters: Filters = readFilters();
let notebook: NotebookInfo | null = null;
let axis: CellAxis = { ids: [], labels: [] };
let stopAnalytics: (() => void) | null = null;
let stopSession: (() => void) | null = null;
let slide: number | undefined;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function showLogin(): void {
  window.clearTimeout(slide);
  stopAnalytics?.();
  stopSession?.();
  closeLive();
  destroyCharts();
  byId('dashboard').hidden = true;
  byId('logout').hidden = true;
  byId('who').textContent = '';
  byId('login').hidden = false;
  byId('login-username').focus();
}

async function start(): Promise<void> {
  const { me } = await request<{ me: { role: string; notebooks: Array<{ id: string; name: string }> } }>(ME);
  byId('login').hidden = true;
  byId('logout').hidden = false;
  byId('who').textContent = `Signed in (${me.role.toLowerCase()})`;
  const select = byId<HTMLSelectElement>('notebook');
  select.replaceChildren(...me.notebooks.map((nb) => h('option', { value: nb.id, text: `${nb.name} (${nb.id})` })));
  if (!me.notebooks.length) {
    setStatus('No notebook is shared with you yet.');
    return;
  }
  if (!filters.notebook || !me.notebooks.some((nb) => nb.id === filters.notebook)) filters.notebook = me.notebooks[0].id;
  select.value = filters.notebook;
  byId('dashboard').hidden = false;
  await openNotebook();
}

async function openNotebook(): Promise<void> {
  stopSession?.();
  const id = filters.notebook;
  if (!id) return;
  writeFilters(filters);
  setStatus('Loading…');
  notebook = (await request<{ notebook: NotebookInfo }>(NOTEBOOK, { id })).notebook;
  const known = new Set(notebook.groups.map((group) => group.id));
  filters.groups = filters.groups.filter((group) => known.has(group));
  renderGroups(notebook, filters.groups, (groups) => {
    filters.groups = groups;
    void resubscribe();
  });
  axis = cellAxis(notebook.cellOrder.map((cell) => cell.cellId), []);
  fillPushChoices(notebook, new Map(axis.ids.map((cellId, index) => [cellId, `Cell ${axis.labels[index]}`])));
  byId('chat-log').replaceChildren();
  stopSession = subscribeSession(id, (event) => {
    if (event.__typename === 'ChatMessage') showChat(event, false);
  });
  await resubscribe();
}

async function resubscribe(): Promise<void> {
  stopAnalytics?.();
  window.clearTimeout(slide);
  if (!notebook) return;
  // A window of the last N minutes is fixed when subscribing: slide it now and then.
  if (filters.window !== 'all') slide = window.setTimeout(() => void resubscribe(), Math.min(Number(filters.window) * 15_000, 600_000));
  writeFilters(filters);
  const now = Date.now();
  const params = new URLSearchParams();
  const start = windowStart(filters, now);
  if (start) params.set('after', start.toISOString());
  const base = `/export/notebooks/${encodeURIComponent(notebook.id)}/events.csv`;
  wireExportLinks((kinds) => {
    const query = new URLSearchParams(params);
    if (kinds !== 'all') query.set('kinds', kinds);
    return `${base}${query.size ? `?${query}` : ''}`;
  });
  const variables = { id: notebook.id, filter: analyticsFilter(filters, now), since: progressSince(filters, now) };
  setStatus('Waiting for live data…');
  stopAnalytics = subscribeAnalytics(variables, {
    data: showAnalytics,
    error: (text) => setStatus(`Live analytics: ${text}`, true),
  });
}

function showAnalytics(analytics: NotebookAnalytics): void {
  if (!notebook || analytics.notebookId !== notebook.id) return;
  const seen = [
    ...analytics.codeExecutionsPerCell.map((cell) => cell.cellId),
    ...analytics.focusDurationSummary.map((cell) => cell.cellId),
    ...analytics.studentLocations.map((cell) => cell.cellId),
  ];
  axis = cellAxis(notebook.cellOrder.map((cell) => cell.cellId), seen);
  drawExecutions(axis, analytics.codeExecutionsPerCell);
  drawTimes(axis, analytics);
  drawProgress(analytics.executionProgress, notebook.cellOrder.length);
  renderSummary(analytics);
  renderToc(axis, notebook, analytics);
  renderChartTables(axis, analytics);
  renderStudents(analytics.connectedStudents);
  setStatus('Live.');
  void loadPending();
}

async function loadPending(): Promise<void> {
  if (!notebook) return;
  const data = await request<{ notebook: { pendingUpdateStats: PendingUpdateStats[] } }>(PENDING_UPDATES, {
    id: notebook.id,
    filter: analyticsFilter(filters),
  }).catch(() => null);
  if (data) renderPending(axis, data.notebook.pendingUpdateStats);
}

function applyLargeText(): void {
  document.documentElement.classList.toggle('large', filters.large);
  setChartFontSize(filters.large ? 22 : 14);
}

function report(error: unknown): void {
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') return;
  setStatus(message(error), true);
}

function wire(): void {
  byId<HTMLFormElement>('login').addEventListener('submit', (event) => {
    event.preventDefault();
    const username = byId<HTMLInputElement>('login-username').value;
    const password = byId<HTMLInputElement>('login-password');
    byId('login-error').textContent = '';
    logIn(username, password.value)
      .then(() => {
        password.value = '';
        return start();
      })
      .catch((error) => {
        byId('login-error').textContent = error instanceof ApiError && error.code === 'UNAUTHENTICATED' ? 'Wrong username or password.' : message(error);
      });
  });
  byId('logout').addEventListener('click', () => logOut());
  onLoggedOut(showLogin);
  byId<HTMLSelectElement>('notebook').addEventListener('change', (event) => {
    filters.notebook = (event.target as HTMLSelectElement).value;
    filters.groups = [];
    openNotebook().catch(report);
  });
  const windowSelect = byId<HTMLSelectElement>('window');
  windowSelect.value = filters.window;
  windowSelect.addEventListener('change', () => {
    filters.window = windowSelect.value;
    void resubscribe();
  });
  const live = byId<HTMLInputElement>('live-only');
  live.checked = filters.live;
  live.addEventListener('change', () => {
    filters.live = live.checked;
    void resubscribe();
  });
  const large = byId<HTMLInputElement>('large-text');
  large.checked = filters.large;
  large.addEventListener('change', () => {
    filters.large = large.checked;
    writeFilters(filters);
    applyLargeText();
  });
  byId<HTMLFormElement>('filters').addEventListener('submit', (event) => event.preventDefault());
  byId<HTMLFormElement>('push').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!notebook) return;
    const result = byId('push-result');
    result.textContent = 'Pushing…';
    push(notebook)
      .then((text) => {
        result.textContent = text;
        return loadPending();
      })
      .catch((error) => (result.textContent = `Not pushed: ${message(error)}`));
  });
  byId<HTMLFormElement>('chat').addEventListener('submit', (event) => {
    event.preventDefault();
    if (notebook) sendChat(notebook.id).catch(report);
  });
}

wire();
applyLargeText();
if (hasRefreshToken()) {
  refresh()
    .then(start)
    .catch(() => showLogin());
} else {
  showLogin();
}
