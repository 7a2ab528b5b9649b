//go:build !tpmsim

package tpmkeys

import (
	"errors"

	"github.com/google/go-tpm/tpm2/transport"
)

func openSimulator() (transport.TPMCloser, error) {
	return nil, errors.New("TPM simulator: this binary was built without it (build tag tpmsim)")
}
