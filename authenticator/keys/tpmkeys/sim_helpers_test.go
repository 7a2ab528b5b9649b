//go:build tpmsim

package tpmkeys

import (
	"testing"

	gtsim "github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"
)

// The simulator is a process-wide singleton (a second Get blocks until the
// first is closed), so no test in this package runs in parallel.

// newSimulator starts the in-process reference TPM and closes it when the
// test ends. Its hierarchy seeds are random: GetWithFixedSeedInsecure sets
// them in RAM only, so a simulated reboot (Reset) brings back the random
// ones from NV and would look like a TPM clear.
func newSimulator(t testing.TB) (*gtsim.Simulator, transport.TPM) {
	t.Helper()
	sim, err := gtsim.Get()
	require.NoError(t, err, "starting the TPM simulator")
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	return sim, transport.FromReadWriter(sim)
}

// newSimBackend returns a backend on a fresh simulator.
func newSimBackend(t testing.TB) (*Backend, *gtsim.Simulator, transport.TPM) {
	t.Helper()
	sim, tpm := newSimulator(t)
	b, err := New(Config{TPM: tpm})
	require.NoError(t, err)
	return b, sim, tpm
}

// transientHandles lists the transient objects loaded in the TPM.
func transientHandles(t testing.TB, tpm transport.TPM) []tpm2.TPMHandle {
	t.Helper()
	rsp, err := tpm2.GetCapability{
		Capability:    tpm2.TPMCapHandles,
		Property:      uint32(tpm2.TPMHTTransient) << 24,
		PropertyCount: 16,
	}.Execute(tpm)
	require.NoError(t, err)
	handles, err := rsp.CapabilityData.Data.Handles()
	require.NoError(t, err)
	return handles.Handle
}

// clearTPM runs TPM2_Clear with the (empty) lockout password: new owner
// seed, every owner-hierarchy object gone (TPM 2.0 Part 3 §24.6).
func clearTPM(t testing.TB, tpm transport.TPM) {
	t.Helper()
	_, err := tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHLockout, Auth: tpm2.PasswordAuth(nil)}}.Execute(tpm)
	require.NoError(t, err, "TPM2_Clear")
}
