// Runs the graphql-http server audits against a running Vouch API.
// Usage: node audit.mjs <url> <api key>. Prints one line per audit and a JSON summary last.
import { serverAudits } from 'graphql-http';

const [url, key] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

const results = [];
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason });
  console.log(`${result.status.padEnd(5)} ${audit.id} ${audit.name}${result.reason ? ' -- ' + result.reason : ''}`);
}
console.log(JSON.stringify(results));
