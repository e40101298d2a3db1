package registry

import (
	"encoding/json"
	"fmt"
)

// Record key types of the _schemas topic, as Confluent writes them.
const (
	keySchema        = "SCHEMA"
	keyConfig        = "CONFIG"
	keyMode          = "MODE"
	keyDeleteSubject = "DELETE_SUBJECT"
	keyClearSubject  = "CLEAR_SUBJECT"
	keyNoop          = "NOOP"
)

// recordKey is a _schemas record key. Field order is Confluent's
// (keytype, subject, version, magic); SCHEMA keys carry magic 1, the
// others magic 0. A nil subject on CONFIG and MODE keys means global.
type recordKey struct {
	KeyType string  `json:"keytype"`
	Subject *string `json:"subject,omitempty"`
	Version int     `json:"version,omitempty"`
	Magic   int     `json:"magic"`
}

// MarshalJSON writes CONFIG and MODE keys with an explicit null subject
// for the global entry, as Confluent does.
func (k recordKey) MarshalJSON() ([]byte, error) {
	type plain recordKey
	if (k.KeyType == keyConfig || k.KeyType == keyMode) && k.Subject == nil {
		return []byte(fmt.Sprintf(`{"keytype":%q,"subject":null,"magic":%d}`, k.KeyType, k.Magic)), nil
	}
	return json.Marshal(plain(k))
}

func schemaKey(subject string, version int) recordKey {
	return recordKey{KeyType: keySchema, Subject: &subject, Version: version, Magic: 1}
}

// scopeKey is the key of a CONFIG, MODE, DELETE_SUBJECT or CLEAR_SUBJECT
// record; subject "" means global.
func scopeKey(keyType, subject string) recordKey {
	k := recordKey{KeyType: keyType}
	if subject != "" {
		k.Subject = &subject
	}
	return k
}

// schemaValue is the value of a SCHEMA record; schemaType is omitted for
// AVRO, metadata and ruleSet when absent (fields in Confluent's order).
// A tombstone (nil value) deletes the version permanently.
type schemaValue struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	contract
	Schema  string `json:"schema"`
	Deleted bool   `json:"deleted"`
}

func (v *schemaValue) schemaType() string {
	if v.SchemaType == "" {
		return TypeAvro
	}
	return v.SchemaType
}

// configValue is the value of a CONFIG record (fields in Confluent's
// order, absent ones omitted). A record written by Confluent may leave
// out compatibilityLevel; the level then falls back (see configFor).
type configValue struct {
	Normalize          *bool     `json:"normalize,omitempty"`
	CompatibilityLevel string    `json:"compatibilityLevel,omitempty"`
	CompatibilityGroup string    `json:"compatibilityGroup,omitempty"`
	DefaultMetadata    *Metadata `json:"defaultMetadata,omitempty"`
	OverrideMetadata   *Metadata `json:"overrideMetadata,omitempty"`
	DefaultRuleSet     *RuleSet  `json:"defaultRuleSet,omitempty"`
	OverrideRuleSet    *RuleSet  `json:"overrideRuleSet,omitempty"`
}

// hasDefaultsOrOverrides reports whether the config adds metadata or
// rules to what is registered.
func (c configValue) hasDefaultsOrOverrides() bool {
	return c.DefaultMetadata != nil || c.OverrideMetadata != nil || c.DefaultRuleSet != nil || c.OverrideRuleSet != nil
}

// modeValue is the value of a MODE record.
type modeValue struct {
	Mode string `json:"mode"`
}

// deleteSubjectValue is the value of a DELETE_SUBJECT record: every
// version up to Version is soft deleted. CLEAR_SUBJECT uses the same shape
// and removes those versions.
type deleteSubjectValue struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// encodeRecord marshals a key and value (nil value = tombstone).
func encodeRecord(key recordKey, value any) (k, v []byte, err error) {
	k, err = json.Marshal(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s key: %w", key.KeyType, err)
	}
	if value == nil {
		return k, nil, nil
	}
	v, err = json.Marshal(value)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s value: %w", key.KeyType, err)
	}
	return k, v, nil
}
