// Package advert carries the BLE advert of the hybrid transport (caBLE v2)
// between a phone and a client: the 20 bytes of service data a phone
// broadcasts under the FIDO UUID 0xFFF9 (hybrid-cable.md §4.2, §4.4).
//
// A phone role takes an [Advertiser], a client role a [Scanner]. Neither
// looks inside the 20 bytes: encrypting and trial-decrypting them is
// hybrid.EncryptAdvert and hybrid.DecryptAdvert.
//
// # Local channel
//
// [UDPAdvertiser] and [UDPScanner] stand in for the radio between
// processes on one host, for tests and for people without Bluetooth. Each
// UDP datagram is exactly the 20 bytes of service data, nothing else; the
// scanner drops datagrams of any other size, as a client drops service
// data that is not 20 bytes long (§4.3 step 1). The advertiser repeats
// its datagram every [DefaultInterval] until its context ends, as a phone
// keeps advertising; the scanner delivers each distinct advert once (§4.3
// step 6). Both default to [DefaultAddr], 127.0.0.1:8113 (UDP), next to
// the CTAPHID-over-UDP port 8111 and the tunnel server's TCP port 8112.
//
// # BlueZ
//
// On a Linux host with Bluetooth, [BlueZAdvertiser] and [BlueZScanner]
// talk to BlueZ (bluetoothd) over D-Bus. The advertiser exports an
// org.bluez.LEAdvertisement1 object of type "broadcast" (non-connectable,
// undirected) with ServiceUUIDs ["0000fff9-0000-1000-8000-00805f9b34fb"]
// and ServiceData {"0000fff9-…": <20 bytes>}, no local name and no TX
// power, and registers it with RegisterAdvertisement on the adapter's
// org.bluez.LEAdvertisingManager1, which should yield the legacy AD structures
// "03 03 F9 FF" and "17 16 F9 FF <20 bytes>" that Chrome on Android sends
// (§4.4); it unregisters and unexports it when the context ends. The
// scanner calls SetDiscoveryFilter({Transport: "le", UUIDs: [0xFFF9,
// 0xFDE2], DuplicateData: true}) and StartDiscovery on org.bluez.Adapter1
// and reads the ServiceData property of org.bluez.Device1 objects
// (InterfacesAdded and PropertiesChanged signals) under both 0xFFF9 and
// the older Google UUID 0xFDE2; it calls StopDiscovery when the context
// ends. A missing bluetoothd or adapter gives an error that says so.
//
// Both are tested against a fake BlueZ on a private dbus-daemon bus, which
// checks the D-Bus calls and properties exchanged; they have never been
// run against a real radio here, as there is no Bluetooth adapter where
// softkey is developed and tested.
package advert

import (
	"context"
	"time"
)

// Size is the size of the service data a phone advertises (§4.2).
const Size = 20

// DefaultAddr is the UDP address [UDPAdvertiser] sends to and [UDPScanner]
// listens on when none is given.
const DefaultAddr = "127.0.0.1:8113"

// DefaultInterval is how often [UDPAdvertiser] repeats its advert when
// no interval is given.
const DefaultInterval = 100 * time.Millisecond

// Advertiser broadcasts the service data of a phone.
type Advertiser interface {
	// Advertise broadcasts serviceData until ctx ends, then returns nil;
	// it returns an error only if advertising fails.
	Advertise(ctx context.Context, serviceData [Size]byte) error
}

// Scanner reports the service data of adverts seen nearby.
type Scanner interface {
	// Scan starts scanning and returns a channel of distinct adverts,
	// which is closed once ctx ends and scanning has stopped.
	Scan(ctx context.Context) (<-chan [Size]byte, error)
}
