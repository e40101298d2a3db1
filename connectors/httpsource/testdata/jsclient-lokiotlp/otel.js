// Sends log records through the OpenTelemetry JS SDK and its OTLP/HTTP
// exporter: node otel.js <base url> <http|proto> <count> [gzip|none] [token]
// A token is sent as Authorization: Bearer <token>.
// "http" is @opentelemetry/exporter-logs-otlp-http (OTLP/JSON),
// "proto" is @opentelemetry/exporter-logs-otlp-proto (protobuf).
'use strict'
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs')
const { resourceFromAttributes } = require('@opentelemetry/resources')
const { SeverityNumber, ROOT_CONTEXT, trace } = require('@opentelemetry/api')

const [base, kind, countArg, gzip, token] = process.argv.slice(2)
const count = Number(countArg)
const { OTLPLogExporter } = kind === 'proto'
  ? require('@opentelemetry/exporter-logs-otlp-proto')
  : require('@opentelemetry/exporter-logs-otlp-http')

async function main () {
  let failed = null
  const exporter = new OTLPLogExporter({
    url: base + '/v1/logs',
    compression: gzip === 'gzip' ? 'gzip' : 'none',
    headers: token ? { Authorization: 'Bearer ' + token } : {}
  })
  // Report a failed export: the processor itself only logs it.
  const exportFn = exporter.export.bind(exporter)
  exporter.export = (records, done) => exportFn(records, (res) => {
    if (res.code !== 0) failed = res.error || new Error('export failed')
    done(res)
  })
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'js-' + kind, 'deployment.environment': 'test' }),
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: count + 1, scheduledDelayMillis: 60000 })]
  })
  const logger = provider.getLogger('sluice.js', '3.0.0', { attributes: { team: 'ingest' } })
  const base0 = Date.UTC(2026, 11, 1, 10, 0, 0)
  // A span context, so the ids travel: hex in OTLP/JSON, bytes in protobuf.
  const ctx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: 1
  })
  for (let i = 0; i < count; i++) {
    logger.emit({
      timestamp: new Date(base0 + i),
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'js line ' + i,
      attributes: { i, user: 'u1', ok: true },
      context: ctx
    })
  }
  await provider.forceFlush()
  await provider.shutdown()
  if (failed) throw failed
}

main().catch((err) => { console.error(err); process.exit(1) })
