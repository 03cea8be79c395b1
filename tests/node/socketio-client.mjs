// socket.io-client 4.7.5 (what the deployed telemetry and dashboard extensions bundle) against
// a running server, connecting exactly as they do: `io(backendEndpoint + '?conType=…&nbId=…&userId=…',
// { transports: ['websocket'] })`, no token. The student receives a push made over GraphQL and
// sends its location; the tokenless teacher receives `refreshDashboard` after an ingest and is
// refused when it pushes.
//
// Inputs (environment): SERVER_URL, NOTEBOOK_ID, TEACHER_TOKEN (for the GraphQL push). Prints
// one JSON line; exits non-zero if a step fails or times out.
import { io } from 'socket.io-client';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const server = env('SERVER_URL');
const notebookId = env('NOTEBOOK_ID');
const STEP_TIMEOUT_MS = 15_000;

async function graphql(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server}/graphql`, {
    method: 'POST', headers, body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function within(what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const once = (socket, event) => within(event, new Promise((resolve) => socket.once(event, resolve)));

function connect(query) {
  const socket = io(`${server}?${query}`, { transports: ['websocket'], reconnection: false });
  return within(`connect ${query}`, new Promise((resolve, reject) => {
    socket.on('connect', () => resolve(socket));
    socket.on('connect_error', (error) => reject(new Error(`connect_error: ${error.message}`)));
  }));
}

const teacher = await connect(`conType=TEACHER&nbId=${notebookId}&userId=someone`);
const student = await connect(`conType=STUDENT&nbId=${notebookId}&userId=node-student`);

// Presence is registered a moment after the connection: wait until GraphQL lists the student.
const token = env('TEACHER_TOKEN');
for (let attempt = 0; ; attempt += 1) {
  const { notebook } = await graphql(
    'query($nb: ID!) { notebook(id: $nb) { connectedStudents } }', { nb: notebookId }, token);
  if (notebook.connectedStudents.length === 1) break;
  if (attempt === 100) throw new Error('the student never showed as connected');
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const chat = once(student, 'chat');
const { pushUpdate } = await graphql(
  `mutation($nb: ID!) { pushUpdate(notebookId: $nb, hint: "node",
     cells: [{ cellId: "c1", cellType: "code", source: "print(1)" }]) { updateId } }`,
  { nb: notebookId }, token);
const received = await chat;
// As the extension reads it (notebookSync.ts): the JSON from the first '{'.
const push = JSON.parse(received.message.slice(received.message.indexOf('{')));

// The extension emits without an ack; one here orders the check after it.
const located = await within('the location ack',
  student.emitWithAck('update_location', { cellId: 'c1', cellIndex: 0 }));

const refresh = once(teacher, 'refreshDashboard');
await graphql(
  'mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }',
  { e: { notebookId, userId: 'node-student', cellId: 'c1', origCellId: 'c1', clickType: 'ON',
    time: new Date().toISOString() } });
await refresh;

const refused = await within('the ack of a tokenless push', teacher.emitWithAck('send_message', {
  userId: received.sender,
  message: JSON.stringify({ content: { id: 'c1', source: 'x' }, action: 'update_cell', update_id: 'u' }),
}));

console.log(JSON.stringify({
  pushedUpdateId: pushUpdate.updateId,
  received: { push, sender: received.sender, senderType: received.sender_type },
  located,
  refreshed: true,
  tokenlessPush: refused,
}));
teacher.close();
student.close();
process.exit(0);
