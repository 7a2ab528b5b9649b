package store

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Memory is a Store kept in memory. The zero value is empty and ready.
type Memory struct {
	mu       sync.Mutex
	device   *Device
	creds    []*Credential
	counters map[string]uint32
	seq      uint64
}

// Device returns the device secrets, or ErrNotFound before SetDevice.
func (m *Memory) Device() (*Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.device == nil {
		return nil, ErrNotFound
	}
	return m.device.Clone(), nil
}

// SetDevice replaces the device secrets.
func (m *Memory) SetDevice(d *Device) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.device = d.Clone()
	return nil
}

// PutCredential stores c, replacing any credential with the same RP ID and
// user ID (CTAP 2.1 §6.1.2 step 17).
func (m *Memory) PutCredential(c *Credential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds = slices.DeleteFunc(m.creds, func(old *Credential) bool {
		return old.RPID == c.RPID && bytes.Equal(old.User.ID, c.User.ID)
	})
	m.seq++
	stored := *c
	stored.Sequence = m.seq
	m.creds = append(m.creds, &stored)
	return nil
}

// Credential returns the credential with the given ID.
func (m *Memory) Credential(id []byte) (*Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.creds {
		if bytes.Equal(c.ID, id) {
			cp := *c
			return &cp, nil
		}
	}
	return nil, ErrNotFound
}

// CredentialsForRP returns the credentials of rpID, newest first.
func (m *Memory) CredentialsForRP(rpID string) ([]*Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Credential
	for i := len(m.creds) - 1; i >= 0; i-- {
		if m.creds[i].RPID == rpID {
			cp := *m.creds[i]
			out = append(out, &cp)
		}
	}
	return out, nil
}

// Credentials returns every credential, oldest first.
func (m *Memory) Credentials() ([]*Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Credential, len(m.creds))
	for i, c := range m.creds {
		cp := *c
		out[i] = &cp
	}
	return out, nil
}

// UpdateCredential replaces the credential that has c's ID with c, keeping
// its Sequence. c must keep the stored RP ID and user ID.
func (m *Memory) UpdateCredential(c *Credential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, old := range m.creds {
		if !bytes.Equal(old.ID, c.ID) {
			continue
		}
		if old.RPID != c.RPID || !bytes.Equal(old.User.ID, c.User.ID) {
			return fmt.Errorf("store: updating credential: RP ID and user ID cannot change")
		}
		stored := *c
		stored.Sequence = old.Sequence
		m.creds[i] = &stored
		return nil
	}
	return ErrNotFound
}

// CountCredentials returns the number of stored credentials.
func (m *Memory) CountCredentials() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.creds), nil
}

// DeleteCredential removes the credential with the given ID.
func (m *Memory) DeleteCredential(id []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.creds)
	m.creds = slices.DeleteFunc(m.creds, func(c *Credential) bool { return bytes.Equal(c.ID, id) })
	if len(m.creds) == n {
		return ErrNotFound
	}
	return nil
}

// IncrementCounter adds one to the named signature counter and returns
// the new value.
func (m *Memory) IncrementCounter(name []byte) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counters == nil {
		m.counters = make(map[string]uint32)
	}
	k := hex.EncodeToString(name)
	if m.counters[k] < math.MaxUint32 { // saturate rather than wrap: counters never go backwards
		m.counters[k]++
	}
	return m.counters[k], nil
}

// Reset forgets everything, device secrets included.
func (m *Memory) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.device, m.creds, m.counters, m.seq = nil, nil, nil, 0
	return nil
}
