package tpmkeys

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"
)

// scriptedTPM answers with the given response codes in turn.
type scriptedTPM struct {
	codes []tpm2.TPMRC
	sent  int
}

func (s *scriptedTPM) Send([]byte) ([]byte, error) {
	rc := s.codes[min(s.sent, len(s.codes)-1)]
	s.sent++
	rsp := make([]byte, 10)
	binary.BigEndian.PutUint16(rsp, uint16(tpm2.TPMSTNoSessions))
	binary.BigEndian.PutUint32(rsp[2:], 10)
	binary.BigEndian.PutUint32(rsp[6:], uint32(rc))
	return rsp, nil
}

func TestRetrying(t *testing.T) {
	ok := tpm2.TPMRC(0)
	tests := []struct {
		name     string
		codes    []tpm2.TPMRC
		wantRC   tpm2.TPMRC
		wantSent int
	}{
		{"success", []tpm2.TPMRC{ok}, ok, 1},
		{"retry then success", []tpm2.TPMRC{tpm2.TPMRCRetry, tpm2.TPMRCYielded, tpm2.TPMRCTesting, ok}, ok, 4},
		{"other error is final", []tpm2.TPMRC{tpm2.TPMRCLockout, ok}, tpm2.TPMRCLockout, 1},
		{"gives up", []tpm2.TPMRC{tpm2.TPMRCRetry}, tpm2.TPMRCRetry, maxRetries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scriptedTPM{codes: tt.codes}
			rsp, err := retrying{s}.Send([]byte{0})
			require.NoError(t, err)
			require.Equal(t, tt.wantRC, tpm2.TPMRC(binary.BigEndian.Uint32(rsp[6:10])), "response code")
			require.Equal(t, tt.wantSent, s.sent, "commands sent")
		})
	}
}
