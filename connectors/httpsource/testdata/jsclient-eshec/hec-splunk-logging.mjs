// The splunk-logging client against the httpsource HEC routes: N events
// in batches of 10 to /services/collector/event/1.0, every callback
// checked. Prints a JSON summary.
import splunk from 'splunk-logging';

const logger = new splunk.Logger({
  token: process.env.HEC_TOKEN,
  url: process.env.HEC_URL,
  maxBatchCount: 10,
  maxRetries: 3,
});
const n = Number(process.env.N);
const errors = [];
const bodies = [];
logger.error = (err, context) => errors.push(String(err && err.message || err));
// splunk-logging calls back only for the send that fills a batch, and
// for flush(): one callback per request.
const done = (resolve) => (err, resp, body) => {
  if (err) errors.push(String(err.message || err));
  if (resp && resp.statusCode !== 200) errors.push(`HTTP ${resp.statusCode}`);
  if (body !== undefined) bodies.push(typeof body === 'string' ? body : JSON.stringify(body));
  resolve();
};
const requests = [];
for (let i = 0; i < n; i++) {
  const ctx = {
    message: { line: `hec line ${i}`, i },
    metadata: { host: 'js-host', source: 'splunk-logging', sourcetype: 'js', index: 'main' },
    severity: 'info',
  };
  if ((i + 1) % 10 === 0) {
    requests.push(new Promise((resolve) => logger.send(ctx, done(resolve))));
  } else {
    logger.send(ctx);
  }
}
requests.push(new Promise((resolve) => logger.flush(done(resolve))));
await Promise.all(requests);
console.log(JSON.stringify({ errors, requests: requests.length, bodies: [...new Set(bodies)] }));
