package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/softkeydev/softkey/transport/hybrid"
	"github.com/softkeydev/softkey/transport/hybrid/advert"
)

// Advert channels --advert can name.
const (
	advertUDP   = "udp"   // loopback UDP between processes (no radio needed)
	advertBlueZ = "bluez" // Bluetooth through BlueZ on the system bus
)

// addAdvertFlag registers --advert, the channel the 20-byte advert takes.
func addAdvertFlag(f *pflag.FlagSet, kind *string) {
	f.StringVar(kind, "advert", advertUDP, "advert `channel`: udp (loopback, see --advert-addr) or bluez (a real Bluetooth adapter through BlueZ; not tested on a radio)")
}

// advertScanner opens the advert channel a desktop listens on, and
// returns a function that releases it.
func advertScanner(kind, addr string, logger *slog.Logger) (hybrid.Scanner, func(), error) {
	switch kind {
	case advertUDP:
		s, err := advert.ListenUDP(addr, logger)
		if err != nil {
			return nil, nil, withHints(fmt.Errorf("listening for adverts: %w", err),
				"if another softkey hybrid qr listens there, stop it or pass --advert-addr")
		}
		return s, func() { s.Close() }, nil
	case advertBlueZ:
		return &advert.BlueZScanner{}, func() {}, nil
	}
	return nil, nil, fmt.Errorf("--advert must be %s or %s, not %q", advertUDP, advertBlueZ, kind)
}

// advertAdvertiser returns the advert channel a phone broadcasts on.
func advertAdvertiser(kind, addr string) (hybrid.Advertiser, error) {
	switch kind {
	case advertUDP:
		return &advert.UDPAdvertiser{Addr: addr}, nil
	case advertBlueZ:
		return &advert.BlueZAdvertiser{}, nil
	}
	return nil, fmt.Errorf("--advert must be %s or %s, not %q", advertUDP, advertBlueZ, kind)
}
