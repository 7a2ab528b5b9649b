// Package storetest is a conformance suite for credential stores. The
// in-memory store and the vault run the same cases, so the authenticator
// cannot tell them apart.
package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// Store is what the suite exercises: the authenticator's store interface
// plus Credentials, which the command line uses to list everything.
type Store interface {
	Device() (*store.Device, error)
	SetDevice(*store.Device) error
	PutCredential(c *store.Credential) error
	Credential(id []byte) (*store.Credential, error)
	CredentialsForRP(rpID string) ([]*store.Credential, error)
	Credentials() ([]*store.Credential, error)
	UpdateCredential(c *store.Credential) error
	CountCredentials() (int, error)
	DeleteCredential(id []byte) error
	IncrementCounter(name []byte) (uint32, error)
	Reset() error
}

// Run runs every case as a subtest. open must return a new, empty store;
// it registers any cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"DeviceBeforeSet", testDeviceBeforeSet},
		{"DeviceRoundTrip", testDeviceRoundTrip},
		{"CredentialRoundTrip", testCredentialRoundTrip},
		{"PutDoesNotChangeArgument", testPutDoesNotChangeArgument},
		{"NotFound", testNotFound},
		{"SequenceIncreases", testSequenceIncreases},
		{"ReplaceSameUser", testReplaceSameUser},
		{"SameUserOtherRP", testSameUserOtherRP},
		{"CredentialsForRPNewestFirst", testCredentialsForRPNewestFirst},
		{"CredentialsOldestFirst", testCredentialsOldestFirst},
		{"Delete", testDelete},
		{"Update", testUpdate},
		{"UpdateRefusesIdentityChange", testUpdateRefusesIdentityChange},
		{"ReturnsCopies", testReturnsCopies},
		{"Counters", testCounters},
		{"CountersConcurrent", testCountersConcurrent},
		{"Reset", testReset},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// created is a fixed creation time with nanoseconds, which a store must
// keep.
func created() time.Time { return time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC) }

func cred(id, rpID, userID string) *store.Credential {
	return &store.Credential{
		ID:      []byte(id),
		RPID:    rpID,
		RPName:  "RP " + rpID,
		User:    ctap2.UserEntity{ID: []byte(userID), Name: "user " + userID, DisplayName: "User " + userID},
		Alg:     ctap2.AlgES256,
		Created: created(),
	}
}

// requireSame fails unless got is want as stored: the same fields, with
// Created compared as an instant (a store may return it in another zone)
// and Sequence compared only when want has one.
func requireSame(t *testing.T, want, got *store.Credential, msgAndArgs ...any) {
	t.Helper()
	require.NotNil(t, got, msgAndArgs...)
	w, g := *want, *got
	require.Truef(t, w.Created.Equal(g.Created), "Created: got %v, want %v %s", g.Created, w.Created, fmt.Sprint(msgAndArgs...))
	w.Created, g.Created = time.Time{}, time.Time{}
	if w.Sequence == 0 {
		g.Sequence = 0
	}
	require.Equal(t, w, g, msgAndArgs...)
}

// ids returns the credential IDs of cs, as strings for readable failures.
func ids(cs []*store.Credential) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c.ID)
	}
	return out
}

func testDeviceBeforeSet(t *testing.T, s Store) {
	d, err := s.Device()
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Nil(t, d)
}

func testDeviceRoundTrip(t *testing.T, s Store) {
	first := &store.Device{CredentialKey: bytes.Repeat([]byte{1}, 32)}
	require.NoError(t, s.SetDevice(first))
	got, err := s.Device()
	require.NoError(t, err)
	require.Equal(t, first, got)

	second := &store.Device{
		CredentialKey:    bytes.Repeat([]byte{2}, 32),
		AttestationKey:   []byte("pkcs8 attestation key"),
		AttestationChain: [][]byte{[]byte("leaf"), []byte("intermediate")},
	}
	require.NoError(t, s.SetDevice(second))
	got, err = s.Device()
	require.NoError(t, err)
	require.Equal(t, second, got, "SetDevice must replace the device")
}

func testCredentialRoundTrip(t *testing.T, s Store) {
	cases := map[string]*store.Credential{
		"full": cred("id-full", "example.com", "u1"),
		"minimal": {
			ID:   []byte{0},
			RPID: "minimal.example",
			User: ctap2.UserEntity{ID: []byte{0xff}},
			Alg:  ctap2.AlgEdDSA,
		},
		"long and unicode": {
			ID:      bytes.Repeat([]byte{0xa5}, 1024),
			RPID:    "bücher.example",
			RPName:  "Bücher 📚",
			User:    ctap2.UserEntity{ID: bytes.Repeat([]byte{7}, 64), Name: "zoë", DisplayName: "Zoë Ω"},
			Alg:     ctap2.AlgRS256,
			Created: time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 5*3600)),
		},
	}
	for name, c := range cases {
		require.NoError(t, s.PutCredential(c), name)
		got, err := s.Credential(c.ID)
		require.NoError(t, err, name)
		requireSame(t, c, got, name)
		require.NotZero(t, got.Sequence, "%s: the store must assign Sequence", name)
	}
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, len(cases), n)
}

func testPutDoesNotChangeArgument(t *testing.T, s Store) {
	c := cred("id", "example.com", "u")
	before := *c
	require.NoError(t, s.PutCredential(c))
	require.Equal(t, before, *c)
}

func testNotFound(t *testing.T, s Store) {
	_, err := s.Credential([]byte("nope"))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteCredential([]byte("nope")), store.ErrNotFound)
	got, err := s.CredentialsForRP("nobody.example")
	require.NoError(t, err)
	require.Empty(t, got)
	all, err := s.Credentials()
	require.NoError(t, err)
	require.Empty(t, all)
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Zero(t, n)
}

func testSequenceIncreases(t *testing.T, s Store) {
	var last uint64
	for i := range 5 {
		c := cred(fmt.Sprint("id", i), "example.com", fmt.Sprint("u", i))
		require.NoError(t, s.PutCredential(c))
		got, err := s.Credential(c.ID)
		require.NoError(t, err)
		require.Greater(t, got.Sequence, last, "credential %d", i)
		last = got.Sequence
	}
}

func testReplaceSameUser(t *testing.T, s Store) {
	a := cred("a", "example.com", "alice")
	b := cred("b", "example.com", "bob")
	a2 := cred("a2", "example.com", "alice")
	a2.User.Name = "alice renamed"
	for _, c := range []*store.Credential{a, b, a2} {
		require.NoError(t, s.PutCredential(c))
	}

	_, err := s.Credential(a.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "the replaced credential must be gone")
	got, err := s.Credential(a2.ID)
	require.NoError(t, err)
	requireSame(t, a2, got)
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	forRP, err := s.CredentialsForRP("example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"a2", "b"}, ids(forRP))
	all, err := s.Credentials()
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a2"}, ids(all))
}

func testSameUserOtherRP(t *testing.T, s Store) {
	require.NoError(t, s.PutCredential(cred("x", "one.example", "alice")))
	require.NoError(t, s.PutCredential(cred("y", "two.example", "alice")))
	for _, id := range []string{"x", "y"} {
		_, err := s.Credential([]byte(id))
		require.NoError(t, err, id)
	}
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func testCredentialsForRPNewestFirst(t *testing.T, s Store) {
	puts := []*store.Credential{
		cred("1", "a.example", "u1"),
		cred("2", "b.example", "u1"),
		cred("3", "a.example", "u2"),
		cred("4", "a.example", "u3"),
		cred("5", "b.example", "u2"),
		// An RP ID that has another as a prefix must not mix with it.
		cred("6", "a.example.org", "u1"),
	}
	for _, c := range puts {
		require.NoError(t, s.PutCredential(c))
	}
	for rp, want := range map[string][]string{
		"a.example":     {"4", "3", "1"},
		"b.example":     {"5", "2"},
		"a.example.org": {"6"},
		"c.example":     {},
	} {
		got, err := s.CredentialsForRP(rp)
		require.NoError(t, err, rp)
		require.Equal(t, want, ids(got), rp)
		for _, c := range got {
			requireSame(t, puts[c.ID[0]-'1'], c, rp)
		}
	}
}

func testCredentialsOldestFirst(t *testing.T, s Store) {
	for i, rp := range []string{"c.example", "a.example", "b.example", "a.example"} {
		require.NoError(t, s.PutCredential(cred(fmt.Sprint(i), rp, fmt.Sprint("u", i))))
	}
	all, err := s.Credentials()
	require.NoError(t, err)
	require.Equal(t, []string{"0", "1", "2", "3"}, ids(all))
	for i := 1; i < len(all); i++ {
		require.Greater(t, all[i].Sequence, all[i-1].Sequence)
	}
}

func testDelete(t *testing.T, s Store) {
	for _, c := range []*store.Credential{
		cred("a", "example.com", "u1"),
		cred("b", "example.com", "u2"),
		cred("c", "other.example", "u1"),
	} {
		require.NoError(t, s.PutCredential(c))
	}
	require.NoError(t, s.DeleteCredential([]byte("b")))
	_, err := s.Credential([]byte("b"))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteCredential([]byte("b")), store.ErrNotFound, "second delete")
	forRP, err := s.CredentialsForRP("example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, ids(forRP))
	all, err := s.Credentials()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, ids(all))
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// The same user may register again after a delete.
	require.NoError(t, s.PutCredential(cred("b2", "example.com", "u2")))
	forRP, err = s.CredentialsForRP("example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"b2", "a"}, ids(forRP))
}

func testUpdate(t *testing.T, s Store) {
	for _, c := range []*store.Credential{
		cred("a", "example.com", "u1"),
		cred("b", "example.com", "u2"),
		cred("c", "example.com", "u3"),
	} {
		require.NoError(t, s.PutCredential(c))
	}
	before, err := s.Credential([]byte("b"))
	require.NoError(t, err)

	update := cred("b", "example.com", "u2")
	update.User.Name, update.User.DisplayName = "renamed", ""
	update.Sequence = 999 // the store keeps its own
	require.NoError(t, s.UpdateCredential(update))

	got, err := s.Credential([]byte("b"))
	require.NoError(t, err)
	want := cred("b", "example.com", "u2")
	want.User.Name, want.User.DisplayName = "renamed", ""
	want.Sequence = before.Sequence
	requireSame(t, want, got, "updated credential")
	forRP, err := s.CredentialsForRP("example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"c", "b", "a"}, ids(forRP), "an update keeps the creation order")
	all, err := s.Credentials()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, ids(all))
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, 3, n)

	require.ErrorIs(t, s.UpdateCredential(cred("missing", "example.com", "u9")), store.ErrNotFound)
}

func testUpdateRefusesIdentityChange(t *testing.T, s Store) {
	require.NoError(t, s.PutCredential(cred("a", "example.com", "u1")))
	for _, c := range []*store.Credential{
		cred("a", "other.example", "u1"),
		cred("a", "example.com", "u2"),
	} {
		err := s.UpdateCredential(c)
		require.Error(t, err, "update to RP %q user %q", c.RPID, c.User.ID)
		require.NotErrorIs(t, err, store.ErrNotFound)
	}
	got, err := s.Credential([]byte("a"))
	require.NoError(t, err)
	requireSame(t, cred("a", "example.com", "u1"), got, "after refused updates")
}

func testReturnsCopies(t *testing.T, s Store) {
	c := cred("id", "example.com", "u")
	require.NoError(t, s.PutCredential(c))
	c.RPID, c.User.Name = "changed.example", "changed" // after Put
	got, err := s.Credential([]byte("id"))
	require.NoError(t, err)
	require.Equal(t, "example.com", got.RPID)
	got.RPID, got.User.Name = "changed.example", "changed" // a returned copy
	again, err := s.Credential([]byte("id"))
	require.NoError(t, err)
	requireSame(t, cred("id", "example.com", "u"), again)

	d := &store.Device{CredentialKey: bytes.Repeat([]byte{3}, 32)}
	require.NoError(t, s.SetDevice(d))
	d.AttestationKey = []byte("changed")
	gotD, err := s.Device()
	require.NoError(t, err)
	require.Nil(t, gotD.AttestationKey)
}

func testCounters(t *testing.T, s Store) {
	for i := uint32(1); i <= 3; i++ {
		n, err := s.IncrementCounter([]byte("a"))
		require.NoError(t, err)
		require.Equal(t, i, n)
	}
	n, err := s.IncrementCounter([]byte("b"))
	require.NoError(t, err)
	require.Equal(t, uint32(1), n, "counters are independent")
	n, err = s.IncrementCounter([]byte{0, 0xff, 'a'})
	require.NoError(t, err)
	require.Equal(t, uint32(1), n, "binary names")
	n, err = s.IncrementCounter([]byte("a"))
	require.NoError(t, err)
	require.Equal(t, uint32(4), n)
}

func testCountersConcurrent(t *testing.T, s Store) {
	const workers, each = 4, 25
	seen := make(chan uint32, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := s.IncrementCounter([]byte("shared"))
				assert.NoError(t, err)
				seen <- n
			}
		})
	}
	wg.Wait()
	close(seen)
	unique := map[uint32]bool{}
	for n := range seen {
		require.False(t, unique[n], "value %d returned twice", n)
		unique[n] = true
	}
	n, err := s.IncrementCounter([]byte("shared"))
	require.NoError(t, err)
	require.Equal(t, uint32(workers*each+1), n)
}

func testReset(t *testing.T, s Store) {
	require.NoError(t, s.SetDevice(&store.Device{CredentialKey: bytes.Repeat([]byte{9}, 32)}))
	require.NoError(t, s.PutCredential(cred("a", "example.com", "u1")))
	require.NoError(t, s.PutCredential(cred("b", "other.example", "u1")))
	for range 3 {
		_, err := s.IncrementCounter([]byte("c"))
		require.NoError(t, err)
	}

	require.NoError(t, s.Reset())

	_, err := s.Device()
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Credential([]byte("a"))
	require.ErrorIs(t, err, store.ErrNotFound)
	forRP, err := s.CredentialsForRP("example.com")
	require.NoError(t, err)
	require.Empty(t, forRP)
	all, err := s.Credentials()
	require.NoError(t, err)
	require.Empty(t, all)
	n, err := s.CountCredentials()
	require.NoError(t, err)
	require.Zero(t, n)
	c, err := s.IncrementCounter([]byte("c"))
	require.NoError(t, err)
	require.Equal(t, uint32(1), c, "Reset forgets counters")

	// The store works as new afterwards.
	require.NoError(t, s.PutCredential(cred("a", "example.com", "u1")))
	forRP, err = s.CredentialsForRP("example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, ids(forRP))
	require.NoError(t, s.SetDevice(&store.Device{CredentialKey: bytes.Repeat([]byte{8}, 32)}))
	_, err = s.Device()
	require.NoError(t, err)
}
