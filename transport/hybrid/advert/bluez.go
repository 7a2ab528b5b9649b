package advert

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// BlueZ D-Bus names used by [BlueZAdvertiser] and [BlueZScanner].
const (
	bluezService       = "org.bluez"
	bluezAdvertIface   = "org.bluez.LEAdvertisement1"
	bluezAdvManager    = "org.bluez.LEAdvertisingManager1"
	bluezAdapterIface  = "org.bluez.Adapter1"
	bluezDeviceIface   = "org.bluez.Device1"
	dbusPropsIface     = "org.freedesktop.DBus.Properties"
	dbusObjectManager  = "org.freedesktop.DBus.ObjectManager"
	defaultAdapterPath = dbus.ObjectPath("/org/bluez/hci0")
)

// FIDO service UUIDs of hybrid-cable.md §4.4 in BlueZ's 128-bit form.
const (
	// UUIDFIDO is the FIDO SDO 16-bit UUID 0xFFF9 that phones advertise.
	UUIDFIDO = "0000fff9-0000-1000-8000-00805f9b34fb"
	// UUIDGoogle is the older Google UUID 0xFDE2 clients also scan for.
	UUIDGoogle = "0000fde2-0000-1000-8000-00805f9b34fb"
)

// bluezTimeout bounds the D-Bus calls made after the caller's context
// has ended (unregistering, stopping discovery).
const bluezTimeout = 5 * time.Second

// advertSeq makes advertisement object paths unique within a process.
var advertSeq atomic.Uint64

// BlueZAdvertiser is an [Advertiser] over a Bluetooth adapter driven by
// BlueZ (bluetoothd) through D-Bus. The zero value uses the system bus and
// adapter hci0.
type BlueZAdvertiser struct {
	// Conn is the D-Bus connection to BlueZ's bus; nil means a private
	// connection to the system bus, opened and closed by Advertise.
	Conn *dbus.Conn
	// Adapter is the adapter's object path; empty means /org/bluez/hci0.
	Adapter dbus.ObjectPath
}

// BlueZScanner is a [Scanner] over a Bluetooth adapter driven by BlueZ
// through D-Bus. The zero value uses the system bus and adapter hci0.
type BlueZScanner struct {
	// Conn is the D-Bus connection to BlueZ's bus; nil means a private
	// connection to the system bus, opened by Scan and closed when its
	// context ends.
	Conn *dbus.Conn
	// Adapter is the adapter's object path; empty means /org/bluez/hci0.
	Adapter dbus.ObjectPath
}

// bluezConn returns conn, or a new private system-bus connection and a
// function closing it.
func bluezConn(conn *dbus.Conn) (*dbus.Conn, func(), error) {
	if conn != nil {
		return conn, func() {}, nil
	}
	c, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the D-Bus system bus (is dbus running?): %w", err)
	}
	return c, func() { c.Close() }, nil
}

func adapterPath(p dbus.ObjectPath) dbus.ObjectPath {
	if p == "" {
		return defaultAdapterPath
	}
	return p
}

// bluezError turns the D-Bus errors of a missing BlueZ or adapter into
// errors that name the fix.
func bluezError(what string, adapter dbus.ObjectPath, err error) error {
	var derr dbus.Error
	if errors.As(err, &derr) {
		switch derr.Name {
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			return fmt.Errorf("%s: bluetoothd not running (no %s on the bus; start it with `systemctl start bluetooth`): %w", what, bluezService, err)
		case "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.NoSuchObject",
			"org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.UnknownInterface":
			return fmt.Errorf("%s: no adapter %s (%s; check `bluetoothctl list` and that it is powered, or set Adapter): %w",
				what, adapterName(adapter), adapter, err)
		}
	}
	return fmt.Errorf("%s on %s: %w", what, adapter, err)
}

// adapterName is the last element of an adapter path, as "hci0".
func adapterName(p dbus.ObjectPath) string {
	s := string(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}

// advertObject is an exported org.bluez.LEAdvertisement1 object with its
// org.freedesktop.DBus.Properties.
type advertObject struct {
	props    map[string]dbus.Variant
	released chan struct{}
	once     sync.Once
}

// Release is called by BlueZ when it drops the advertisement.
func (o *advertObject) Release() *dbus.Error {
	o.once.Do(func() { close(o.released) })
	return nil
}

type advertProps struct{ o *advertObject }

func (p advertProps) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	if iface != bluezAdvertIface {
		return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no interface %s", iface))
	}
	v, ok := p.o.props[name]
	if !ok {
		return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no property %s", name))
	}
	return v, nil
}

func (p advertProps) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != bluezAdvertIface {
		return map[string]dbus.Variant{}, nil
	}
	return p.o.props, nil
}

func (p advertProps) Set(iface, name string, _ dbus.Variant) *dbus.Error {
	return dbus.MakeFailedError(fmt.Errorf("property %s.%s is read-only", iface, name))
}

// Advertise exports an org.bluez.LEAdvertisement1 object of type
// "broadcast" with ServiceUUIDs [0xFFF9] and ServiceData {0xFFF9:
// serviceData}, registers it with the adapter's
// org.bluez.LEAdvertisingManager1, and keeps it registered until ctx
// ends; then it unregisters and unexports it and returns nil. It returns
// an error if registering fails (naming the fix when bluetoothd or the
// adapter is missing) or if BlueZ releases the advertisement early.
func (a *BlueZAdvertiser) Advertise(ctx context.Context, serviceData [Size]byte) error {
	conn, closeConn, err := bluezConn(a.Conn)
	if err != nil {
		return err
	}
	defer closeConn()
	adapter := adapterPath(a.Adapter)
	path := dbus.ObjectPath(fmt.Sprintf("/org/softkey/advert%d", advertSeq.Add(1)))
	obj := &advertObject{
		props: map[string]dbus.Variant{
			"Type":           dbus.MakeVariant("broadcast"),
			"ServiceUUIDs":   dbus.MakeVariant([]string{UUIDFIDO}),
			"ServiceData":    dbus.MakeVariant(map[string]dbus.Variant{UUIDFIDO: dbus.MakeVariant(serviceData[:])}),
			"IncludeTxPower": dbus.MakeVariant(false),
		},
		released: make(chan struct{}),
	}
	if err := conn.Export(obj, path, bluezAdvertIface); err != nil {
		return fmt.Errorf("exporting advertisement: %w", err)
	}
	defer conn.Export(nil, path, bluezAdvertIface)
	if err := conn.Export(advertProps{obj}, path, dbusPropsIface); err != nil {
		return fmt.Errorf("exporting advertisement properties: %w", err)
	}
	defer conn.Export(nil, path, dbusPropsIface)

	mgr := conn.Object(bluezService, adapter)
	call := mgr.CallWithContext(ctx, bluezAdvManager+".RegisterAdvertisement", 0, path, map[string]dbus.Variant{})
	if call.Err != nil {
		if ctx.Err() != nil {
			// Cancelled while registering: BlueZ may still have
			// registered it, so unregister to be sure.
			a.unregister(mgr, path)
			return nil
		}
		return bluezError("registering advertisement", adapter, call.Err)
	}
	select {
	case <-ctx.Done():
		a.unregister(mgr, path)
		return nil
	case <-obj.released:
		return fmt.Errorf("BlueZ released advertisement %s on %s", path, adapter)
	}
}

func (a *BlueZAdvertiser) unregister(mgr dbus.BusObject, path dbus.ObjectPath) {
	ctx, cancel := context.WithTimeout(context.Background(), bluezTimeout)
	defer cancel()
	// Errors are ignored: the advertisement may already be gone.
	mgr.CallWithContext(ctx, bluezAdvManager+".UnregisterAdvertisement", 0, path)
}

// Scan sets the adapter's discovery filter to LE and the FIDO UUIDs
// 0xFFF9 and 0xFDE2, starts discovery, and delivers each distinct 20-byte
// ServiceData value under either UUID that BlueZ reports for an
// org.bluez.Device1 under the adapter (InterfacesAdded and
// PropertiesChanged signals). Values of other sizes are dropped. When
// ctx ends it stops discovery and closes the channel.
func (s *BlueZScanner) Scan(ctx context.Context) (<-chan [Size]byte, error) {
	conn, closeConn, err := bluezConn(s.Conn)
	if err != nil {
		return nil, err
	}
	adapter := adapterPath(s.Adapter)
	ad := conn.Object(bluezService, adapter)
	filter := map[string]dbus.Variant{
		"Transport":     dbus.MakeVariant("le"),
		"UUIDs":         dbus.MakeVariant([]string{UUIDFIDO, UUIDGoogle}),
		"DuplicateData": dbus.MakeVariant(true),
	}
	if err := ad.CallWithContext(ctx, bluezAdapterIface+".SetDiscoveryFilter", 0, filter).Err; err != nil {
		closeConn()
		return nil, bluezError("setting discovery filter", adapter, err)
	}

	matches := [][]dbus.MatchOption{
		{
			dbus.WithMatchSender(bluezService),
			dbus.WithMatchInterface(dbusObjectManager),
			dbus.WithMatchMember("InterfacesAdded"),
		},
		{
			dbus.WithMatchSender(bluezService),
			dbus.WithMatchInterface(dbusPropsIface),
			dbus.WithMatchMember("PropertiesChanged"),
			dbus.WithMatchArg(0, bluezDeviceIface),
			dbus.WithMatchPathNamespace(adapter),
		},
	}
	sigs := make(chan *dbus.Signal, 64)
	conn.Signal(sigs)
	cleanup := func() {
		conn.RemoveSignal(sigs)
		for _, m := range matches {
			conn.RemoveMatchSignal(m...)
		}
		closeConn()
	}
	for _, m := range matches {
		if err := conn.AddMatchSignalContext(ctx, m...); err != nil {
			cleanup()
			return nil, fmt.Errorf("subscribing to BlueZ signals: %w", err)
		}
	}
	if err := ad.CallWithContext(ctx, bluezAdapterIface+".StartDiscovery", 0).Err; err != nil {
		cleanup()
		return nil, bluezError("starting discovery", adapter, err)
	}

	ch := make(chan [Size]byte)
	go func() {
		defer close(ch)
		defer cleanup()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), bluezTimeout)
			defer cancel()
			ad.CallWithContext(sctx, bluezAdapterIface+".StopDiscovery", 0)
		}()
		seen := make(map[[Size]byte]struct{})
		for {
			var sig *dbus.Signal
			select {
			case <-ctx.Done():
				return
			case sig = <-sigs:
			}
			for _, sd := range deviceAdverts(sig, adapter) {
				if _, ok := seen[sd]; ok {
					continue
				}
				if len(seen) >= maxSeen {
					clear(seen)
				}
				seen[sd] = struct{}{}
				select {
				case ch <- sd:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

// deviceAdverts returns the 20-byte FIDO service data carried by sig if
// it reports an org.bluez.Device1 under adapter.
func deviceAdverts(sig *dbus.Signal, adapter dbus.ObjectPath) [][Size]byte {
	if sig == nil {
		return nil
	}
	var props map[string]dbus.Variant
	switch sig.Name {
	case dbusObjectManager + ".InterfacesAdded":
		if len(sig.Body) < 2 {
			return nil
		}
		dev, ok := sig.Body[0].(dbus.ObjectPath)
		if !ok || !underPath(dev, adapter) {
			return nil
		}
		ifaces, ok := sig.Body[1].(map[string]map[string]dbus.Variant)
		if !ok {
			return nil
		}
		if props, ok = ifaces[bluezDeviceIface]; !ok {
			return nil
		}
	case dbusPropsIface + ".PropertiesChanged":
		if len(sig.Body) < 2 || !underPath(sig.Path, adapter) {
			return nil
		}
		if iface, ok := sig.Body[0].(string); !ok || iface != bluezDeviceIface {
			return nil
		}
		var ok bool
		if props, ok = sig.Body[1].(map[string]dbus.Variant); !ok {
			return nil
		}
	default:
		return nil
	}
	v, ok := props["ServiceData"]
	if !ok {
		return nil
	}
	data, ok := v.Value().(map[string]dbus.Variant)
	if !ok {
		return nil
	}
	var out [][Size]byte
	for _, uuid := range []string{UUIDFIDO, UUIDGoogle} {
		dv, ok := data[uuid]
		if !ok {
			continue
		}
		b, ok := dv.Value().([]byte)
		if !ok || len(b) != Size {
			continue
		}
		out = append(out, [Size]byte(b))
	}
	return out
}

// underPath reports whether p is a child object of parent.
func underPath(p, parent dbus.ObjectPath) bool {
	return len(p) > len(parent)+1 && p[:len(parent)] == parent && p[len(parent)] == '/'
}
