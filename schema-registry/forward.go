package registry

import "net/http"

// forwardWrite sends a write to the primary when this instance is not
// it, and reports whether it did. Until election lands every instance
// writes itself (single-instance mode).
func (s *Server) forwardWrite(http.ResponseWriter, *http.Request) bool { return false }
