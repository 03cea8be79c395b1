// Every GraphQL document the page sends: it uses the public API only.

const ANALYTICS_FIELDS = `
  codeExecutionsPerCell { cellId executionCount okExecutionCount focusCount }
  timePerCell { totalStudentCount cells { cellId averageDuration studentCount } }
  focusDurationSummary { cellId count min firstQuartile median thirdQuartile max mean }
  studentLocations { cellId studentCount }
  connectedStudents
`;

export const NOTEBOOK_ANALYTICS = `
  subscription Analytics($id: ID!, $filter: AnalyticsFilter, $since: DateTime) {
    notebookAnalytics(notebookId: $id, filter: $filter, progressSince: $since) {
      notebookId computedAt
      ${ANALYTICS_FIELDS}
      executionProgress { minute mean median firstQuartile thirdQuartile studentCount }
    }
  }`;

export const DASHBOARD_SESSION = `
  subscription Session($id: ID!) {
    dashboardSession(notebookId: $id) {
      __typename
      ... on ChatMessage { from toStudent text sentAt }
      ... on StudentConnected { user }
      ... on StudentDisconnected { user }
    }
  }`;

export const ME = `query Me { me { pseudonym role notebooks { id name } } }`;

export const NOTEBOOK = `
  query Notebook($id: ID!) {
    notebook(id: $id) {
      id name version downloadUrl
      cellOrder { cellId cellType }
      groups { id name memberCount }
    }
  }`;

export const PENDING_UPDATES = `
  query Pending($id: ID!, $filter: AnalyticsFilter) {
    notebook(id: $id) {
      pendingUpdateStats(filter: $filter) {
        cellId updateId pushedAt updateNowCount updateLaterCount
        postponed { userId postponedAt laterActions { action time } }
      }
    }
  }`;

export const PUSH_UPDATE = `
  mutation Push($id: ID!, $cells: [PushedCellInput!]!, $to: [String!], $hint: String) {
    pushUpdate(notebookId: $id, cells: $cells, toStudents: $to, hint: $hint) { updateId sentAt }
  }`;

export const SEND_CHAT = `
  mutation Chat($id: ID!, $student: String!, $text: String!) {
    sendChatMessageToStudent(notebookId: $id, student: $student, text: $text) { from toStudent text sentAt }
  }`;

export interface CellExecutionCounts {
  cellId: string;
  executionCount: number;
  okExecutionCount: number;
  focusCount: number;
}

export interface DurationSummary {
  cellId: string;
  count: number;
  min: number;
  firstQuartile: number;
  median: number;
  thirdQuartile: number;
  max: number;
  mean: number;
}

export interface ProgressPoint {
  minute: string;
  mean: number;
  median: number;
  firstQuartile: number;
  thirdQuartile: number;
  studentCount: number;
}

export interface NotebookAnalytics {
  notebookId: string;
  computedAt: string;
  codeExecutionsPerCell: CellExecutionCounts[];
  timePerCell: { totalStudentCount: number; cells: Array<{ cellId: string; averageDuration: number; studentCount: number }> };
  focusDurationSummary: DurationSummary[];
  studentLocations: Array<{ cellId: string; studentCount: number }>;
  connectedStudents: string[];
  executionProgress: ProgressPoint[];
}

export interface NotebookInfo {
  id: string;
  name: string;
  version: number;
  downloadUrl: string;
  cellOrder: Array<{ cellId: string; cellType: string }>;
  groups: Array<{ id: string; name: string; memberCount: number }>;
}

export interface ChatMessage {
  from: string;
  toStudent: string | null;
  text: string;
  sentAt: string;
}

export interface PendingUpdateStats {
  cellId: string;
  updateId: string;
  pushedAt: string;
  updateNowCount: number;
  updateLaterCount: number;
  postponed: Array<{ userId: string; postponedAt: string; laterActions: Array<{ action: string; time: string }> }>;
}
