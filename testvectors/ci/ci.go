// Package ci holds the project's one rule for tests that need something
// from outside Go (a real client, a verifier, a VM, a D-Bus daemon): on a
// developer's machine a missing tool skips the test; under CI=true, where
// make test has installed everything, it fails it.
package ci

import (
	"os"
	"testing"
)

// enabled reports whether the tests run under CI (CI=true).
func enabled() bool { return os.Getenv("CI") == "true" }

// Unavailable reports that something the test needs is missing: a skip,
// or a failure under CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if enabled() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}
