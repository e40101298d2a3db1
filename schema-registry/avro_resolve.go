package registry

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/hamba/avro/v2"
)

// avroResolver applies the Avro specification's schema resolution rules
// (reader against writer) and collects every violation, not just the
// first: hamba's own checker stops at the first and ignores logical types.
type avroResolver struct {
	found []string
	// inProgress guards recursive named types: a pair already being
	// compared is assumed compatible, as in Avro Java.
	inProgress map[[2]string]bool
}

func (c *avroResolver) add(errorType, path, description, info string) {
	if path == "" {
		path = "/"
	}
	c.found = append(c.found, incompatibility(errorType,
		fmt.Sprintf("%s (path '%s')", description, path), info))
}

// check compares reader with writer at path (a JSON pointer into the
// reader schema, as Avro Java reports it).
func (c *avroResolver) check(reader, writer avro.Schema, path string) {
	reader, writer = deref(reader), deref(writer)
	if n, ok := reader.(avro.NamedSchema); ok {
		if wn, ok := writer.(avro.NamedSchema); ok {
			key := [2]string{n.FullName(), wn.FullName()}
			if c.inProgress[key] {
				return
			}
			c.inProgress[key] = true
			defer delete(c.inProgress, key)
		}
	}
	if wu, ok := writer.(*avro.UnionSchema); ok {
		c.checkWriterUnion(reader, wu, path)
		return
	}
	if ru, ok := reader.(*avro.UnionSchema); ok {
		for _, branch := range ru.Types() {
			if c.compatible(branch, writer) {
				return
			}
		}
		c.add("MISSING_UNION_BRANCH", path, "The reader union has no branch for the writer's type",
			"reader union lacking writer type: "+string(writer.Type()))
		return
	}
	if reader.Type() != writer.Type() {
		if !promotable(writer.Type(), reader.Type()) {
			c.add("TYPE_MISMATCH", path, "The reader's type does not match the writer's",
				fmt.Sprintf("reader type: %s not compatible with writer type: %s", reader.Type(), writer.Type()))
		}
		return
	}
	c.checkSameType(reader, writer, path)
}

// checkWriterUnion requires every writer branch to be readable.
func (c *avroResolver) checkWriterUnion(reader avro.Schema, writer *avro.UnionSchema, path string) {
	_, readerIsUnion := reader.(*avro.UnionSchema)
	for i, branch := range writer.Types() {
		if !readerIsUnion {
			c.check(reader, branch, path)
			continue
		}
		if !c.compatible(reader, branch) {
			c.add("MISSING_UNION_BRANCH", path+"/"+strconv.Itoa(i),
				"The reader union has no branch for a writer union branch",
				"reader union lacking writer type: "+string(deref(branch).Type()))
		}
	}
}

// compatible reports whether reader can read writer, without recording.
func (c *avroResolver) compatible(reader, writer avro.Schema) bool {
	sub := &avroResolver{inProgress: c.inProgress}
	sub.check(reader, writer, "")
	return len(sub.found) == 0
}

// promotable reports Avro's allowed promotions of a writer type.
func promotable(writer, reader avro.Type) bool {
	switch writer {
	case avro.Int:
		return reader == avro.Long || reader == avro.Float || reader == avro.Double
	case avro.Long:
		return reader == avro.Float || reader == avro.Double
	case avro.Float:
		return reader == avro.Double
	case avro.String:
		return reader == avro.Bytes
	case avro.Bytes:
		return reader == avro.String
	}
	return false
}

func (c *avroResolver) checkSameType(reader, writer avro.Schema, path string) {
	switch r := reader.(type) {
	case *avro.RecordSchema:
		c.checkName(r, writer.(avro.NamedSchema), path)
		c.checkRecord(r, writer.(*avro.RecordSchema), path)
	case *avro.EnumSchema:
		c.checkName(r, writer.(avro.NamedSchema), path)
		c.checkEnum(r, writer.(*avro.EnumSchema), path)
	case *avro.FixedSchema:
		w := writer.(*avro.FixedSchema)
		c.checkName(r, w, path)
		if r.Size() != w.Size() {
			c.add("FIXED_SIZE_MISMATCH", path+"/size", "The fixed sizes differ",
				fmt.Sprintf("expected: %d, found: %d", w.Size(), r.Size()))
		}
		c.checkLogical(r.Logical(), w.Logical(), path)
	case *avro.ArraySchema:
		c.check(r.Items(), writer.(*avro.ArraySchema).Items(), path+"/items")
	case *avro.MapSchema:
		c.check(r.Values(), writer.(*avro.MapSchema).Values(), path+"/values")
	case *avro.PrimitiveSchema:
		c.checkLogical(r.Logical(), writer.(*avro.PrimitiveSchema).Logical(), path)
	}
}

// checkName compares named types: the unqualified names match, or a
// reader alias is the writer's full name.
func (c *avroResolver) checkName(reader, writer avro.NamedSchema, path string) {
	if reader.Name() == writer.Name() || slices.Contains(reader.Aliases(), writer.FullName()) {
		return
	}
	c.add("NAME_MISMATCH", path+"/name", "The reader's name does not match the writer's",
		fmt.Sprintf("expected: %s", writer.FullName()))
}

func (c *avroResolver) checkRecord(reader, writer *avro.RecordSchema, path string) {
	for i, rf := range reader.Fields() {
		fieldPath := path + "/fields/" + strconv.Itoa(i)
		wf := writerField(writer, rf)
		if wf == nil {
			if !rf.HasDefault() {
				c.add("READER_FIELD_MISSING_DEFAULT_VALUE", fieldPath,
					fmt.Sprintf("The field '%s' in the reader has no default value and is missing in the writer", rf.Name()),
					rf.Name())
			}
			continue
		}
		c.check(rf.Type(), wf.Type(), fieldPath+"/type")
	}
}

// writerField finds the writer field a reader field reads: by name, then
// by the reader field's aliases.
func writerField(writer *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, wf := range writer.Fields() {
		if wf.Name() == rf.Name() {
			return wf
		}
	}
	for _, wf := range writer.Fields() {
		if slices.Contains(rf.Aliases(), wf.Name()) {
			return wf
		}
	}
	return nil
}

func (c *avroResolver) checkEnum(reader, writer *avro.EnumSchema, path string) {
	if reader.HasDefault() {
		return
	}
	var missing []string
	for _, s := range writer.Symbols() {
		if !slices.Contains(reader.Symbols(), s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		c.add("MISSING_ENUM_SYMBOLS", path+"/symbols", "The reader enum lacks symbols the writer has and has no default",
			fmt.Sprintf("%v", missing))
	}
}

// checkLogical refuses a change of logical type between two annotated
// schemas, and a decimal whose scale changes or precision shrinks: the
// bytes would still decode but mean a different value. Adding or dropping
// an annotation is allowed, as in Avro.
func (c *avroResolver) checkLogical(reader, writer avro.LogicalSchema, path string) {
	if reader == nil || writer == nil {
		return
	}
	if reader.Type() != writer.Type() {
		c.add("TYPE_MISMATCH", path+"/logicalType", "The reader's logical type does not match the writer's",
			fmt.Sprintf("reader logical type: %s not compatible with writer logical type: %s", reader.Type(), writer.Type()))
		return
	}
	rd, rok := reader.(*avro.DecimalLogicalSchema)
	wd, wok := writer.(*avro.DecimalLogicalSchema)
	if !rok || !wok {
		return
	}
	if rd.Scale() != wd.Scale() || rd.Precision() < wd.Precision() {
		c.add("TYPE_MISMATCH", path+"/logicalType", "The reader's decimal cannot hold the writer's",
			fmt.Sprintf("reader decimal(%d,%d) not compatible with writer decimal(%d,%d)",
				rd.Precision(), rd.Scale(), wd.Precision(), wd.Scale()))
	}
}
