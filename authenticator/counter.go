package authenticator

// Signature counter names in the store. A per-credential counter is named
// after its credential ID; the prefix keeps the global one apart.
const globalCounterName = "global"

func credentialCounterName(credID []byte) []byte {
	return append([]byte("credential:"), credID...)
}

// initialSignCount is the counter reported at registration: a new
// per-credential counter starts at zero (WebAuthn L3 §6.1.1).
func (a *Authenticator) initialSignCount() (uint32, error) {
	if a.profile.Counter == CounterGlobal {
		return a.store.IncrementCounter([]byte(globalCounterName))
	}
	return 0, nil
}

// nextSignCount advances and returns the counter for an assertion with the
// credential; it is durable before the signature leaves.
func (a *Authenticator) nextSignCount(credID []byte) (uint32, error) {
	switch a.profile.Counter {
	case CounterZero:
		return 0, nil
	case CounterGlobal:
		return a.store.IncrementCounter([]byte(globalCounterName))
	}
	return a.store.IncrementCounter(credentialCounterName(credID))
}
