package transform

import (
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Validators with Kafka's exact messages where the shared ones in
// runtime/connect word them differently.

// nonEmptyString is Kafka's ConfigDef.NonEmptyString: null passes, "" fails.
var nonEmptyString = connect.ValidatorFunc{
	Fn: func(_ string, v any) string {
		if s, ok := v.(string); ok && s == "" {
			return "String must be non-empty"
		}
		return ""
	},
	Desc: "non-empty string",
}

// nonEmptyList is Kafka's transforms.util.NonEmptyListValidator.
var nonEmptyList = connect.ValidatorFunc{
	Fn: func(_ string, v any) string {
		if l, ok := v.([]string); !ok || len(l) == 0 {
			return "Empty list"
		}
		return ""
	},
	Desc: "non-empty list",
}

// javaRegex checks that a pattern compiles (Kafka's RegexValidator); Go's
// RE2 syntax stands in for java.util.regex, so look-arounds and
// back-references are refused here rather than at run time.
var javaRegex = connect.ValidatorFunc{
	Fn: func(_ string, v any) string {
		s, _ := v.(string)
		if _, err := regexp.Compile(s); err != nil {
			return "Invalid regex: " + err.Error()
		}
		return ""
	},
	Desc: "valid regex",
}

// validString is Kafka's ConfigDef.ValidString.in.
func validString(values ...string) connect.Validator {
	return connect.ValidatorFunc{
		Fn: func(_ string, v any) string {
			s, _ := v.(string)
			for _, x := range values {
				if x == s {
					return ""
				}
			}
			return "String must be one of: " + strings.Join(values, ", ")
		},
		Desc: "[" + strings.Join(values, ", ") + "]",
	}
}

// caseInsensitiveValidString is Kafka's ConfigDef.CaseInsensitiveValidString.in.
func caseInsensitiveValidString(values ...string) connect.Validator {
	return connect.ValidatorFunc{
		Fn: func(_ string, v any) string {
			s, _ := v.(string)
			for _, x := range values {
				if strings.EqualFold(x, s) {
					return ""
				}
			}
			return "String must be one of (case insensitive): " + strings.Join(values, ", ")
		},
		Desc: "(case insensitive) [" + strings.Join(values, ", ") + "]",
	}
}

// composite runs validators in order and reports the first failure
// (Kafka's ConfigDef.CompositeValidator).
func composite(vs ...connect.Validator) connect.Validator {
	descs := make([]string, len(vs))
	for i, v := range vs {
		descs[i] = v.String()
	}
	return connect.ValidatorFunc{
		Fn: func(name string, v any) string {
			for _, x := range vs {
				if msg := x.Validate(name, v); msg != "" {
					return msg
				}
			}
			return ""
		},
		Desc: strings.Join(descs, ", "),
	}
}

// replaceNullWithDefaultKey is the KIP-1040 option shared by nine
// transforms.
var replaceNullWithDefaultKey = connect.ConfigKey{
	Name: "replace.null.with.default", Type: connect.ConfigBoolean, Default: true, Importance: connect.Medium,
	Doc: "Whether a null field that has a schema default is read as that default (true) or kept null (false).",
}

// javaSplit splits s on sep as Java's String.split does: trailing empty
// strings are dropped.
func javaSplit(s, sep string) []string {
	if !strings.Contains(s, sep) {
		return []string{s}
	}
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
