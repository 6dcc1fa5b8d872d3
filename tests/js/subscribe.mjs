// A graphql-ws (graphql-transport-ws) subscriber for the integration tests: prints one JSON
// line per message it gets ({"next": ...}, {"error": ...}, {"complete": true}, {"closed": code}),
// and stops after --count results or --timeout milliseconds.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const count = Number(args.count ?? 1);
const timeout = Number(args.timeout ?? 10000);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const client = createClient({
  url: args.url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  // The `closed` line below reports a close; graphql-ws would also dump it to stderr.
  onNonLazyError: () => {},
  connectionParams: args.init ? JSON.parse(args.init) : undefined,
  on: {
    connected: () => print({ connected: true }),
    closed: (e) => print({ closed: e.code, reason: e.reason }),
  },
});

let received = 0;
const done = new Promise((resolve) => {
  const timer = setTimeout(resolve, timeout);
  client.subscribe(
    { query: args.query, variables: args.variables ? JSON.parse(args.variables) : undefined },
    {
      next: (value) => {
        print({ next: value });
        received += 1;
        if (received >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
      error: (error) => {
        print({ error: Array.isArray(error) ? error : { message: String(error?.message ?? error), code: error?.code } });
        clearTimeout(timer);
        resolve();
      },
      complete: () => {
        print({ complete: true });
        clearTimeout(timer);
        resolve();
      },
    },
  );
});
await done;
await client.dispose();
// Exit once stdout is flushed: a pipe's writes are asynchronous, and exiting at once drops the
// lines still queued (the last results of a fast burst).
process.stdout.write('', () => process.exit(0));
