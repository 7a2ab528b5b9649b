//go:build tpmsim

package tpmkeys

import (
	"fmt"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2/transport"
)

// openSimulator starts the in-process reference TPM (go-tpm-tools, cgo).
// It is one per process: a second Open("simulator") waits until the first
// is closed. Its seeds are new at every start, so keys do not outlive the
// process.
func openSimulator() (transport.TPMCloser, error) {
	sim, err := simulator.Get()
	if err != nil {
		return nil, fmt.Errorf("starting the TPM simulator: %w", err)
	}
	return transport.FromReadWriteCloser(sim), nil
}
