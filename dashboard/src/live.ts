// The websocket (graphql-transport-ws, the `graphql-ws` client): the live analytics of the
// open notebook, and the dashboard session that carries students' chat messages. The token
// goes in `connection_init`; after a 4403 (expired token) the client reconnects with a fresh one.

import { createClient, type Client } from 'graphql-ws';
import { forgetAccessToken, refresh, token } from './auth';
import { DASHBOARD_SESSION, NOTEBOOK_ANALYTICS, type ChatMessage, type NotebookAnalytics } from './queries';

let client: Client | null = null;

function socketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/graphql`;
}

export function liveClient(): Client {
  client ??= createClient({
    url: socketUrl(),
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    connectionParams: async () => ({ token: await token() }),
    on: {
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        if (code === 4403) {
          forgetAccessToken();
          void refresh().catch(() => undefined);
        }
      },
    },
  });
  return client;
}

export function closeLive(): void {
  void client?.dispose();
  client = null;
}

export interface AnalyticsHandlers {
  data: (analytics: NotebookAnalytics) => void;
  error: (message: string) => void;
}

/** Subscribes to `notebookAnalytics`; returns the unsubscribe function. */
export function subscribeAnalytics(variables: Record<string, unknown>, handlers: AnalyticsHandlers): () => void {
  return liveClient().subscribe<{ notebookAnalytics: NotebookAnalytics }>(
    { query: NOTEBOOK_ANALYTICS, variables },
    {
      next: (result) => {
        if (result.errors?.length) handlers.error(result.errors[0].message);
        else if (result.data) handlers.data(result.data.notebookAnalytics);
      },
      error: (error) => handlers.error(describe(error)),
      complete: () => undefined,
    },
  );
}

export type SessionEvent =
  | ({ __typename: 'ChatMessage' } & ChatMessage)
  | { __typename: 'StudentConnected' | 'StudentDisconnected'; user: string }
  | { __typename: 'RefreshRequested' };

export function subscribeSession(notebookId: string, onEvent: (event: SessionEvent) => void): () => void {
  return liveClient().subscribe<{ dashboardSession: SessionEvent }>(
    { query: DASHBOARD_SESSION, variables: { id: notebookId } },
    {
      next: (result) => {
        if (result.data) onEvent(result.data.dashboardSession);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
}

function describe(error: unknown): string {
  if (Array.isArray(error) && error.length) return String(error[0]?.message ?? error[0]);
  if (error instanceof Error) return error.message;
  return 'the live connection failed';
}
