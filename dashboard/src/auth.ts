// The session: the access token lives in memory only, the refresh token in sessionStorage
// (gone with the tab). Tokens are refreshed a minute before the access token expires, and
// once more when the server answers TOKEN_EXPIRED (a sleeping laptop misses the timer).

const REFRESH_KEY = 'analytics.refreshToken';
const EARLY_MS = 60_000;

interface Tokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

let accessToken: string | null = null;
let expiresAt = 0;
let timer: number | undefined;
let inFlight: Promise<string> | null = null;
const loggedOutListeners: Array<() => void> = [];

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export function onLoggedOut(listener: () => void): void {
  loggedOutListeners.push(listener);
}

export function hasRefreshToken(): boolean {
  return sessionStorage.getItem(REFRESH_KEY) !== null;
}

/** POSTs one operation to /graphql; the first error becomes an ApiError with its code. */
export async function post<T>(query: string, variables: object, token: string | null): Promise<T> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status}`, 'INTERNAL');
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new ApiError(first.message, first.extensions?.code);
  }
  if (!body.data) throw new ApiError(`the server answered ${response.status}`, 'INTERNAL');
  return body.data;
}

function store(tokens: Tokens): void {
  accessToken = tokens.accessToken;
  expiresAt = Date.parse(tokens.accessTokenExpiresAt);
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  window.clearTimeout(timer);
  const delay = Math.max(5_000, expiresAt - Date.now() - EARLY_MS);
  timer = window.setTimeout(() => void refresh().catch(() => undefined), delay);
}

export function logOut(): void {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  window.clearTimeout(timer);
  if (refreshToken) {
    void post('mutation Logout($t: String!) { logout(refreshToken: $t) }', { t: refreshToken }, null).catch(
      () => undefined,
    );
  }
  for (const listener of loggedOutListeners) listener();
}

const TOKEN_FIELDS = 'accessToken accessTokenExpiresAt refreshToken';

export async function logIn(username: string, password: string): Promise<void> {
  const data = await post<{ login: Tokens }>(
    `mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { ${TOKEN_FIELDS} } }`,
    { u: username, p: password },
    null,
  );
  store(data.login);
}

/** A new access token from the stored refresh token (one request at a time). */
export function refresh(): Promise<string> {
  inFlight ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) throw new ApiError('not logged in', 'UNAUTHENTICATED');
    try {
      const data = await post<{ refreshToken: Tokens }>(
        `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { ${TOKEN_FIELDS} } }`,
        { t: refreshToken },
        null,
      );
      store(data.refreshToken);
      return data.refreshToken.accessToken;
    } catch (error) {
      if (error instanceof ApiError && error.code !== 'UNAVAILABLE' && error.code !== 'RATE_LIMITED') logOut();
      throw error;
    }
  })().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

/** An access token valid for at least a few more seconds. */
export async function token(): Promise<string> {
  if (accessToken && expiresAt - Date.now() > 5_000) return accessToken;
  return refresh();
}

/** Runs an authenticated operation; on TOKEN_EXPIRED refreshes once and retries. */
export async function request<T>(query: string, variables: object = {}): Promise<T> {
  try {
    return await post<T>(query, variables, await token());
  } catch (error) {
    if (error instanceof ApiError && error.code === 'TOKEN_EXPIRED') {
      return post<T>(query, variables, await refresh());
    }
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') logOut();
    throw error;
  }
}

/** Marks the access token as unusable (the websocket was closed with 4403). */
export function forgetAccessToken(): void {
  accessToken = null;
}

export function currentToken(): string | null {
  return accessToken;
}
