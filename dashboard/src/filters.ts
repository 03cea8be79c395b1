// The view's state lives in the URL (?notebook=…&window=…&live=1&groups=…&large=1), so a view
// can be shared or bookmarked; every change replaces the current history entry.

export interface Filters {
  notebook: string | null;
  /** Minutes back from now, or `all`. */
  window: string;
  live: boolean;
  groups: string[];
  large: boolean;
}

const WINDOWS = ['15', '60', '120', '1440', '10080', 'all'];
const DEFAULT_WINDOW = '120';
/** The API serves at most 1440 minutes of progress; a little less leaves room for a long view. */
const MAX_PROGRESS_MINUTES = 1380;

export function readFilters(): Filters {
  const params = new URLSearchParams(window.location.search);
  const windowParam = params.get('window') ?? DEFAULT_WINDOW;
  return {
    notebook: params.get('notebook'),
    window: WINDOWS.includes(windowParam) ? windowParam : DEFAULT_WINDOW,
    live: params.get('live') === '1',
    groups: (params.get('groups') ?? '').split(',').filter(Boolean),
    large: params.get('large') === '1',
  };
}

export function writeFilters(filters: Filters): void {
  const params = new URLSearchParams();
  if (filters.notebook) params.set('notebook', filters.notebook);
  params.set('window', filters.window);
  if (filters.live) params.set('live', '1');
  if (filters.groups.length) params.set('groups', filters.groups.join(','));
  if (filters.large) params.set('large', '1');
  history.replaceState(null, '', `${window.location.pathname}?${params}`);
}

/** The window's start, or null for all time. */
export function windowStart(filters: Filters, now = Date.now()): Date | null {
  if (filters.window === 'all') return null;
  return new Date(now - Number(filters.window) * 60_000);
}

/** The `AnalyticsFilter` input of the API. */
export function analyticsFilter(filters: Filters, now = Date.now()): Record<string, unknown> {
  const start = windowStart(filters, now);
  return {
    ...(start ? { after: start.toISOString() } : {}),
    liveOnly: filters.live,
    groups: filters.groups.length ? filters.groups : null,
  };
}

/** Where the progress series starts: the window's start, at most the API's 24 hours back. */
export function progressSince(filters: Filters, now = Date.now()): string {
  const minutes = filters.window === 'all' ? MAX_PROGRESS_MINUTES : Math.min(Number(filters.window), MAX_PROGRESS_MINUTES);
  return new Date(now - minutes * 60_000).toISOString();
}
