// The panels that are lists and tables: summary numbers, table of contents, connected
// students (tick to choose push recipients), groups in the filter form, pending updates.

import { byId, h, shortId, timeOfDay } from './dom';
import type { CellAxis } from './charts';
import type { NotebookAnalytics, NotebookInfo, PendingUpdateStats } from './queries';

export function renderSummary(analytics: NotebookAnalytics): void {
  const executions = analytics.codeExecutionsPerCell.reduce((sum, cell) => sum + cell.executionCount, 0);
  byId('total-executions').textContent = String(executions);
  byId('connected-count').textContent = String(analytics.connectedStudents.length);
  byId('student-count').textContent = String(analytics.timePerCell.totalStudentCount);
  const computed = byId('computed-at');
  computed.textContent = timeOfDay(analytics.computedAt);
  computed.setAttribute('datetime', analytics.computedAt);
}

export function renderToc(axis: CellAxis, notebook: NotebookInfo, analytics: NotebookAnalytics): void {
  const counts = new Map(analytics.studentLocations.map((cell) => [cell.cellId, cell.studentCount]));
  const max = Math.max(1, ...counts.values());
  const types = new Map(notebook.cellOrder.map((cell) => [cell.cellId, cell.cellType]));
  const items = axis.ids.map((id, index) => {
    const count = counts.get(id) ?? 0;
    const label = `Cell ${axis.labels[index]}`;
    return h(
      'li',
      { class: count ? 'here' : '' },
      h('span', { class: 'toc-label', title: id, text: `${label} · ${types.get(id) ?? 'other'}` }),
      h('meter', { min: 0, max, value: count, 'aria-label': `${label}: ${count} students` }),
      h('span', { class: 'toc-count', text: String(count) }),
    );
  });
  byId('toc').replaceChildren(...items);
}

/** The ticked students (push recipients), kept across re-renders. */
export function chosenStudents(): string[] {
  return [...byId('students').querySelectorAll<HTMLInputElement>('input:checked')].map((input) => input.value);
}

export function renderStudents(students: string[]): void {
  const chosen = new Set(chosenStudents());
  const list = byId('students');
  if (!students.length) {
    list.replaceChildren(h('li', { class: 'muted', text: 'No student is connected.' }));
  } else {
    list.replaceChildren(
      ...students.map((student) =>
        h(
          'li',
          {},
          h('label', { title: student }, h('input', { type: 'checkbox', value: student, checked: chosen.has(student) }), ` ${shortId(student)}`),
        ),
      ),
    );
  }
  const chatTo = byId<HTMLSelectElement>('chat-to');
  const current = chatTo.value;
  chatTo.replaceChildren(...students.map((student) => h('option', { value: student, text: shortId(student) })));
  if (students.includes(current)) chatTo.value = current;
}

export function renderGroups(notebook: NotebookInfo, selected: string[], onChange: (groups: string[]) => void): void {
  const fieldset = byId('groups');
  const legend = h('legend', { text: 'Groups' });
  if (!notebook.groups.length) {
    fieldset.replaceChildren(legend, h('p', { class: 'muted', text: 'No groups.' }));
    return;
  }
  const boxes = notebook.groups.map((group) => {
    const input = h('input', { type: 'checkbox', value: group.id, checked: selected.includes(group.id) });
    input.addEventListener('change', () => {
      onChange([...fieldset.querySelectorAll<HTMLInputElement>('input:checked')].map((box) => box.value));
    });
    return h('label', {}, input, ` ${group.name} (${group.memberCount})`);
  });
  fieldset.replaceChildren(legend, ...boxes);
}

export function renderPending(axis: CellAxis, stats: PendingUpdateStats[]): void {
  const label = (id: string) => {
    const index = axis.ids.indexOf(id);
    return index >= 0 ? `Cell ${axis.labels[index]}` : id;
  };
  // Keep open the lists the teacher opened: the table is redrawn at every update.
  const open = new Set([...byId('pending').querySelectorAll<HTMLDetailsElement>('details[open]')].map((d) => d.dataset.update));
  const rows = stats.map((stat) => {
    const postponed = stat.postponed.map((p) => {
      const after = p.laterActions.map((a) => `${a.action.toLowerCase().replace('_', ' ')} ${timeOfDay(a.time)}`).join(', ');
      return h('li', { title: p.userId, text: `${shortId(p.userId)} at ${timeOfDay(p.postponedAt)}${after ? `, then ${after}` : ''}` });
    });
    const later = postponed.length
      ? h('details', { 'data-update': stat.updateId, open: open.has(stat.updateId) }, h('summary', { text: String(stat.updateLaterCount) }), h('ul', { class: 'postponed' }, ...postponed))
      : String(stat.updateLaterCount);
    return h(
      'tr',
      {},
      h('td', { title: stat.cellId, text: label(stat.cellId) }),
      h('td', { text: timeOfDay(stat.pushedAt) }),
      h('td', { text: String(stat.updateNowCount) }),
      h('td', {}, later),
    );
  });
  byId('pending').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'No push yet in this window.' }))]));
}

/** A chart's numbers as a table, for screen readers and for reading exact values. */
export function renderTable(id: string, headers: string[], rows: Array<Array<string | number>>): void {
  const head = h('thead', {}, h('tr', {}, ...headers.map((text) => h('th', { scope: 'col', text }))));
  const body = h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell) => h('td', { text: String(cell) })))));
  byId(id).replaceChildren(h('table', { class: 'table' }, head, body));
}

const seconds = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1));

export function renderChartTables(axis: CellAxis, analytics: NotebookAnalytics): void {
  const counts = new Map(analytics.codeExecutionsPerCell.map((cell) => [cell.cellId, cell]));
  const label = (index: number) => `Cell ${axis.labels[index]}`;
  renderTable(
    'table-exec',
    ['Cell', 'Executions', 'OK', 'Focus events'],
    axis.ids.map((id, i) => [label(i), counts.get(id)?.executionCount ?? 0, counts.get(id)?.okExecutionCount ?? 0, counts.get(id)?.focusCount ?? 0]),
  );
  const summary = new Map(analytics.focusDurationSummary.map((cell) => [cell.cellId, cell]));
  const times = new Map(analytics.timePerCell.cells.map((cell) => [cell.cellId, cell]));
  renderTable(
    'table-time',
    ['Cell', 'Students', 'Average (s)', 'First quartile', 'Median', 'Third quartile', 'Max'],
    axis.ids.map((id, i) => {
      const s = summary.get(id);
      return [label(i), times.get(id)?.studentCount ?? 0, seconds(times.get(id)?.averageDuration), seconds(s?.firstQuartile), seconds(s?.median), seconds(s?.thirdQuartile), seconds(s?.max)];
    }),
  );
  renderTable(
    'table-progress',
    ['Minute', 'Students', 'Mean', 'First quartile', 'Median', 'Third quartile'],
    analytics.executionProgress
      .slice(-30)
      .reverse()
      .map((p) => [timeOfDay(p.minute), p.studentCount, p.mean.toFixed(2), p.firstQuartile, p.median, p.thirdQuartile]),
  );
}
