package attestation

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"github.com/softkeydev/softkey/testvectors/ci"
	"os"
	"os/exec"
	"testing"
)

// pythonPath is Debian's interpreter, whose dist-packages hold python3-fido2.
const pythonPath = "/usr/bin/python3"

// requirePythonFIDO2 skips the test when python-fido2 is not installed,
// unless CI=true, where a missing oracle is a failure (style.md §e).
func requirePythonFIDO2(t *testing.T) {
	t.Helper()
	missing := func(why string) { ci.Unavailable(t, "python-fido2 oracle unavailable: %s", why) }
	if _, err := os.Stat(pythonPath); err != nil {
		missing(err.Error())
		return
	}
	out, err := exec.Command(pythonPath, "-c", "import fido2; print(fido2.__version__)").CombinedOutput()
	if err != nil {
		missing("importing fido2: " + err.Error() + ": " + string(out))
		return
	}
	t.Logf("python-fido2 %s", bytes.TrimSpace(out))
}

// TestPythonFIDO2 checks every case with python-fido2's attestation
// verifiers (fido2.attestation.Attestation.for_type(fmt)().verify) and, for
// x5c statements, its chain check up to the case's trust root.
func TestPythonFIDO2(t *testing.T) {
	requirePythonFIDO2(t)
	type pyCase struct {
		Name              string   `json:"name"`
		AttestationObject string   `json:"attestation_object"`
		ClientDataHash    string   `json:"client_data_hash"`
		Root              string   `json:"root,omitempty"`
		Intermediates     []string `json:"intermediates,omitempty"`
	}
	type pyResult struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Type  string `json:"type"`
		Error string `json:"error"`
	}
	cases := oracleCases(t)
	in := make([]pyCase, len(cases))
	for i, tc := range cases {
		in[i] = pyCase{Name: tc.name, AttestationObject: hex.EncodeToString(tc.attObj), ClientDataHash: hex.EncodeToString(tc.cdh)}
		if tc.trustRoot != nil {
			in[i].Root = hex.EncodeToString(tc.trustRoot.Raw)
		}
		for _, c := range tc.extraAnchors {
			in[i].Intermediates = append(in[i].Intermediates, hex.EncodeToString(c.Raw))
		}
	}
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonPath, "testdata/verify_attestation.py")
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running verify_attestation.py: %v\n%s", err, stderr.String())
	}
	var results []pyResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("decoding verifier output %q: %v", out, err)
	}
	if len(results) != len(cases) {
		t.Fatalf("verifier returned %d results for %d cases", len(results), len(cases))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := results[i]
			if r.Name != tc.name {
				t.Fatalf("result %d is for %q", i, r.Name)
			}
			wantOK, why := tc.expectOK(verifierPython)
			if wantOK != tc.wantOK {
				t.Logf("python-fido2 is expected to differ: %s", why)
			}
			if wantOK {
				if !r.OK {
					t.Fatalf("python-fido2 rejected the attestation: %s", r.Error)
				}
				if tc.wantOK && r.Type != tc.wantPy {
					t.Errorf("attestation type = %q, want %q", r.Type, tc.wantPy)
				}
				return
			}
			if r.OK {
				t.Fatalf("python-fido2 accepted the attestation (type %q), want rejection", r.Type)
			}
			t.Logf("rejected as expected: %s", r.Error)
		})
	}
}
