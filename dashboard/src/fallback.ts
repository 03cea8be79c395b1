// TEMPORARY: until `notebookAnalytics` is in the schema, re-query the Notebook's fields on
// every dashboardSession signal. Removed once the subscription lands.

import { request } from './auth';
import { subscribeSession } from './live';
import { ANALYTICS_FIELDS, type NotebookAnalytics } from './queries';
import type { AnalyticsHandlers } from './live';

const QUERY = `
  query Fallback($id: ID!, $filter: AnalyticsFilter, $since: DateTime!, $now: DateTime!) {
    notebook(id: $id) {
      ${ANALYTICS_FIELDS.replace(/(codeExecutionsPerCell|timePerCell|focusDurationSummary|studentLocations|connectedStudents)/g, '$1(filter: $filter)')}
      executionProgress(start: $since, end: $now, filter: $filter) { minute mean median firstQuartile thirdQuartile studentCount }
    }
  }`;

export function fallbackAnalytics(variables: Record<string, unknown>, handlers: AnalyticsHandlers): () => void {
  let timer: number | undefined;
  const run = () => {
    const now = new Date().toISOString();
    request<{ notebook: Omit<NotebookAnalytics, 'notebookId' | 'computedAt'> }>(QUERY, { ...variables, now })
      .then((data) => handlers.data({ ...data.notebook, notebookId: String(variables.id), computedAt: now }))
      .catch((error) => handlers.error(error.message));
  };
  run();
  const stop = subscribeSession(String(variables.id), () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, 200);
  });
  return () => {
    window.clearTimeout(timer);
    stop();
  };
}
