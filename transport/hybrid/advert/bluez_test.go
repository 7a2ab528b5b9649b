package advert

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/softkeydev/softkey/testvectors/ci"
)

var (
	_ Advertiser = (*BlueZAdvertiser)(nil)
	_ Scanner    = (*BlueZScanner)(nil)
)

// busConfig is a minimal dbus-daemon configuration for a private bus
// that lets anyone own any name and call anything.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%SOCKET%</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// privateBus starts a dbus-daemon of its own and returns its address.
func privateBus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		ci.Unavailable(t, "dbus-daemon not found (make deps installs the dbus-daemon package): %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	cfg := strings.ReplaceAll(busConfig, "%SOCKET%", filepath.Join(dir, "bus"))
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--nofork", "--print-address", "--config-file="+conf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// dbus-daemon's complaints (about fd limits, say) are noise unless
	// the test fails.
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		stderr.Close()
		if t.Failed() {
			if b, _ := os.ReadFile(stderr.Name()); len(b) > 0 {
				t.Logf("dbus-daemon stderr:\n%s", b)
			}
		}
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address within 10s")
	}
	panic("unreachable")
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to private bus: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fakeBlueZ plays bluetoothd on a private bus: adapter hci0 with
// LEAdvertisingManager1 and Adapter1.
type fakeBlueZ struct {
	conn *dbus.Conn

	mu           sync.Mutex
	registered   map[dbus.ObjectPath]map[string]dbus.Variant
	unregistered []dbus.ObjectPath
	filter       map[string]dbus.Variant
	discovering  bool
	stops        int
	events       chan string
}

func newFakeBlueZ(t *testing.T, addr string) *fakeBlueZ {
	t.Helper()
	f := &fakeBlueZ{
		conn:       connect(t, addr),
		registered: make(map[dbus.ObjectPath]map[string]dbus.Variant),
		events:     make(chan string, 16),
	}
	reply, err := f.conn.RequestName(bluezService, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claiming %s: %v, %v", bluezService, reply, err)
	}
	if err := f.conn.Export(fakeManager{f}, defaultAdapterPath, bluezAdvManager); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.Export(fakeAdapter{f}, defaultAdapterPath, bluezAdapterIface); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeBlueZ) event(e string) {
	select {
	case f.events <- e:
	default:
	}
}

func (f *fakeBlueZ) waitEvent(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-f.events:
			if e == want {
				return
			}
		case <-timeout:
			t.Fatalf("fake BlueZ: no %s within 5s", want)
		}
	}
}

type fakeManager struct{ f *fakeBlueZ }

func (m fakeManager) RegisterAdvertisement(sender dbus.Sender, path dbus.ObjectPath, opts map[string]dbus.Variant) *dbus.Error {
	// Read the advertisement back as bluetoothd does.
	var props map[string]dbus.Variant
	err := m.f.conn.Object(string(sender), path).Call(dbusPropsIface+".GetAll", 0, bluezAdvertIface).Store(&props)
	if err != nil {
		return dbus.MakeFailedError(err)
	}
	m.f.mu.Lock()
	m.f.registered[path] = props
	m.f.mu.Unlock()
	m.f.event("register")
	return nil
}

func (m fakeManager) UnregisterAdvertisement(path dbus.ObjectPath) *dbus.Error {
	m.f.mu.Lock()
	m.f.unregistered = append(m.f.unregistered, path)
	m.f.mu.Unlock()
	m.f.event("unregister")
	return nil
}

type fakeAdapter struct{ f *fakeBlueZ }

func (a fakeAdapter) SetDiscoveryFilter(filter map[string]dbus.Variant) *dbus.Error {
	a.f.mu.Lock()
	a.f.filter = filter
	a.f.mu.Unlock()
	return nil
}

func (a fakeAdapter) StartDiscovery() *dbus.Error {
	a.f.mu.Lock()
	a.f.discovering = true
	a.f.mu.Unlock()
	a.f.event("start")
	return nil
}

func (a fakeAdapter) StopDiscovery() *dbus.Error {
	a.f.mu.Lock()
	a.f.discovering = false
	a.f.stops++
	a.f.mu.Unlock()
	a.f.event("stop")
	return nil
}

// emitDevice announces a device under hci0 with the given service data,
// as InterfacesAdded if added, else as PropertiesChanged.
func (f *fakeBlueZ) emitDevice(t *testing.T, dev string, added bool, sd map[string]dbus.Variant) {
	t.Helper()
	path := defaultAdapterPath + "/" + dbus.ObjectPath(dev)
	props := map[string]dbus.Variant{
		"Address":     dbus.MakeVariant(strings.ReplaceAll(dev[4:], "_", ":")),
		"ServiceData": dbus.MakeVariant(sd),
	}
	var err error
	if added {
		err = f.conn.Emit("/", dbusObjectManager+".InterfacesAdded", path,
			map[string]map[string]dbus.Variant{bluezDeviceIface: props})
	} else {
		err = f.conn.Emit(path, dbusPropsIface+".PropertiesChanged", bluezDeviceIface, props, []string{})
	}
	if err != nil {
		t.Fatalf("emitting: %v", err)
	}
}

func TestBlueZAdvertise(t *testing.T) {
	addr := privateBus(t)
	f := newFakeBlueZ(t, addr)
	conn := connect(t, addr)
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	a := &BlueZAdvertiser{Conn: conn}
	go func() { done <- a.Advertise(ctx, advertVector) }()
	f.waitEvent(t, "register")

	f.mu.Lock()
	if len(f.registered) != 1 {
		t.Fatalf("registered %d advertisements, want 1", len(f.registered))
	}
	var path dbus.ObjectPath
	var props map[string]dbus.Variant
	for path, props = range f.registered {
	}
	f.mu.Unlock()
	if len(props) != 4 {
		t.Errorf("advertisement has %d properties, want 4: %v", len(props), props)
	}
	if got := props["Type"].Value(); got != "broadcast" {
		t.Errorf("Type = %v, want broadcast", got)
	}
	if got := props["ServiceUUIDs"].Value(); !reflect.DeepEqual(got, []string{"0000fff9-0000-1000-8000-00805f9b34fb"}) {
		t.Errorf("ServiceUUIDs = %#v", got)
	}
	if got := props["IncludeTxPower"].Value(); got != false {
		t.Errorf("IncludeTxPower = %v, want false", got)
	}
	sd, ok := props["ServiceData"].Value().(map[string]dbus.Variant)
	if !ok || len(sd) != 1 {
		t.Fatalf("ServiceData = %#v", props["ServiceData"].Value())
	}
	if got := sd["0000fff9-0000-1000-8000-00805f9b34fb"].Value(); !reflect.DeepEqual(got, advertVector[:]) {
		t.Errorf("ServiceData[fff9] = %x, want %x", got, advertVector)
	}
	if got := props["ServiceData"].Signature().String(); got != "a{sv}" {
		t.Errorf("ServiceData signature %s, want a{sv}", got)
	}

	select {
	case err := <-done:
		t.Fatalf("Advertise returned early: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Advertise: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Advertise did not return within 5s of cancel")
	}
	f.mu.Lock()
	unreg := f.unregistered
	f.mu.Unlock()
	if len(unreg) != 1 || unreg[0] != path {
		t.Errorf("unregistered %v, want [%s]", unreg, path)
	}
	// The object is gone from the bus.
	err := f.conn.Object(conn.Names()[0], path).Call(dbusPropsIface+".GetAll", 0, bluezAdvertIface).Err
	if err == nil {
		t.Error("advertisement still exported after Advertise returned")
	}
	checkGoroutines(t, before)
}

func TestBlueZScan(t *testing.T) {
	addr := privateBus(t)
	f := newFakeBlueZ(t, addr)
	conn := connect(t, addr)
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := (&BlueZScanner{Conn: conn}).Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	f.waitEvent(t, "start")
	f.mu.Lock()
	filter := f.filter
	f.mu.Unlock()
	if got := filter["Transport"].Value(); got != "le" {
		t.Errorf("filter Transport = %v", got)
	}
	if got := filter["UUIDs"].Value(); !reflect.DeepEqual(got, []string{UUIDFIDO, UUIDGoogle}) {
		t.Errorf("filter UUIDs = %v", got)
	}

	other := advertVector
	other[0] ^= 0xff
	// Noise first: wrong size, other UUID, a non-FIDO device.
	f.emitDevice(t, "dev_00_11_22_33_44_55", true, map[string]dbus.Variant{
		UUIDFIDO:                               dbus.MakeVariant(advertVector[:19]),
		"0000180f-0000-1000-8000-00805f9b34fb": dbus.MakeVariant(other[:]),
	})
	f.emitDevice(t, "dev_AA_BB_CC_DD_EE_FF", true, map[string]dbus.Variant{UUIDFIDO: dbus.MakeVariant(advertVector[:])})
	if got := receive(t, ch); got != advertVector {
		t.Fatalf("scan got %x, want %x", got, advertVector)
	}
	// A repeat is not delivered again; a new advert under 0xFDE2 is.
	f.emitDevice(t, "dev_AA_BB_CC_DD_EE_FF", false, map[string]dbus.Variant{UUIDFIDO: dbus.MakeVariant(advertVector[:])})
	f.emitDevice(t, "dev_AA_BB_CC_DD_EE_FF", false, map[string]dbus.Variant{UUIDGoogle: dbus.MakeVariant(other[:])})
	if got := receive(t, ch); got != other {
		t.Fatalf("scan got %x, want %x", got, other)
	}
	expectNone(t, ch, 100*time.Millisecond)

	cancel()
	waitClosed(t, ch)
	f.mu.Lock()
	stops, discovering := f.stops, f.discovering
	f.mu.Unlock()
	if stops != 1 || discovering {
		t.Errorf("StopDiscovery called %d times, discovering %v", stops, discovering)
	}
	checkGoroutines(t, before)
}

func TestBlueZNotRunning(t *testing.T) {
	addr := privateBus(t)
	conn := connect(t, addr)
	err := (&BlueZAdvertiser{Conn: conn}).Advertise(t.Context(), advertVector)
	if err == nil || !strings.Contains(err.Error(), "bluetoothd not running") {
		t.Errorf("Advertise: %v, want bluetoothd not running", err)
	}
	_, err = (&BlueZScanner{Conn: conn}).Scan(t.Context())
	if err == nil || !strings.Contains(err.Error(), "bluetoothd not running") {
		t.Errorf("Scan: %v, want bluetoothd not running", err)
	}
	var derr dbus.Error
	if !errors.As(err, &derr) || derr.Name != "org.freedesktop.DBus.Error.ServiceUnknown" {
		t.Errorf("Scan error does not wrap ServiceUnknown: %v", err)
	}
}

func TestBlueZNoAdapter(t *testing.T) {
	addr := privateBus(t)
	newFakeBlueZ(t, addr)
	conn := connect(t, addr)
	err := (&BlueZAdvertiser{Conn: conn, Adapter: "/org/bluez/hci1"}).Advertise(t.Context(), advertVector)
	if err == nil || !strings.Contains(err.Error(), "no adapter hci1") {
		t.Errorf("Advertise: %v, want no adapter hci1", err)
	}
	_, err = (&BlueZScanner{Conn: conn, Adapter: "/org/bluez/hci1"}).Scan(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no adapter hci1") {
		t.Errorf("Scan: %v, want no adapter hci1", err)
	}
}
