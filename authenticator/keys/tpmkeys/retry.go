package tpmkeys

import (
	"encoding/binary"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// maxRetries bounds how often a command the TPM could not start is sent
// again.
const maxRetries = 8

// retrying sends a command again while the TPM answers that it could not
// run it yet: TPM_RC_RETRY, TPM_RC_YIELDED or TPM_RC_TESTING (TPM 2.0
// Part 2 §6.6.3: warnings after which "the command may be retried").
// Hardware TPMs answer so while busy with self tests or other work.
type retrying struct{ tpm transport.TPM }

func (r retrying) Send(cmd []byte) ([]byte, error) {
	for range maxRetries - 1 {
		rsp, err := r.tpm.Send(cmd)
		if err != nil || len(rsp) < 10 {
			return rsp, err
		}
		switch tpm2.TPMRC(binary.BigEndian.Uint32(rsp[6:10])) {
		case tpm2.TPMRCRetry, tpm2.TPMRCYielded, tpm2.TPMRCTesting:
			continue
		}
		return rsp, nil
	}
	return r.tpm.Send(cmd)
}
