// The graphql-ws reference client (what a JupyterLab extension or a dashboard would use) against
// a running server: a teacher and a student subscribe, the student receives a pushed update, and
// the teacher's socket, opened with a nearly expired token, is closed with 4403 and reconnects on
// its own with a token fetched through `refreshToken`, its subscription resumed.
//
// Inputs (environment): SERVER_URL (http://host:port), NOTEBOOK_ID, TEACHER_USERNAME,
// TEACHER_PASSWORD, TEACHER_SHORT_TOKEN (an access token about to expire). Prints one JSON line
// with what happened; exits non-zero if any step fails or times out.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const server = env('SERVER_URL');
const notebookId = env('NOTEBOOK_ID');
const wsUrl = `${server.replace(/^http/, 'ws')}/graphql`;
const STEP_TIMEOUT_MS = 15_000;

async function http(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query.slice(0, 40)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Subscribes and returns a function waiting for the next event matching `predicate`. */
function subscription(client, query, variables) {
  const received = [];
  const waiters = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      const event = received.find(waiter.predicate);
      if (event) {
        received.splice(received.indexOf(event), 1);
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  };
  client.subscribe(
    { query, variables },
    {
      next: (result) => {
        console.error(`received ${JSON.stringify(result)}`);
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        received.push(Object.values(result.data)[0]);
        settle();
      },
      error: (error) => waiters.forEach((waiter) => waiter.reject(error)),
      complete: () => {},
    },
  );
  // Waits for the next event matching `predicate`; on timeout the waiter is withdrawn, so a
  // later event is left for the next waiter.
  return (what, predicate, ms = STEP_TIMEOUT_MS) => {
    const waiter = { predicate };
    const event = new Promise((resolve, reject) => {
      Object.assign(waiter, { resolve, reject });
      waiters.push(waiter);
      settle();
    });
    return within(ms, what, event).catch((error) => {
      if (waiters.includes(waiter)) waiters.splice(waiters.indexOf(waiter), 1);
      throw error;
    });
  };
}

const { login } = await http(
  `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }`,
  { u: env('TEACHER_USERNAME'), p: env('TEACHER_PASSWORD') },
);

// The first connection uses the nearly expired token; every reconnection asks for a fresh one,
// as a dashboard would after a 4403.
let initCount = 0;
const teacherCloses = [];
let reconnected;
const reconnectedOnce = new Promise((resolve) => { reconnected = resolve; });
let connections = 0;
const teacher = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  retryAttempts: 3,
  retryWait: () => new Promise((resolve) => setTimeout(resolve, 100)),
  connectionParams: async () => {
    initCount += 1;
    if (initCount === 1) return { token: env('TEACHER_SHORT_TOKEN') };
    // Refresh tokens rotate: keep the new one for the next reconnection.
    const { refreshToken } = await http(
      `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }`,
      { r: login.refreshToken },
    );
    login.refreshToken = refreshToken.refreshToken;
    return { token: refreshToken.accessToken };
  },
  on: {
    connected: () => {
      connections += 1;
      if (connections === 2) reconnected();
    },
    closed: (event) => {
      console.error(`teacher socket closed ${event.code} ${event.reason}`);
      teacherCloses.push(event.code);
    },
  },
});
const dashboard = subscription(teacher, `subscription($nb: ID!) { dashboardSession(notebookId: $nb) {
  __typename ... on StudentConnected { user } ... on RefreshRequested { notebookId } } }`,
{ nb: notebookId });

// The first socket is closed with 4403 when its token runs out; the client reconnects by itself
// and resubscribes.
await within(STEP_TIMEOUT_MS, 'the 4403 and the reconnection', reconnectedOnce);

// The resumed subscription is registered a moment after the reconnection: a student who
// connects before that is not announced, so the student reconnects until the teacher sees it.
let student;
let studentEvents;
let connected;
for (let attempt = 1; !connected; attempt += 1) {
  student = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  studentEvents = subscription(student, `subscription($nb: ID!, $u: String!) {
    studentSession(notebookId: $nb, userId: $u) {
      __typename ... on PushedUpdate { updateId hint cells { cellId source } } } }`,
  { nb: notebookId, u: 'node-student' });
  try {
    connected = await dashboard('StudentConnected', (e) => e.__typename === 'StudentConnected', 1500);
  } catch (error) {
    if (attempt === 5) throw error;
    await student.dispose();
  }
}

const { pushUpdate } = await http(
  `mutation($nb: ID!, $cells: [PushedCellInput!]!) { pushUpdate(notebookId: $nb, cells: $cells, hint: "from node") { updateId } }`,
  { nb: notebookId, cells: [{ cellId: 'cell-1', cellType: 'code', source: 'print(42)' }] },
  login.accessToken,
);
const pushed = await studentEvents('PushedUpdate', (e) => e.__typename === 'PushedUpdate');

// Ingest until a refresh reaches the dashboard (refreshes are throttled per notebook).
const refreshed = dashboard('RefreshRequested', (e) => e.__typename === 'RefreshRequested');
const ingest = setInterval(() => {
  http(`mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }`, {
    e: {
      notebookId, userId: 'node-student', cellId: 'cell-1', origCellId: 'cell-1',
      clickType: 'ON', time: new Date().toISOString(),
    },
  }).catch((error) => console.error(error));
}, 250);
const refresh = await refreshed.finally(() => clearInterval(ingest));

console.log(JSON.stringify({
  studentConnectedUser: connected.user,
  pushedUpdateId: pushUpdate.updateId,
  receivedUpdate: pushed,
  teacherCloseCodes: teacherCloses,
  teacherConnections: connections,
  refreshAfterReconnect: refresh.notebookId,
}));
await Promise.all([teacher.dispose(), student.dispose()]);
process.exit(0);
