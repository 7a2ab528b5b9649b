package authenticator

import (
	"crypto"
	"fmt"
)

// keyCacheSize bounds how many credential keys stay loaded. Rebuilding a
// P-256 key from its sealed form costs a scalar multiplication, half as much
// as the signature itself, and the standard library caches its internal form
// of a key per key object, so reusing the object saves a second one.
const keyCacheSize = 64

// loadKey returns the private key sealed in a credential ID, loading it
// through the key backend unless it was used recently.
func (a *Authenticator) loadKey(credID []byte, src *credentialSource) (crypto.Signer, error) {
	if key, ok := a.loadedKeys[string(credID)]; ok {
		return key, nil
	}
	key, err := a.keys.LoadKey(src.alg, src.sealedKey)
	if err != nil {
		return nil, fmt.Errorf("loading credential key: %w", err)
	}
	a.rememberKey(credID, key)
	return key, nil
}

// rememberKey puts a key in the cache, evicting an arbitrary entry when full.
func (a *Authenticator) rememberKey(credID []byte, key crypto.Signer) {
	if a.loadedKeys == nil {
		a.loadedKeys = make(map[string]crypto.Signer, keyCacheSize)
	}
	if len(a.loadedKeys) >= keyCacheSize {
		for id := range a.loadedKeys {
			delete(a.loadedKeys, id)
			break
		}
	}
	a.loadedKeys[string(credID)] = key
}
