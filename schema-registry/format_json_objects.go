package registry

import (
	"regexp"
	"slices"
	"sort"
)

// contentModel classifies how a schema treats properties or items it does
// not name.
type contentModel int

const (
	modelOpen    contentModel = iota // anything is allowed
	modelClosed                      // nothing is allowed
	modelPartial                     // a schema (or pattern) constrains them
)

// restModel classifies an additionalProperties/additionalItems/items value.
func restModel(v any, present bool) contentModel {
	if !present {
		return modelOpen
	}
	if b, ok := v.(bool); ok {
		if b {
			return modelOpen
		}
		return modelClosed
	}
	if isEmptySchema(v) {
		return modelOpen
	}
	return modelPartial
}

func objectModel(o map[string]any) contentModel {
	v, present := o["additionalProperties"]
	if len(asMap(o["patternProperties"])) > 0 {
		return modelPartial
	}
	return restModel(v, present)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func requiredSet(o map[string]any) []string {
	var out []string
	for _, v := range asSlice(o["required"]) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// coveringSchema returns what a partially open object applies to an
// unnamed property: a matching patternProperties schema, else
// additionalProperties (true when absent).
func coveringSchema(o map[string]any, name string) any {
	for pat, s := range asMap(o["patternProperties"]) {
		if re, err := regexp.Compile(pat); err == nil && re.MatchString(name) {
			return s
		}
	}
	if v, ok := o["additionalProperties"]; ok {
		return v
	}
	return true
}

func (d *jsonDiff) compareObjects(path string, original, update jsonNode) {
	o, u := original.obj(), update.obj()
	compareLimit(d, path, "maxProperties", "MAX_PROPERTIES", o, u)
	compareLimit(d, path, "minProperties", "MIN_PROPERTIES", o, u)
	d.compareRest(path+"/additionalProperties", original, update, "additionalProperties", "ADDITIONAL_PROPERTIES")
	oprops, uprops := asMap(o["properties"]), asMap(u["properties"])
	oreq, ureq := requiredSet(o), requiredSet(u)
	omodel, umodel := objectModel(o), objectModel(u)
	for _, name := range ureq {
		_, added := uprops[name]
		_, existed := oprops[name]
		if slices.Contains(oreq, name) || added && !existed && omodel != modelOpen {
			continue // the content-model rules below report it
		}
		if hasDefault(uprops[name]) {
			d.add(path+"/required/"+name, "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED")
		} else {
			d.add(path+"/required/"+name, "REQUIRED_ATTRIBUTE_ADDED")
		}
	}
	for _, name := range oreq {
		if !slices.Contains(ureq, name) {
			d.add(path+"/required/"+name, "REQUIRED_ATTRIBUTE_REMOVED")
		}
	}
	for _, name := range sortedKeys(oprops, uprops) {
		p := path + "/properties/" + name
		os, inO := oprops[name]
		us, inU := uprops[name]
		switch {
		case inO && inU:
			d.compare(p, original.child(os), update.child(us))
		case inU:
			d.propertyAdded(p, original, update.child(us), omodel, name, slices.Contains(ureq, name))
		default:
			d.propertyRemoved(p, original.child(os), update, umodel, name)
		}
	}
	opat, upat := asMap(o["patternProperties"]), asMap(u["patternProperties"])
	for _, pat := range sortedKeys(opat, nil) {
		if us, ok := upat[pat]; ok {
			d.compare(path+"/patternProperties/"+pat, original.child(opat[pat]), update.child(us))
		}
	}
}

func (d *jsonDiff) propertyAdded(p string, original, prop jsonNode, omodel contentModel, name string, required bool) {
	switch omodel {
	case modelOpen:
		if isEmptySchema(prop.v) || prop.v == true {
			d.add(p, "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
		} else {
			d.add(p, "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
		}
	case modelPartial:
		if d.compatible(original.child(coveringSchema(original.obj(), name)), prop) {
			d.add(p, "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
		} else {
			d.add(p, "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
		}
	default:
		switch {
		case required && hasDefault(prop.v):
			d.add(p, "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL")
		case required:
			d.add(p, "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
		default:
			d.add(p, "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
		}
	}
}

func (d *jsonDiff) propertyRemoved(p string, prop, update jsonNode, umodel contentModel, name string) {
	switch {
	case umodel == modelOpen:
		d.add(p, "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
	case umodel == modelPartial && d.compatible(prop, update.child(coveringSchema(update.obj(), name))):
		d.add(p, "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
	case umodel == modelPartial:
		d.add(p, "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
	case prop.v == false:
		d.add(p, "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
	default:
		d.add(p, "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")
	}
}

func hasDefault(v any) bool {
	_, ok := asMap(v)["default"]
	return ok
}

// sortedKeys returns the union of both maps' keys, sorted.
func sortedKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// compareRest compares additionalProperties or additionalItems-like
// values: open, closed or a schema.
func (d *jsonDiff) compareRest(p string, original, update jsonNode, key, prefix string) {
	ov, oin := original.obj()[key]
	uv, uin := update.obj()[key]
	om, um := restModel(ov, oin), restModel(uv, uin)
	switch {
	case om == um && om == modelPartial:
		d.compare(p, original.child(ov), update.child(uv))
	case om == um:
	case om == modelClosed:
		d.add(p, prefix+"_ADDED")
	case um == modelClosed:
		d.add(p, prefix+"_REMOVED")
	case om == modelPartial:
		d.add(p, prefix+"_EXTENDED")
	default:
		d.add(p, prefix+"_NARROWED")
	}
}

// arrayShape splits an array schema into its positional item schemas and
// the schema for the rest, with the keyword naming the rest.
func arrayShape(o map[string]any) (tuple []any, rest any, restPresent bool, restKey string) {
	if prefix, ok := o["prefixItems"].([]any); ok {
		rest, restPresent = o["items"]
		return prefix, rest, restPresent, "items"
	}
	if items, ok := o["items"].([]any); ok {
		rest, restPresent = o["additionalItems"]
		return items, rest, restPresent, "additionalItems"
	}
	rest, restPresent = o["items"]
	return nil, rest, restPresent, "items"
}

func (d *jsonDiff) compareArrays(path string, original, update jsonNode) {
	o, u := original.obj(), update.obj()
	compareLimit(d, path, "maxItems", "MAX_ITEMS", o, u)
	compareLimit(d, path, "minItems", "MIN_ITEMS", o, u)
	ou, _ := o["uniqueItems"].(bool)
	uu, _ := u["uniqueItems"].(bool)
	if !ou && uu {
		d.add(path+"/uniqueItems", "UNIQUE_ITEMS_ADDED")
	} else if ou && !uu {
		d.add(path+"/uniqueItems", "UNIQUE_ITEMS_REMOVED")
	}
	ot, orest, oin, okey := arrayShape(o)
	ut, urest, uin, _ := arrayShape(u)
	for i := 0; i < max(len(ot), len(ut)); i++ {
		p := path + "/items/" + itoa(i)
		switch {
		case i < len(ot) && i < len(ut):
			d.compare(p, original.child(ot[i]), update.child(ut[i]))
		case i < len(ut):
			d.itemAdded(p, original.child(orest), restModel(orest, oin), update.child(ut[i]))
		default:
			d.itemRemoved(p, original.child(ot[i]), update.child(urest), restModel(urest, uin))
		}
	}
	prefix := "ADDITIONAL_ITEMS"
	if okey == "items" && len(ot) == 0 {
		// a single "items" schema is compared as a schema, not a content model
		d.compareItemsSchema(path+"/items", original.child(orest), oin, update.child(urest), uin)
		return
	}
	d.compareRest(path+"/"+okey, original, update, okey, prefix)
}

func (d *jsonDiff) compareItemsSchema(p string, original jsonNode, oin bool, update jsonNode, uin bool) {
	if !oin {
		original = original.child(true)
	}
	if !uin {
		update = update.child(true)
	}
	d.compare(p, original, update)
}

func (d *jsonDiff) itemAdded(p string, rest jsonNode, model contentModel, item jsonNode) {
	switch model {
	case modelOpen:
		if isEmptySchema(item.v) || item.v == true {
			d.add(p, "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
		} else {
			d.add(p, "ITEM_ADDED_TO_OPEN_CONTENT_MODEL")
		}
	case modelClosed:
		d.add(p, "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")
	default:
		if d.compatible(rest, item) {
			d.add(p, "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
		} else {
			d.add(p, "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
		}
	}
}

func (d *jsonDiff) itemRemoved(p string, item, rest jsonNode, model contentModel) {
	switch {
	case model == modelOpen:
		d.add(p, "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
	case model == modelPartial && d.compatible(item, rest):
		d.add(p, "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
	case model == modelPartial:
		d.add(p, "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
	case item.v == false:
		d.add(p, "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
	default:
		d.add(p, "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")
	}
}
