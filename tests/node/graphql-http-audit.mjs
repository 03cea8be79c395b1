// The graphql-http audit suite (the GraphQL-over-HTTP spec's conformance checks) against a
// running server. Input: SERVER_URL. Prints one JSON line: every audit that did not pass, with
// its id, name, status (`error` for a MUST, `warn` for a SHOULD) and reason.
import { auditServer } from 'graphql-http';

const url = `${process.env.SERVER_URL}/graphql`;
const results = await auditServer({ url });
const notPassed = results
  .filter((result) => result.status !== 'ok')
  .map(({ id, name, status, reason }) => ({ id, name, status, reason }));
console.log(JSON.stringify({ audits: results.length, notPassed }));
