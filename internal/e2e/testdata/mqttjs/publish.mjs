// Publishes the numbers 0…total-1 as QoS 1 messages to an MQTT server
// with MQTT.js, at most `window` unacknowledged at once, reconnecting
// whenever the connection drops (MQTT.js resends the unacknowledged ones
// on reconnect). Prints "ack N" once message N's PUBACK arrived, and
// "done" when every message is acknowledged.
// Usage: node publish.mjs mqtt://host:port total window version
import mqtt from 'mqtt'

const [url, totalArg, windowArg, versionArg] = process.argv.slice(2)
const total = Number(totalArg)
const window = Number(windowArg)
const client = mqtt.connect(url, {
  clientId: 'kill-test-publisher',
  protocolVersion: Number(versionArg || 5),
  clean: true,
  reconnectPeriod: 100,
  connectTimeout: 5000,
  keepalive: 10,
})

let next = 0
let acked = 0
let inflight = 0
const out = []
const flush = () => {
  if (out.length) {
    process.stdout.write(out.join(''))
    out.length = 0
  }
}
setInterval(flush, 20).unref()

const pump = () => {
  while (inflight < window && next < total) {
    const seq = next++
    inflight++
    const send = () => client.publish('devices/d1/seq', String(seq), { qos: 1 }, (err) => {
      if (err) {
        // Not acknowledged: a client error, not a disconnect (those are
        // resent by MQTT.js). Try again.
        setTimeout(send, 100)
        return
      }
      inflight--
      acked++
      out.push(`ack ${seq}\n`)
      if (acked === total) {
        flush()
        process.stdout.write('done\n')
        client.end(false, () => process.exit(0))
        return
      }
      pump()
    })
    send()
  }
}

client.on('connect', () => pump())
client.on('error', (err) => process.stderr.write(`error: ${err.message}\n`))
client.on('close', () => process.stderr.write('connection closed\n'))
