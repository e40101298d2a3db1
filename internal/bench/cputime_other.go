//go:build !unix

package bench

import "time"

// processCPU is zero where getrusage is missing: no CPU figure is shown.
func processCPU() time.Duration { return 0 }
