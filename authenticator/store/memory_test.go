package store_test

import (
	"testing"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/authenticator/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return new(store.Memory) })
}
