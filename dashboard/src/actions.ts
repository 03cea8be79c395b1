// What the teacher does besides looking: push cells, chat, download CSV exports.

import { currentToken, refresh, request, token } from './auth';
import { byId, h, shortId, timeOfDay } from './dom';
import { loadNotebookCells, type SourceCell } from './notebook-file';
import { chosenStudents } from './panels';
import { PUSH_UPDATE, SEND_CHAT, type ChatMessage, type NotebookInfo } from './queries';

const WHOLE_NOTEBOOK = '__notebook__';
let fileCells: { key: string; cells: Promise<SourceCell[]> } | null = null;

export function fillPushChoices(notebook: NotebookInfo, labels: Map<string, string>): void {
  const options = notebook.cellOrder.map((cell) =>
    h('option', { value: cell.cellId, text: `${labels.get(cell.cellId) ?? cell.cellId} (${cell.cellType})` }),
  );
  byId('push-cell').replaceChildren(h('option', { value: WHOLE_NOTEBOOK, text: 'The whole notebook' }), ...options);
}

function cellsOf(notebook: NotebookInfo): Promise<SourceCell[]> {
  const key = `${notebook.id}@${notebook.version}`;
  if (fileCells?.key !== key) fileCells = { key, cells: loadNotebookCells(notebook.downloadUrl) };
  return fileCells.cells;
}

export async function push(notebook: NotebookInfo): Promise<string> {
  const what = byId<HTMLSelectElement>('push-cell').value;
  const toChosen = (document.querySelector('input[name="push-to"]:checked') as HTMLInputElement | null)?.value === 'chosen';
  const recipients = toChosen ? chosenStudents() : null;
  if (recipients && !recipients.length) throw new Error('tick at least one connected student first');
  const all = await cellsOf(notebook);
  const cells = (what === WHOLE_NOTEBOOK ? all : all.filter((cell) => cell.cellId === what)).map(({ cellId, cellType, source }) => ({
    cellId,
    cellType,
    source,
  }));
  if (!cells.length) throw new Error('that cell is not in the notebook file');
  const hint = byId<HTMLInputElement>('push-hint').value.trim() || null;
  const data = await request<{ pushUpdate: { updateId: string; sentAt: string } }>(PUSH_UPDATE, {
    id: notebook.id,
    cells,
    to: recipients,
    hint,
  });
  const who = recipients ? `${recipients.length} ticked student(s)` : 'every connected student';
  return `Pushed ${cells.length} cell(s) to ${who} at ${timeOfDay(data.pushUpdate.sentAt)}.`;
}

export function showChat(message: ChatMessage, mine: boolean): void {
  const who = mine ? `You → ${shortId(message.toStudent ?? '')}` : shortId(message.from);
  const item = h(
    'li',
    { class: mine ? 'mine' : 'theirs' },
    h('span', { class: 'chat-meta', text: `${timeOfDay(message.sentAt)} ${who}: ` }),
    h('span', { text: message.text }),
  );
  byId('chat-log').append(item);
}

export async function sendChat(notebookId: string): Promise<void> {
  const student = byId<HTMLSelectElement>('chat-to').value;
  const input = byId<HTMLInputElement>('chat-text');
  if (!student) throw new Error('no connected student to write to');
  const data = await request<{ sendChatMessageToStudent: ChatMessage }>(SEND_CHAT, { id: notebookId, student, text: input.value });
  input.value = '';
  showChat(data.sendChatMessageToStudent, true);
}

/** Export links carry the real URL (for curl); a click downloads it with the bearer token. */
export function wireExportLinks(urlFor: (kinds: string) => string): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>('a[data-export]')) {
    link.href = urlFor(link.dataset.export ?? 'all');
    link.onclick = (event) => {
      event.preventDefault();
      void download(link.href, link.textContent ?? 'export').catch((error) => {
        byId('status').textContent = `Export failed: ${error.message}`;
      });
    };
  }
}

async function download(url: string, label: string): Promise<void> {
  const get = async (bearer: string) => fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
  let response = await get(currentToken() ?? (await token()));
  if (response.status === 401) response = await get(await refresh());
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  const name = /filename="?([^";]+)/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `${label}.csv`;
  const blobUrl = URL.createObjectURL(await response.blob());
  const anchor = h('a', { href: blobUrl, download: name });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(blobUrl), 10_000);
}
