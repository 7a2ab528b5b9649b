package authenticator

import "math"

// Signature counter names in the store. A per-credential counter is named
// after its credential ID; the prefix keeps the global one apart.
const globalCounterName = "global"

func credentialCounterName(credID []byte) []byte {
	return append([]byte("credential:"), credID...)
}

// reported applies the counter-backwards negative switch: the reported
// value then falls as the real counter rises.
func (a *Authenticator) reported(count uint32) uint32 {
	if a.profile.Negative.CounterBackwards {
		return math.MaxUint32 - count
	}
	return count
}

// initialSignCount is the counter reported at registration: a new
// per-credential counter starts at zero (WebAuthn L3 §6.1.1).
func (a *Authenticator) initialSignCount() (uint32, error) {
	if a.profile.Counter == CounterGlobal {
		count, err := a.store.IncrementCounter([]byte(globalCounterName))
		return a.reported(count), err
	}
	return a.reported(0), nil
}

// nextSignCount advances and returns the counter for an assertion with the
// credential; it is durable before the signature leaves.
func (a *Authenticator) nextSignCount(credID []byte) (uint32, error) {
	name := credentialCounterName(credID)
	switch a.profile.Counter {
	case CounterZero:
		return a.reported(0), nil
	case CounterGlobal:
		name = []byte(globalCounterName)
	}
	count, err := a.store.IncrementCounter(name)
	return a.reported(count), err
}
