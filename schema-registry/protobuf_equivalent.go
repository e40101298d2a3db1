package registry

import (
	"slices"
)

// Confluent compares Protobuf schemas by a re-print of their parse
// (ProtobufSchema.canonicalString), so one schema sent as .proto text by
// one client and as a serialized descriptor by another (Confluent's
// JavaScript and Go clients send descriptors) is the same schema, with
// one id and one version. Sluice stores the text as sent (trimmed), so
// an exact match misses; equivalentVersion is the fallback that finds a
// version whose compiled descriptor prints the same (options included,
// comments and layout not).

// equivalentVersion returns the latest version of subject (soft-deleted
// ones too with deleted) holding a Protobuf schema equivalent to p, with
// the same references; nil when p is not Protobuf or none is.
func (s *Server) equivalentVersion(subject string, p *parsedRequest, deleted bool) *version {
	want, ok := p.parsed.(*parsedProtobuf)
	if !ok {
		return nil
	}
	printed := want.printed()
	for _, v := range slices.Backward(s.state.versions(subject, deleted)) {
		if v.Type != TypeProtobuf || !slices.Equal(v.References, p.refs) {
			continue
		}
		stored, err := s.parseStored(v)
		if err != nil {
			continue
		}
		if sp, ok := stored.(*parsedProtobuf); ok && sp.printed() == printed {
			return v
		}
	}
	return nil
}
