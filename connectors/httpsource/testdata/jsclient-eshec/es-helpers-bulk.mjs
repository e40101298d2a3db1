// The official @elastic/elasticsearch 9.x client against the httpsource
// Elasticsearch routes: its product check (on the first answer), info(),
// and helpers.bulk with gzip-compressed bodies. Prints a JSON summary.
import { Client } from '@elastic/elasticsearch';

const client = new Client({
  node: process.env.ES_URL,
  auth: { bearer: process.env.ES_TOKEN },
  compression: true,
});
const info = await client.info();
const n = Number(process.env.N);
const docs = Array.from({ length: n }, (_, i) => ({
  '@timestamp': new Date(Date.UTC(2024, 4, 1, 10, 0, i % 60)).toISOString(),
  message: `js line ${i}`,
}));
const dropped = [];
const result = await client.helpers.bulk({
  datasource: docs,
  onDocument: () => ({ create: { _index: 'js-logs' } }),
  onDrop: (d) => dropped.push(d.status),
  flushBytes: 16384,
  retries: 3,
  wait: 50,
});
console.log(JSON.stringify({
  version: info.version.number,
  tagline: info.tagline,
  total: result.total,
  successful: result.successful,
  failed: result.failed,
  dropped,
}));
