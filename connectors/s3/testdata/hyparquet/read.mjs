// Reads the Parquet files named on the command line with hyparquet and
// prints, per file, its schema, codecs, key-value metadata and rows as
// one JSON line (bigints as strings, bytes as base64, dates as ISO).
import { readFileSync } from 'node:fs'
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

function replacer(_, v) {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
  return v
}

function schemaOf(node) {
  const e = node.element
  const out = { name: e.name, repetition: e.repetition_type, type: e.type, converted: e.converted_type }
  if (e.logical_type) out.logical = e.logical_type
  if (node.children.length) out.children = node.children.map(schemaOf)
  return out
}

for (const path of process.argv.slice(2)) {
  const buf = readFileSync(path)
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  const meta = parquetMetadata(file)
  const rows = await parquetReadObjects({ file, compressors, utf8: false })
  const codecs = [...new Set(meta.row_groups.flatMap(g => g.columns.map(c => c.meta_data.codec)))]
  const kv = Object.fromEntries((meta.key_value_metadata || []).map(x => [x.key, x.value]))
  console.log(JSON.stringify({
    path, rowGroups: meta.row_groups.length, codecs, kv, schema: schemaOf(parquetSchema(meta)), rows,
  }, replacer))
}
