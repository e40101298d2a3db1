// Sends log lines through winston and winston-loki:
// node winston_loki.js <base url> <json|protobuf> <count> [user:password]
// Credentials are sent as winston-loki does, with its basicAuth option.
// protobuf is winston-loki's default (snappy-compressed PushRequest, no
// Content-Encoding); it falls back to JSON silently when its snappy
// binding is missing, so that is checked.
'use strict'
const winston = require('winston')
const LokiTransport = require('winston-loki')

const [host, mode, countArg, basicAuth] = process.argv.slice(2)
const count = Number(countArg)

async function main () {
  let failed = null
  const transport = new LokiTransport({
    host,
    json: mode === 'json',
    labels: { app: 'winston', env: 'test' },
    headers: { 'X-Scope-OrgID': 'tenant-w' },
    interval: 60,
    replaceTimestamp: true,
    basicAuth: basicAuth || undefined,
    onConnectionError: (err) => { failed = err }
  })
  if ((mode === 'json') !== transport.batcher.options.json) {
    throw new Error('winston-loki did not take the ' + mode + ' encoding (snappy binding missing?)')
  }
  const logger = winston.createLogger({ level: 'info', transports: [transport] })
  for (let i = 0; i < count; i++) logger.info('winston line ' + i)
  await new Promise((resolve) => setTimeout(resolve, 50)) // let winston hand the lines over
  await transport.batcher.sendBatchToLoki()
  await transport.flush()
  await transport.close()
  if (failed) throw failed
}

main().catch((err) => { console.error(err); process.exit(1) })
