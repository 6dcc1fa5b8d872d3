// Runs the graphql-http package's GraphQL-over-HTTP audit against a server URL.
// Exit status 1 when any audit, MUST or SHOULD, is not ok.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
let notOk = 0;
for (const r of results) {
  if (r.status !== 'ok') {
    notOk += 1;
    const body = r.response ? await r.response.text().catch(() => '') : '';
    console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason} ${r.response ? r.response.status : ''} ${body.slice(0, 200)}`);
  }
}
console.log(`${results.length - notOk} passed, ${notOk} failed`);
// Not process.exit: that would drop stdout still queued on the pipe.
process.exitCode = notOk ? 1 : 0;
